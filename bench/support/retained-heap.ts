/**
 * Reads one export with its reader, keeps every event yielded (as the event index does), and reports
 * how much heap stays in use after a full GC: memory that grows with the input instead of with the
 * events kept shows here. Run with --expose-gc (runInChild does).
 *
 *   node --expose-gc --import tsx bench/support/retained-heap.ts <file>
 */
import { detectReader } from '../../src/ingest/formats.js';
import { emitResult, isEntryPoint } from './child.js';

export interface RetainedHeap {
  eventsKept: number;
  retainedMb: number;
}

async function measure(path: string): Promise<RetainedHeap> {
  if (!global.gc) throw new Error('run with --expose-gc');
  const reader = await detectReader(path);
  const kept: unknown[] = [];
  global.gc();
  const before = process.memoryUsage().heapUsed;
  for await (const item of reader.read(path, { relevantOnly: true })) {
    if (item.kind === 'event') kept.push(item.event);
  }
  global.gc();
  const retainedMb = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
  return { eventsKept: kept.length, retainedMb: Math.round(retainedMb * 10) / 10 };
}

if (isEntryPoint(import.meta.url)) emitResult(await measure(process.argv[2]!));
