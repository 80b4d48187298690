import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { sourceRecords, writeDataset } from '../../bench/support/event-datasets.js';
import { loadAllowlist } from '../../src/allowlist/load-allowlist.js';
import type { AllowlistEntry } from '../../src/domain/analysis/allowlist.js';
import { analyzeWithEvents } from '../../src/domain/origin/analyze-with-events.js';
import { objectsFromCollection } from '../../src/domain/wmi-object.js';
import { ErrorCode } from '../../src/errors.js';
import { loadInputs } from '../../src/ingest/input-loader.js';
import { analyzeInputs } from '../../src/ingest/offline-analysis.js';
import { temporaryFolder } from '../support/temporary-folder.js';

/**
 * The offline path keeps the events on disk and analyzes one group of hosts at a time. What it
 * finds must be what one pass over an in-memory index of everything finds, in the same order.
 */
const COLLECTIONS = fileURLToPath(new URL('../../samples/collections/', import.meta.url));

describe('offline analysis in groups of hosts', () => {
  const folder = temporaryFolder('wmi-hunter-offline-');
  let allowlist: AllowlistEntry[];
  beforeAll(async () => {
    allowlist = await loadAllowlist({ includeDefault: true });
  });

  it('finds, in the same order, exactly what one pass over an in-memory index finds', async () => {
    const perCopy = (await sourceRecords('evtx-dump-jsonl')).length;
    const fleet = await writeDataset('evtx-dump-jsonl', perCopy * 12, join(folder(), 'fleet.jsonl'));
    const inputs = [fleet.path, ...readdirSync(COLLECTIONS).map((name) => join(COLLECTIONS, name))];
    const inParts = await analyzeInputs(inputs, { cwd: folder(), allowlist });

    const loaded = await loadInputs(inputs.map((path) => ({ path, fromFolder: false })), { cwd: folder() });
    const onePass = analyzeWithEvents(loaded.collections.flatMap(({ collection }) => objectsFromCollection(collection)), loaded.index, {
      allowlist,
      autorecoverMofs: loaded.collections.flatMap(({ collection }) => collection.autorecoverMofs),
    });
    expect(new Set(inParts.findings.map((finding) => finding.host.toLowerCase())).size).toBeGreaterThan(12);
    expect(inParts.findings.some((finding) => finding.source !== 'eventlog')).toBe(true);
    expect(inParts.findings.some((finding) => finding.origin && finding.origin.method !== 'unknown')).toBe(true);
    expect(inParts.findings).toEqual(onePass);
    expect(inParts.files).toEqual(loaded.files);
  }, 60_000);

  it('leaves no file behind, also when an input turns out unreadable', async () => {
    const scratch = await mkdtemp(join(folder(), 'tmp-'));
    const notes = join(folder(), 'notes.txt');
    await writeFile(notes, 'not an export\n');
    const fleet = await writeDataset('evtx-dump-jsonl', 200, join(folder(), 'small.jsonl'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = scratch;
    try {
      expect(tmpdir()).toBe(scratch);
      await analyzeInputs([fleet.path], { cwd: folder(), allowlist });
      await expect(analyzeInputs([fleet.path, notes], { cwd: folder(), allowlist })).rejects.toMatchObject({ code: ErrorCode.UnsupportedFormat });
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(readdirSync(scratch)).toEqual([]);
    expect(existsSync(scratch)).toBe(true);
  }, 60_000);
});
