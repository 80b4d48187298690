import type { Collection } from '../domain/collection.js';
import type { EventRecord } from '../domain/event-record.js';

/** A record that could not be read, with where it is, so a responder can look at it. */
export interface ReadProblem {
  source: string;
  /** `line 12`, `byte 40961`, `event #7 at byte 1234` ... */
  position: string | null;
  message: string;
}

export type ReadItem =
  | { kind: 'event'; event: EventRecord; source: string; position: string }
  | { kind: 'collection'; collection: Collection; source: string }
  | { kind: 'problem'; problem: ReadProblem };

export interface ReadOptions {
  /**
   * Yield only the events the analysis uses (default). Readers may then skip records on their raw
   * text without parsing them; false parses everything (used to prove the shortcut changes nothing).
   */
  relevantOnly?: boolean;
  /** Called with the number of input bytes consumed so far, for progress display. */
  onProgress?: (bytesRead: number) => void;
}

/**
 * One input format. `detect` sees the first bytes of the file (BOM included); the first reader that
 * claims them reads the file. Readers stream: memory stays bounded by the largest single record.
 */
export interface EventReader {
  readonly name: string;
  detect(head: Buffer): boolean;
  read(path: string, options: ReadOptions): AsyncIterable<ReadItem>;
}
