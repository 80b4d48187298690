import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from '../../../src/ingest/evtx/crc32.js';
import { readEvtx, type EvtxProblem } from '../../../src/ingest/evtx/evtx-reader.js';
import type { EventRecord } from '../../../src/domain/event-record.js';

export const DATASETS = fileURLToPath(new URL('../../../../shared/datasets/', import.meta.url));
export const SAMPLE_EVTX = join(DATASETS, 'wmic-commandline-consumer.sysmon.evtx');
export const SAMPLE_XML = join(DATASETS, 'wmic-commandline-consumer.sysmon.xml');

export const HEADER_SIZE = 0x1000;
export const CHUNK_SIZE = 0x10000;

export function sampleFile(): Buffer {
  return Buffer.from(readFileSync(SAMPLE_EVTX));
}

/** A copy of the sample's one chunk. */
export function sampleChunk(): Buffer {
  return Buffer.from(sampleFile().subarray(HEADER_SIZE, HEADER_SIZE + CHUNK_SIZE));
}

/** Chunk-relative offsets of the records in a chunk, by walking their sizes. */
export function recordOffsets(chunk: Buffer): number[] {
  const offsets: number[] = [];
  const end = chunk.readUInt32LE(48);
  for (let at = 0x200; at < end; at += chunk.readUInt32LE(at + 4)) offsets.push(at);
  return offsets;
}

/** Recomputes a chunk's event-records and header checksums after an edit. */
export function resealChunk(chunk: Buffer): Buffer {
  chunk.writeUInt32LE(crc32(chunk, 0x200, chunk.readUInt32LE(48)), 52);
  chunk.writeUInt32LE(crc32(chunk, 128, 0x200, crc32(chunk, 0, 120)), 124);
  return chunk;
}

/** An EVTX file made of the sample's header (counts and checksum fixed up) followed by `chunks`. */
export function evtxFile(chunks: Buffer[], options: { flags?: number; declaredChunks?: number } = {}): Buffer {
  const header = Buffer.from(sampleFile().subarray(0, HEADER_SIZE));
  header.writeBigUInt64LE(BigInt(Math.max(chunks.length - 1, 0)), 16);
  header.writeUInt16LE(options.declaredChunks ?? chunks.length, 42);
  header.writeUInt32LE(options.flags ?? 0, 120);
  header.writeUInt32LE(crc32(header, 0, 120), 124);
  return Buffer.concat([header, ...chunks]);
}

export async function withTempFile<T>(bytes: Buffer, use: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'wmi-hunter-evtx-'));
  try {
    const path = join(dir, 'case.evtx');
    await writeFile(path, bytes);
    return await use(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function readAll(path: string): Promise<{ records: EventRecord[]; problems: EvtxProblem[] }> {
  const records: EventRecord[] = [];
  const problems: EvtxProblem[] = [];
  for await (const item of readEvtx(path)) {
    if ('problem' in item) problems.push(item.problem);
    else records.push(item.record);
  }
  return { records, problems };
}

export async function readBytes(bytes: Buffer): Promise<{ records: EventRecord[]; problems: EvtxProblem[] }> {
  return withTempFile(bytes, readAll);
}
