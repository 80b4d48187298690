import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { CodedError, ErrorCode } from '../errors.js';
import { collectionReader } from './collection-reader.js';
import { eventXmlReader } from './event-xml-reader.js';
import { evtxReader } from './evtx/evtx-reader.js';
import { jsonLinesReader } from './json-lines-reader.js';
import { jsonStreamReader } from './json-stream-reader.js';
import type { EventReader } from './reader.js';
import { HEAD_BYTES } from './text-chunks.js';

/**
 * Format detection by content, never by file name. Readers are asked in order; the first whose
 * `detect` claims the head of the file reads it: binary .evtx (its `ElfFile` magic) first, then the
 * text formats. Further readers join with `registerReader`, ahead of the built-in ones.
 */
const builtInReaders: readonly EventReader[] = [evtxReader, collectionReader, eventXmlReader, jsonLinesReader, jsonStreamReader];
const registeredReaders: EventReader[] = [];

export function registerReader(reader: EventReader): void {
  if (!registeredReaders.some((existing) => existing.name === reader.name)) registeredReaders.push(reader);
}

export function eventReaders(): readonly EventReader[] {
  return [...registeredReaders, ...builtInReaders];
}

export async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The reader for a file, or E_UNSUPPORTED_FORMAT naming the formats that are understood. */
export async function detectReader(path: string): Promise<EventReader> {
  const head = await readHead(path);
  if (head.length === 0) throw new CodedError(ErrorCode.BadInput, `${basename(path)}: the file is empty`, { source: path });
  const reader = eventReaders().find((candidate) => candidate.detect(head));
  if (!reader) {
    throw new CodedError(
      ErrorCode.UnsupportedFormat,
      `${basename(path)}: not a format wmi-hunter reads: not JSON lines, a JSON array, event XML, EVTX or a collection (readers: ${eventReaders().map((r) => r.name).join(', ')})`,
      { source: path },
    );
  }
  return reader;
}
