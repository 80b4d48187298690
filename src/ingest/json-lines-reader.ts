import { basename } from 'node:path';
import { isUsedEvent } from '../domain/origin/relevant-events.js';
import { eventRecordFromJson, RecordShapeError } from './flat-record.js';
import { JsonLinesPrefilter } from './prefilter.js';
import type { EventReader, ReadItem, ReadOptions } from './reader.js';
import { HEAD_BYTES, headText, utf8Chunks } from './text-chunks.js';

/** A line longer than this is reported as a bad record rather than held in memory. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

const NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * JSON lines, one event per line: flattened shipper records, winlogbeat, or evtx_dump's
 * {"Event":...} per line. Lines are cut from raw bytes; with relevantOnly, a line is decoded and
 * parsed only when its bytes pass the prefilter (JsonLinesPrefilter: a relevant event id, then the
 * candidate words), and other lines get only a structural check ({ ... }) so truncation is still
 * reported.
 */
export const jsonLinesReader: EventReader = {
  name: 'json-lines',
  detect(head) {
    const text = headText(head);
    const lines = text.split('\n');
    // The head may end inside a line; a cut first line (an export that starts mid-record) is
    // skipped too: any whole line among the first few that is a JSON object decides.
    const whole = head.length >= HEAD_BYTES ? lines.slice(0, -1) : lines;
    if (whole.slice(0, 8).some(isJsonObjectLine)) return true;
    // A file of one cut record is still JSON lines (its problem gets reported), when it starts like an object with keys.
    return whole.length <= 1 && /^\{\s*"/.test(text.trimStart());
  },
  read: readJsonLines,
};

async function* readJsonLines(path: string, options: ReadOptions): AsyncGenerator<ReadItem> {
  const relevantOnly = options.relevantOnly ?? true;
  const source = basename(path);
  const prefilter = new JsonLinesPrefilter();
  let carry: Buffer | null = null;
  let lineNumber = 0;
  let skippingLongLine = false;

  function* lines(block: Buffer, lastNewline: number): Generator<ReadItem> {
    if (relevantOnly) prefilter.startBlock(block, lastNewline);
    let start = 0;
    while (start <= lastNewline) {
      const end = block.indexOf(NEWLINE, start);
      lineNumber += 1;
      if (skippingLongLine) skippingLongLine = false;
      else if (!relevantOnly || prefilter.mayBeUsed(start, end)) yield* parseLine(block, start, end, source, lineNumber, relevantOnly);
      else {
        const bad = structuralProblem(block, start, end);
        if (bad) yield problem(source, lineNumber, bad);
      }
      start = end + 1;
    }
  }

  /** A line not yet ended is carried to the next read, unless it is already too long to hold. */
  function* holdPartialLine(bytes: Buffer): Generator<ReadItem> {
    if (bytes.length > MAX_RECORD_BYTES) {
      if (!skippingLongLine) {
        skippingLongLine = true;
        yield problem(source, lineNumber + 1, `record longer than ${MAX_RECORD_BYTES} bytes skipped`);
      }
    } else if (bytes.length > 0) {
      carry = bytes;
    }
  }

  // Reused read buffers: nothing of a chunk is kept past the next one (the carried line is copied
  // when it is joined, parsed lines are decoded, the prefilter copies what it remembers).
  for await (const chunk of utf8Chunks(path, options.onProgress, true)) {
    let rest = chunk;
    if (carry) {
      // Only the line the previous chunk cut is joined; the rest of the chunk is read in place.
      const firstNewline = chunk.indexOf(NEWLINE);
      const joined: Buffer = Buffer.concat([carry, firstNewline < 0 ? chunk : chunk.subarray(0, firstNewline + 1)]);
      carry = null;
      if (firstNewline < 0) {
        yield* holdPartialLine(joined);
        continue;
      }
      yield* lines(joined, joined.length - 1);
      rest = chunk.subarray(firstNewline + 1);
    }
    const lastNewline = rest.lastIndexOf(NEWLINE);
    if (lastNewline < 0) {
      yield* holdPartialLine(rest);
      continue;
    }
    yield* lines(rest, lastNewline);
    if (lastNewline + 1 < rest.length) carry = rest.subarray(lastNewline + 1);
  }
  if (carry && carry.length > 0) {
    lineNumber += 1;
    if (relevantOnly) prefilter.startBlock(carry, carry.length);
    if (!relevantOnly || prefilter.mayBeUsed(0, carry.length)) yield* parseLine(carry, 0, carry.length, source, lineNumber, relevantOnly);
    else {
      const bad = structuralProblem(carry, 0, carry.length);
      if (bad) yield problem(source, lineNumber, bad);
    }
  }
}

function isJsonObjectLine(line: string): boolean {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{') || trimmed === '{') return false;
  try {
    const value: unknown = JSON.parse(trimmed);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

function* parseLine(block: Buffer, start: number, end: number, source: string, lineNumber: number, relevantOnly: boolean): Generator<ReadItem> {
  const text = block.toString('utf8', start, end).trim();
  if (text === '') return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    yield problem(source, lineNumber, `not JSON (${(error as Error).message})${looksTruncated(text) ? ', record truncated' : ''}`);
    return;
  }
  try {
    const event = eventRecordFromJson(value);
    if (!relevantOnly || isUsedEvent(event)) yield { kind: 'event', event, source, position: `line ${lineNumber}` };
  } catch (error) {
    if (!(error instanceof RecordShapeError)) throw error;
    yield problem(source, lineNumber, `not an event record: ${error.message}`);
  }
}

/** A skipped line still has to look like one JSON object: `{` first and `}` last. */
function structuralProblem(block: Buffer, start: number, end: number): string | null {
  let first = start;
  while (first < end && isSpace(block[first]!)) first += 1;
  if (first === end) return null;
  let last = end - 1;
  while (last > first && isSpace(block[last]!)) last -= 1;
  if (block[first] !== OPEN_BRACE) return 'not a JSON object';
  if (block[last] !== CLOSE_BRACE) return 'record truncated (no closing brace)';
  return null;
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0d || byte === 0x09;
}

function looksTruncated(text: string): boolean {
  return !text.endsWith('}');
}

function problem(source: string, lineNumber: number, message: string): ReadItem {
  return { kind: 'problem', problem: { source, position: `line ${lineNumber}`, message } };
}
