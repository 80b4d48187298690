import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readEventsOf } from '../support/read-events.js';

const DATASETS = fileURLToPath(new URL('../../../shared/datasets/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wmi-truncation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['wmic-commandline-consumer.sysmon.xml', 'powerlurk-process-start.sysmon.evtx.jsonl'])('a truncated copy of %s', (file) => {
  const bytes = readFileSync(`${DATASETS}${file}`);

  it('never throws, reads a prefix of the events, and reports the cut record', async () => {
    const full = await readEventsOf(`${DATASETS}${file}`, false);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 200, max: bytes.length - 1 }), async (cut) => {
        const path = join(dir, `cut-${cut}-${file}`);
        writeFileSync(path, bytes.subarray(0, cut));
        const { events, problems } = await readEventsOf(path, false);
        expect(events).toEqual(full.events.slice(0, events.length));
        // Every record that starts before the cut is read or reported; at most the cut one is lost to a problem.
        const text = bytes.subarray(0, cut).toString('utf8');
        const started = (text.match(file.endsWith('.xml') ? /<Event[\s>]/g : /^\{/gm) ?? []).length;
        expect(events.length + problems).toBeGreaterThanOrEqual(started);
        expect(events.length).toBeGreaterThanOrEqual(started - 1);
      }),
      { numRuns: 40 },
    );
  });
});
