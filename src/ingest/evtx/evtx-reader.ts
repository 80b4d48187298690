import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { isRelevantEvent } from '../../domain/origin/relevant-events.js';
import { CodedError, ErrorCode } from '../../errors.js';
import type { EventReader, ReadItem, ReadOptions } from '../reader.js';
import { hex } from './byte-cursor.js';
import { crc32 } from './crc32.js';
import { CHUNK_MAGIC, CHUNK_SIZE, readChunk, type EvtxItem, type EvtxProblem } from './evtx-chunk.js';

export type { EvtxItem, EvtxProblem } from './evtx-chunk.js';

const FILE_MAGIC = Buffer.from('ElfFile\0', 'latin1');
const FILE_HEADER_BLOCK_SIZE = 0x1000;
const FILE_FLAG_DIRTY = 0x1;

/** Whether the first bytes of a file are an EVTX file header (`ElfFile\0`). */
export function isEvtx(head: Uint8Array): boolean {
  return head.length >= FILE_MAGIC.length && FILE_MAGIC.equals(head.subarray(0, FILE_MAGIC.length));
}

/** The EventReader for raw .evtx files: detected by the `ElfFile\0` magic. */
export const evtxReader: EventReader = {
  name: 'evtx',
  detect: isEvtx,
  read: readEvtxEvents,
};

async function* readEvtxEvents(path: string, options: ReadOptions): AsyncGenerator<ReadItem> {
  const relevantOnly = options.relevantOnly ?? true;
  const source = basename(path);
  for await (const item of readEvtx(path, { onProgress: options.onProgress })) {
    if ('problem' in item) {
      yield { kind: 'problem', problem: { source, position: item.problem.position, message: item.problem.message } };
    } else if (!relevantOnly || isRelevantEvent(item.record)) {
      yield { kind: 'event', event: item.record, source, position: item.position };
    }
  }
}

export interface ReadEvtxOptions {
  /** Called after each chunk with the number of file bytes consumed so far. */
  onProgress?: (bytesRead: number) => void;
}

/**
 * Reads a Windows XML Event Log (.evtx) file, one 64 KiB chunk at a time (memory stays flat whatever
 * the file size), and yields its event records — the same EventRecord every other reader produces —
 * and a problem for everything it could not read or verify, with its position. Damage is never thrown:
 * only a file that is not EVTX at all (no file header and no chunk where the first one belongs) or that
 * cannot be opened is a CodedError.
 */
export async function* readEvtx(path: string, options: ReadEvtxOptions = {}): AsyncGenerator<EvtxItem> {
  const handle = await openFile(path);
  try {
    const { size } = await handle.stat();
    const header = await readAt(handle, 0, FILE_HEADER_BLOCK_SIZE);
    const { problems, chunkCount } = await checkFileHeader(handle, header, path);
    yield* problems.map((problem) => ({ problem }));

    const buffer = Buffer.alloc(CHUNK_SIZE);
    const presentChunks = Math.ceil(Math.max(size - FILE_HEADER_BLOCK_SIZE, 0) / CHUNK_SIZE);
    if (presentChunks < chunkCount) {
      yield { problem: problemAt(size, `file ends after ${presentChunks} chunks but its header counts ${chunkCount}`, 'end of file') };
    }
    for (let index = 0, offset = FILE_HEADER_BLOCK_SIZE; offset < size; index += 1, offset += CHUNK_SIZE) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_SIZE, offset);
      const chunk = buffer.subarray(0, bytesRead);
      options.onProgress?.(offset + bytesRead);
      if (!chunk.subarray(0, CHUNK_MAGIC.length).equals(CHUNK_MAGIC) && isAllZero(chunk)) {
        // Windows grows a log file ahead of use; unused chunk slots are zero-filled.
        if (index < chunkCount) yield { problem: problemAt(offset, `chunk is empty although the file header counts ${chunkCount} chunks`, `chunk ${index}`) };
        continue;
      }
      yield* readChunk(chunk, index, offset);
    }
  } finally {
    await handle.close();
  }
}

async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? ErrorCode.NotFound : ErrorCode.BadInput;
    throw new CodedError(code, `cannot open EVTX file ${path}: ${(error as Error).message}`, { path }, { cause: error });
  }
}

async function checkFileHeader(
  handle: FileHandle,
  header: Buffer,
  path: string,
): Promise<{ problems: EvtxProblem[]; chunkCount: number }> {
  const problems: EvtxProblem[] = [];
  if (!isEvtx(header)) {
    const firstChunk = await readAt(handle, FILE_HEADER_BLOCK_SIZE, CHUNK_MAGIC.length);
    if (!firstChunk.equals(CHUNK_MAGIC)) {
      throw new CodedError(ErrorCode.UnsupportedFormat, `${path} is not an EVTX file (no ElfFile header, no ElfChnk chunk)`, { path });
    }
    problems.push(problemAt(0, 'file header has no ElfFile signature; reading the chunks without it'));
    return { problems, chunkCount: 0 };
  }
  if (header.length < 128) {
    problems.push(problemAt(0, `file header is cut short at ${header.length} bytes`));
    return { problems, chunkCount: 0 };
  }
  const trusted = crc32(header, 0, 120) === header.readUInt32LE(124);
  if (!trusted) {
    problems.push(problemAt(124, 'file header checksum (CRC32) does not match; its counts are not trusted'));
  } else if (header.readUInt32LE(120) & FILE_FLAG_DIRTY) {
    problems.push(problemAt(120, 'file is marked dirty (not closed cleanly, e.g. copied from a live system); its last records may be missing'));
  }
  const declaredBlockSize = header.readUInt16LE(40);
  if (declaredBlockSize !== FILE_HEADER_BLOCK_SIZE) {
    problems.push(problemAt(40, `file header block size 0x${hex(declaredBlockSize)} is not 0x1000; chunks are read from 0x1000`));
  }
  return { problems, chunkCount: trusted ? header.readUInt16LE(42) : 0 };
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

function problemAt(offset: number, message: string, where = 'file header'): EvtxProblem {
  return { position: `file offset 0x${hex(offset)} (${where})`, message, offset };
}

function isAllZero(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i += 1) if (bytes[i] !== 0) return false;
  return true;
}
