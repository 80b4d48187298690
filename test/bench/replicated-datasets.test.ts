import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isUsedEvent } from '../../src/domain/origin/relevant-events.js';
import { detectReader } from '../../src/ingest/formats.js';
import { readEventsOf } from '../support/read-events.js';
import { EVENT_FORMATS, writeDataset } from '../../bench/support/event-datasets.js';
import { temporaryFolder } from '../support/temporary-folder.js';

/**
 * The benchmark's large exports are the real recordings replicated, shuffled and with hosts renamed.
 * On them, the readers' raw-text fast path must keep exactly the events a full parse selects: the
 * speed the benchmark reports is for the same answer.
 */
describe('the replicated benchmark datasets', () => {
  const folder = temporaryFolder('wmi-hunter-bench-datasets-');

  it.each(EVENT_FORMATS)('%s: the fast path keeps exactly what the full parse selects', async (format) => {
    const written = await writeDataset(format, 3_000, join(folder(), `${format}.data`));
    expect((await detectReader(written.path)).name).toBe(format === 'event-xml' ? 'event-xml' : 'json-lines');
    const full = await readEventsOf(written.path, false);
    const fast = await readEventsOf(written.path, true);
    expect(full.events).toHaveLength(3_000);
    expect(full.problems).toBe(0);
    const selected = full.events.filter(isUsedEvent);
    expect(selected.length).toBeGreaterThan(0);
    expect(fast.events).toEqual(selected);
    expect(fast.problems).toBe(0);
  }, 60_000);

  it('renames every host per copy and shuffles the copies together', async () => {
    const written = await writeDataset('flat-jsonl', 3_000, join(folder(), 'hosts.jsonl'));
    const { events } = await readEventsOf(written.path, false);
    const hosts = new Set(events.map((event) => event.host));
    expect(written.copies).toBe(3);
    expect([...hosts].some((host) => /-c0\b/.test(host))).toBe(true);
    expect([...hosts].some((host) => /-c2\b/.test(host))).toBe(true);
    const firstHundredCopies = new Set(events.slice(0, 100).map((event) => /-c(\d+)\b/.exec(event.host)?.[1]));
    expect(firstHundredCopies.size).toBeGreaterThan(1);
  }, 60_000);
});
