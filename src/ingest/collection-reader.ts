import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseCollection } from '../domain/collection.js';
import { CodedError, ErrorCode } from '../errors.js';
import type { EventReader, ReadItem, ReadOptions } from './reader.js';
import { headText } from './text-chunks.js';

/**
 * A collector's output (collection contract v1): one JSON document, bounded by the collector's own
 * limits, validated whole. Its events travel inside it (Collection.events).
 */
export const collectionReader: EventReader = {
  name: 'collection',
  detect(head) {
    const text = headText(head).trimStart();
    return text.startsWith('{') && /"schemaVersion"\s*:/.test(text) && /"collectedAt"\s*:/.test(text);
  },
  read: readCollection,
};

async function* readCollection(path: string, options: ReadOptions): AsyncGenerator<ReadItem> {
  const bytes = await readFile(path);
  options.onProgress?.(bytes.length);
  const source = basename(path);
  let value: unknown;
  try {
    value = JSON.parse(headText(bytes));
  } catch (error) {
    throw new CodedError(ErrorCode.BadInput, `${source}: collection is not valid JSON (${(error as Error).message})`, { source });
  }
  yield { kind: 'collection', collection: parseCollection(value, source), source };
}
