import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Collection } from '../domain/collection.js';
import type { EventRecord } from '../domain/event-record.js';
import { EventIndex, type EventIndexOptions } from '../domain/origin/event-index.js';
import { CodedError, ErrorCode } from '../errors.js';
import { detectReader } from './formats.js';
import type { ReadProblem } from './reader.js';

/**
 * Reads every input a responder hands over — collections and exported event logs, mixed, files or
 * folders of them — into collections plus one compact event index. Formats are detected from the
 * content; unreadable records become problems (with their position) and the rest is still read.
 */
export interface InputFileSummary {
  source: string;
  format: string;
  events: number;
  problems: number;
  /** Hosts the file's events were logged on, as written. */
  hosts: string[];
}

export interface ReadInputs {
  collections: Array<{ source: string; collection: Collection }>;
  problems: ReadProblem[];
  files: InputFileSummary[];
  /** Files found in folders that are in no format wmi-hunter reads (a README next to the exports). */
  skipped: string[];
}

export interface LoadedInputs extends ReadInputs {
  index: EventIndex;
}

/** Where the events read go: an `EventIndex` in memory, or an `EventSpill` on disk. */
export interface EventSink {
  add(event: EventRecord, source: string): void;
}

export interface LoadOptions {
  cwd: string;
  index?: EventIndexOptions;
  /** Progress over all inputs: bytes done of bytes total, and the file being read. */
  onProgress?: (progress: { bytesDone: number; bytesTotal: number; source: string }) => void;
}

/** One input file, and whether it was named directly or found in a folder. */
export interface InputPath {
  path: string;
  fromFolder: boolean;
}

/**
 * Files named directly are taken whatever their name; a folder stands for every file in it
 * (recursively, dot-files left out). A named file in no known format is bad input; one found in a
 * folder is skipped and listed as such.
 */
export async function expandInputs(args: readonly string[], cwd: string): Promise<InputPath[]> {
  const paths: InputPath[] = [];
  for (const arg of args) {
    const absolute = resolve(cwd, arg);
    let info;
    try {
      info = await stat(absolute);
    } catch (error) {
      throw new CodedError(ErrorCode.BadInput, `cannot read ${arg}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { source: arg }, { cause: error });
    }
    if (info.isDirectory()) {
      const inside = await filesUnder(absolute);
      if (inside.length === 0) {
        throw new CodedError(ErrorCode.BadInput, `${arg}: the folder holds no files (no .json collection files or event exports)`, { source: arg });
      }
      paths.push(...inside.map((path) => ({ path, fromFolder: true })));
    } else {
      paths.push({ path: absolute, fromFolder: false });
    }
  }
  const seen = new Set<string>();
  return paths.filter(({ path }) => !seen.has(path) && Boolean(seen.add(path)));
}

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

export function displayPath(path: string, cwd: string): string {
  const shown = relative(cwd, path);
  return shown && !shown.startsWith('..') ? shown : path;
}

/** Problems listed one by one per file; beyond this they are counted, so a garbage file cannot fill memory. */
export const MAX_LISTED_PROBLEMS = 100;

/** Every input read, its events indexed in memory. */
export async function loadInputs(inputs: readonly InputPath[], options: LoadOptions): Promise<LoadedInputs> {
  const index = new EventIndex(options.index);
  return { ...(await readInputs(inputs, options, index)), index };
}

/** Every input read, each event handed to `events` with where it was read from. */
export async function readInputs(inputs: readonly InputPath[], options: LoadOptions, events: EventSink): Promise<ReadInputs> {
  const loaded: ReadInputs = { collections: [], problems: [], files: [], skipped: [] };
  const readers = [];
  let bytesTotal = 0;
  for (const { path, fromFolder } of inputs) {
    let reader;
    try {
      reader = await detectReader(path);
    } catch (error) {
      if (!fromFolder || !(error instanceof CodedError) || error.code !== ErrorCode.UnsupportedFormat) throw error;
      loaded.skipped.push(displayPath(path, options.cwd));
      continue;
    }
    readers.push({ path, reader });
    bytesTotal += (await stat(path)).size;
  }
  let bytesBefore = 0;
  for (const { path, reader } of readers) {
    const source = displayPath(path, options.cwd);
    const summary: InputFileSummary = { source, format: reader.name, events: 0, problems: 0, hosts: [] };
    const hosts = new Map<string, string>();
    const onProgress = options.onProgress
      ? (bytesRead: number) => options.onProgress!({ bytesDone: bytesBefore + bytesRead, bytesTotal, source })
      : undefined;
    for await (const item of reader.read(path, { relevantOnly: true, ...(onProgress ? { onProgress } : {}) })) {
      if (item.kind === 'event') {
        summary.events += 1;
        if (item.event.host && !hosts.has(item.event.host.toLowerCase())) hosts.set(item.event.host.toLowerCase(), item.event.host);
        events.add(item.event, `${source}:${item.position}`);
      } else if (item.kind === 'problem') {
        summary.problems += 1;
        if (summary.problems <= MAX_LISTED_PROBLEMS) loaded.problems.push({ ...item.problem, source });
      } else {
        loaded.collections.push({ source, collection: item.collection });
        item.collection.events.forEach((event, position) => {
          summary.events += 1;
          events.add(event, `${source}:events[${position}]`);
        });
      }
    }
    if (summary.problems > MAX_LISTED_PROBLEMS) {
      loaded.problems.push({ source, position: null, message: `${summary.problems - MAX_LISTED_PROBLEMS} more unreadable records (${summary.problems} in all)` });
    }
    bytesBefore += (await stat(path)).size;
    summary.hosts = [...hosts.values()];
    loaded.files.push(summary);
  }
  return loaded;
}
