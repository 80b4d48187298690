/**
 * EVTX reader throughput: replicates the real sample's chunk into a large temporary file (default
 * 200 MB; EVTX_BENCH_MB to change), reads it with readEvtx, and prints one JSON document: MB/s,
 * records/s, and resident memory sampled while reading (flat memory is the point: the reader holds
 * one 64 KiB chunk at a time). The file is deleted afterwards.
 *
 *   npx tsx bench/evtx.ts
 */
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from '../src/ingest/evtx/crc32.js';
import { readEvtx } from '../src/ingest/evtx/evtx-reader.js';

const HEADER_SIZE = 0x1000;
const CHUNK_SIZE = 0x10000;
const SAMPLE = fileURLToPath(new URL('../../shared/datasets/wmic-commandline-consumer.sysmon.evtx', import.meta.url));

async function writeReplica(path: string, chunkCount: number): Promise<number> {
  const sample = readFileSync(SAMPLE);
  const header = Buffer.from(sample.subarray(0, HEADER_SIZE));
  const chunk = sample.subarray(HEADER_SIZE, HEADER_SIZE + CHUNK_SIZE);
  header.writeBigUInt64LE(BigInt(chunkCount - 1), 16);
  header.writeUInt16LE(Math.min(chunkCount, 0xffff), 42);
  header.writeUInt32LE(crc32(header, 0, 120), 124);
  const out = createWriteStream(path);
  out.write(header);
  for (let i = 0; i < chunkCount; i += 1) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return HEADER_SIZE + chunkCount * CHUNK_SIZE;
}

async function main(): Promise<void> {
  const targetMb = Number(process.env.EVTX_BENCH_MB ?? 200);
  const chunkCount = Math.max(1, Math.round((targetMb * 1024 * 1024) / CHUNK_SIZE));
  const dir = await mkdtemp(join(tmpdir(), 'wmi-hunter-evtx-bench-'));
  try {
    const path = join(dir, 'replica.evtx');
    const bytes = await writeReplica(path, chunkCount);
    global.gc?.();
    const mb = (value: number) => Math.round((value / 1024 / 1024) * 10) / 10;
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    let rssAtQuarter = 0;
    let records = 0;
    let problems = 0;
    const started = process.hrtime.bigint();
    for await (const item of readEvtx(path, {
      onProgress: (read) => {
        const rss = process.memoryUsage().rss;
        if (rss > peakRss) peakRss = rss;
        if (!rssAtQuarter && read >= bytes / 4) rssAtQuarter = rss;
      },
    })) {
      if ('problem' in item) problems += 1;
      else records += 1;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const rssAtEnd = process.memoryUsage().rss;
    console.log(
      JSON.stringify(
        {
          file: { megabytes: mb(bytes), chunks: chunkCount, source: 'wmic-commandline-consumer.sysmon.evtx chunk, replicated' },
          records,
          problems,
          seconds: Math.round(seconds * 100) / 100,
          megabytesPerSecond: Math.round((bytes / 1024 / 1024 / seconds) * 10) / 10,
          recordsPerSecond: Math.round(records / seconds),
          rssMegabytes: { beforeReading: mb(rssBefore), atQuarter: mb(rssAtQuarter), atEnd: mb(rssAtEnd), peakWhileReading: mb(peakRss) },
          maxRssMegabytesWholeProcess: mb(process.resourceUsage().maxRSS * 1024),
          node: process.version,
        },
        null,
        2,
      ),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
