import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCH_ROOT, runInChild } from '../../bench/support/child.js';
import { EVENT_FORMATS, writeDataset } from '../../bench/support/event-datasets.js';
import type { RetainedHeap } from '../../bench/support/retained-heap.js';

/**
 * Streaming means memory follows the events kept, not the size of the export. The benchmark found
 * the XML reader keeping every chunk it had read alive (fields sliced from the chunk text share it in
 * V8); this holds each reader to the rule on a 20,000-record export whose kept events are ~3% of it.
 */
describe('reader memory on a large export', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wmi-hunter-reader-memory-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(EVENT_FORMATS)('%s: what stays on the heap is a small part of the input', async (format) => {
    const written = await writeDataset(format, 20_000, join(dir, `${format}.data`));
    const inputMb = written.bytes / 1024 / 1024;
    const retained = await runInChild<RetainedHeap>(`${BENCH_ROOT}support/retained-heap.ts`, [written.path]);
    expect(retained.eventsKept).toBeGreaterThan(100);
    expect(retained.retainedMb).toBeLessThan(inputMb / 4);
  }, 120_000);
});
