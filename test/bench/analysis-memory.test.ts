import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RetainedAnalysis } from '../../bench/analysis.js';
import { BENCH_ROOT, runInChild } from '../../bench/support/child.js';
import { writeDataset } from '../../bench/support/event-datasets.js';
import { temporaryFolder } from '../support/temporary-folder.js';

/**
 * Peak memory of the offline path must not follow the input (issue 8): the events kept wait on disk
 * while the export is read, and a fleet's findings hold each repeated text once. On a 100,000-record
 * export of 171 hosts (the bench's replicated recordings), measured after full GCs in a process of
 * its own: reading keeps a small part of what an in-memory index of the same events holds, and the
 * whole result takes less heap than its own JSON text.
 */
describe('offline analysis memory', () => {
  const folder = temporaryFolder('wmi-hunter-analysis-memory-');

  it('holds neither the events kept while reading nor a copy of each host\'s texts in the findings', async () => {
    const written = await writeDataset('evtx-dump-jsonl', 100_000, join(folder(), 'fleet.jsonl'));
    const retained = await runInChild<RetainedAnalysis>(`${BENCH_ROOT}analysis.ts`, ['--retained', written.path]);
    expect(retained.eventsKept).toBeGreaterThan(2_000);
    expect(retained.findings).toBeGreaterThan(100);
    expect(retained.inMemoryIndexMb).toBeGreaterThan(0.8);
    expect(retained.whileReadingMb).toBeLessThan(retained.inMemoryIndexMb / 3);
    expect(retained.resultMb).toBeLessThan(retained.findingsJsonMb * 0.75);
  }, 180_000);
});
