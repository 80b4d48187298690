import type { EventRecord } from '../../domain/event-record.js';
import { eventRecordFromParts } from '../windows-event.js';
import { BinXmlDecoder } from './binxml-decoder.js';
import { hex } from './byte-cursor.js';
import { crc32 } from './crc32.js';
import { eventPartsFromXml } from './event-parts.js';

export const CHUNK_SIZE = 0x10000;
const CHUNK_HEADER_SIZE = 0x200;
const RECORD_HEADER_SIZE = 24;
const RECORD_MAGIC = 0x00002a2a;
const RECORD_MAGIC_BYTES = Buffer.from([0x2a, 0x2a, 0x00, 0x00]);
export const CHUNK_MAGIC = Buffer.from('ElfChnk\0', 'latin1');

/** Where something was read or found damaged: a file offset, with the chunk and record it belongs to. */
export interface EvtxProblem {
  position: string;
  message: string;
  /** Byte offset in the file where the damage starts. */
  offset: number;
}
export type EvtxItem = { record: EventRecord; position: string } | { problem: EvtxProblem };

/**
 * Reads every record of one chunk (64 KiB, possibly cut short by the end of the file). The chunk header
 * and record data checksums are verified and a mismatch reported; records are still read, each one
 * checked on its own (signature, size and its copy, BinXml), and a damaged record is reported and
 * skipped by scanning forward to the next record signature, so one bad record costs only itself.
 */
export function* readChunk(chunk: Buffer, index: number, fileOffset: number): Generator<EvtxItem> {
  const place = (chunkOffset: number, recordId?: number) =>
    `file offset 0x${hex(fileOffset + chunkOffset)} (chunk ${index}${recordId === undefined ? '' : `, record number ${recordId}`})`;
  const problem = (chunkOffset: number, message: string, recordId?: number): EvtxItem => ({
    problem: { position: place(chunkOffset, recordId), message, offset: fileOffset + chunkOffset },
  });

  if (chunk.length < CHUNK_SIZE) yield problem(chunk.length, `chunk is cut short: the file ends ${chunk.length} bytes into it`);
  if (chunk.length < CHUNK_HEADER_SIZE) return;

  let recordsEnd = chunk.length;
  if (!chunk.subarray(0, 8).equals(CHUNK_MAGIC)) {
    yield problem(0, 'chunk has no ElfChnk signature; its header is ignored and the chunk scanned for records');
  } else {
    const storedHeaderCrc = chunk.readUInt32LE(124);
    if (crc32(chunk, 128, CHUNK_HEADER_SIZE, crc32(chunk, 0, 120)) !== storedHeaderCrc) {
      yield problem(0, 'chunk header checksum (CRC32) does not match; records are read but unverified');
    }
    const freeSpaceOffset = chunk.readUInt32LE(48);
    if (freeSpaceOffset < CHUNK_HEADER_SIZE || freeSpaceOffset > chunk.length) {
      yield problem(48, `chunk free-space offset 0x${hex(freeSpaceOffset)} lies outside the chunk; the whole chunk is scanned`);
    } else {
      recordsEnd = freeSpaceOffset;
      if (crc32(chunk, CHUNK_HEADER_SIZE, freeSpaceOffset) !== chunk.readUInt32LE(52)) {
        yield problem(CHUNK_HEADER_SIZE, 'event records checksum (CRC32) does not match; damaged records may follow');
      }
    }
  }

  const decoder = new BinXmlDecoder(chunk);
  let at = CHUNK_HEADER_SIZE;
  let pastFreeSpaceReported = false;
  for (;;) {
    if (at + RECORD_HEADER_SIZE > recordsEnd) {
      // A chunk copied while being written can hold whole records its header does not count yet.
      if (recordsEnd < chunk.length && recordFits(chunk, at)) {
        if (!pastFreeSpaceReported) yield problem(at, 'records found past the chunk free-space offset (partly written chunk); reading them');
        pastFreeSpaceReported = true;
        recordsEnd = chunk.length;
        continue;
      }
      return;
    }
    if (chunk.readUInt32LE(at) !== RECORD_MAGIC) {
      const next = nextRecord(chunk, at + 1, recordsEnd);
      if (next < 0 && isZero(chunk, at, recordsEnd)) return;
      yield problem(at, next < 0 ? 'unreadable bytes up to the end of the chunk records' : `unreadable bytes up to the next record at file offset 0x${hex(fileOffset + next)}`);
      if (next < 0) return;
      at = next;
      continue;
    }
    const size = chunk.readUInt32LE(at + 4);
    const recordId = safeNumber(chunk.readBigUInt64LE(at + 8));
    const damagedHeader =
      size < RECORD_HEADER_SIZE + 4 || at + size > chunk.length
        ? `record size ${size} points outside its chunk`
        : chunk.readUInt32LE(at + size - 4) !== size
          ? `record size ${size} does not match the copy at its end`
          : null;
    if (damagedHeader) {
      const next = nextRecord(chunk, at + 4, recordsEnd);
      const resume = next < 0 ? 'no further record in this chunk' : `reading resumes at file offset 0x${hex(fileOffset + next)}`;
      yield problem(at, `${damagedHeader}; record skipped, ${resume}`, recordId);
      at = next < 0 ? chunk.length : next;
      continue;
    }
    try {
      const event = decoder.renderDocument(at + RECORD_HEADER_SIZE, at + size - 4);
      const record = eventRecordFromParts(eventPartsFromXml(event));
      yield { record: record.recordId === null ? { ...record, recordId } : record, position: place(at, recordId) };
    } catch (error) {
      yield problem(at, `record not readable: ${error instanceof Error ? error.message : String(error)}`, recordId);
    }
    at += size;
  }
}

function recordFits(chunk: Buffer, at: number): boolean {
  if (at + RECORD_HEADER_SIZE > chunk.length || chunk.readUInt32LE(at) !== RECORD_MAGIC) return false;
  const size = chunk.readUInt32LE(at + 4);
  return size >= RECORD_HEADER_SIZE + 4 && at + size <= chunk.length && chunk.readUInt32LE(at + size - 4) === size;
}

function nextRecord(chunk: Buffer, from: number, end: number): number {
  let candidate = chunk.indexOf(RECORD_MAGIC_BYTES, from);
  while (candidate >= 0 && candidate < end) {
    if (recordFits(chunk, candidate)) return candidate;
    candidate = chunk.indexOf(RECORD_MAGIC_BYTES, candidate + 1);
  }
  return -1;
}

function isZero(chunk: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i += 1) if (chunk[i] !== 0) return false;
  return true;
}

function safeNumber(value: bigint): number {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : Number.MAX_SAFE_INTEGER;
}
