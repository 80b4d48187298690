import { basename } from 'node:path';
import { isUsedEvent } from '../domain/origin/relevant-events.js';
import { eventRecordFromJson, RecordShapeError } from './flat-record.js';
import { MAX_RECORD_BYTES } from './json-lines-reader.js';
import { passesPrefilter } from './prefilter.js';
import type { EventReader, ReadItem, ReadOptions } from './reader.js';
import { headText, utf8Chunks } from './text-chunks.js';

/**
 * A JSON array of events (`[{"Event":...}, ...]`), or objects written one after another across
 * lines (evtx_dump's default `Record 1\n{\n  "Event": ...\n}`). Objects are cut out of the byte
 * stream by tracking nesting outside strings, so the array is never held whole.
 */
export const jsonStreamReader: EventReader = {
  name: 'json-stream',
  detect(head) {
    const text = headText(head).trimStart();
    if (text.startsWith('[')) return true;
    if (/^Record \d+\s*\{/.test(text)) return true;
    return text.startsWith('{') && text.split('\n', 1)[0]!.trim() === '{' && !/^\{\s*"schemaVersion"/.test(text);
  },
  read: readJsonStream,
};

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;

async function* readJsonStream(path: string, options: ReadOptions): AsyncGenerator<ReadItem> {
  const relevantOnly = options.relevantOnly ?? true;
  const source = basename(path);
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: Buffer[] = [];
  let partsBytes = 0;
  let objectStart = 0;
  let offset = 0;
  let index = 0;
  let oversized = false;

  for await (const chunk of utf8Chunks(path, options.onProgress)) {
    let recordStart = depth > 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i += 1) {
      const byte = chunk[i]!;
      if (depth === 0) {
        if (byte === OPEN) {
          depth = 1;
          recordStart = i;
          objectStart = offset + i;
        }
        continue;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) inString = false;
        continue;
      }
      if (byte === QUOTE) inString = true;
      else if (byte === OPEN) depth += 1;
      else if (byte === CLOSE) {
        depth -= 1;
        if (depth === 0) {
          index += 1;
          if (!oversized) {
            parts.push(chunk.subarray(recordStart, i + 1));
            yield* parseObject(Buffer.concat(parts), source, index, objectStart, relevantOnly);
          } else {
            yield problemAt(source, index, objectStart, `record longer than ${MAX_RECORD_BYTES} bytes skipped`);
          }
          parts = [];
          partsBytes = 0;
          oversized = false;
          recordStart = -1;
        }
      }
    }
    if (depth > 0 && recordStart >= 0 && !oversized) {
      const rest = chunk.subarray(recordStart);
      partsBytes += rest.length;
      if (partsBytes > MAX_RECORD_BYTES) {
        oversized = true;
        parts = [];
      } else {
        parts.push(Buffer.from(rest));
      }
    }
    offset += chunk.length;
  }
  if (depth > 0) yield problemAt(source, index + 1, objectStart, 'record truncated at end of file');
}

function* parseObject(bytes: Buffer, source: string, index: number, at: number, relevantOnly: boolean): Generator<ReadItem> {
  const text = bytes.toString('utf8');
  if (relevantOnly && !passesPrefilter(text)) return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    yield problemAt(source, index, at, `not JSON (${(error as Error).message})`);
    return;
  }
  try {
    const event = eventRecordFromJson(value);
    if (!relevantOnly || isUsedEvent(event)) yield { kind: 'event', event, source, position: `record #${index} at byte ${at}` };
  } catch (error) {
    if (!(error instanceof RecordShapeError)) throw error;
    yield problemAt(source, index, at, `not an event record: ${error.message}`);
  }
}

function problemAt(source: string, index: number, at: number, message: string): ReadItem {
  return { kind: 'problem', problem: { source, position: `record #${index} at byte ${at}`, message } };
}
