import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventRecord } from '../domain/event-record.js';
import { EventIndex, isIndexable, type EventIndexOptions } from '../domain/origin/event-index.js';
import { hostMatchKey } from '../domain/origin/host-match.js';
import { SidAccounts } from '../domain/origin/sid-accounts.js';
import { CodedError, ErrorCode } from '../errors.js';

/**
 * The events an offline analysis keeps, held on disk instead of in memory, so that memory does not
 * grow with the input. Hosts fall into `HOST_GROUPS` groups (hashed by `hostMatchKey`); each kept
 * event becomes one JSON line in its group's buffer, and a full buffer is appended to one temporary
 * file as a segment of that group. Afterwards the groups are indexed one at a time from their
 * segments: tracing never looks across hosts, so one group's index serves its findings. SID account
 * names are learned here, from every event in the order read, and shared by every group's index.
 *
 * `remove()` closes and deletes the file; call it whatever happens.
 */
export const HOST_GROUPS = 256;
const NEWLINE = 0x0a;
/** Each group's lines wait in a buffer of this size outside the JS heap until it is full. */
const GROUP_BUFFER_BYTES = 16 * 1024;

interface Group {
  /**
   * Lines not yet written. Held as bytes, not strings: a string kept until its group's next write
   * outlives the young generation and is copied to the old one, where every kept event would then
   * pile up as garbage and grow the heap with the input.
   */
  pending: Buffer | null;
  pendingBytes: number;
  /** Where the group's lines are in the file: offset and length of each segment, whole lines each. */
  segments: number[];
}

export class EventSpill {
  readonly accounts = new SidAccounts();
  /** Where the file is, under os.tmpdir(). */
  readonly dir: string;
  private fd: number | null;
  private fileBytes = 0;
  private readonly groups: Group[];

  constructor(private readonly indexOptions: EventIndexOptions = {}) {
    const parent = tmpdir();
    try {
      this.dir = mkdtempSync(join(parent, 'wmi-hunter-events-'));
    } catch (error) {
      throw temporaryFileError(parent, error);
    }
    try {
      this.fd = openSync(join(this.dir, 'events.jsonl'), 'w+');
    } catch (error) {
      rmSync(this.dir, { recursive: true, force: true });
      throw temporaryFileError(this.dir, error);
    }
    this.groups = Array.from({ length: HOST_GROUPS }, () => ({ pending: null, pendingBytes: 0, segments: [] }));
  }

  /** The group a host's objects and events belong to. */
  groupOf(host: string): number {
    const key = hostMatchKey(host);
    let hash = 0x811c9dc5;
    for (let i = 0; i < key.length; i += 1) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
    return (hash >>> 0) % HOST_GROUPS;
  }

  add(event: EventRecord, source: string): void {
    if (!isIndexable(event)) return;
    this.accounts.learn(event);
    const group = this.groups[this.groupOf(event.host)]!;
    const line = `${JSON.stringify([source, event])}\n`;
    // Three bytes per UTF-16 unit at most: counted exactly only when that bound does not fit.
    if (line.length * 3 > GROUP_BUFFER_BYTES - group.pendingBytes) {
      const bytes = Buffer.byteLength(line, 'utf8');
      if (bytes > GROUP_BUFFER_BYTES - group.pendingBytes) this.flush(group);
      if (bytes > GROUP_BUFFER_BYTES) {
        this.append(group, Buffer.from(line, 'utf8'));
        return;
      }
    }
    group.pending ??= Buffer.allocUnsafe(GROUP_BUFFER_BYTES);
    group.pendingBytes += group.pending.write(line, group.pendingBytes, 'utf8');
  }

  /** The index of one group's events, in the order they were added (empty when it has none). */
  indexOf(groupNumber: number): EventIndex {
    const index = new EventIndex({ ...this.indexOptions, accounts: this.accounts });
    const group = this.groups[groupNumber];
    if (!group) return index;
    this.flush(group);
    group.pending = null;
    for (let i = 0; i < group.segments.length; i += 2) {
      // Bytes, decoded a line at a time: one string of the whole group would be a large object, and
      // those are freed only by a full collection.
      const bytes = this.read(group.segments[i]!, group.segments[i + 1]!);
      for (let start = 0; start < bytes.length; ) {
        const end = bytes.indexOf(NEWLINE, start);
        const [source, event] = JSON.parse(bytes.toString('utf8', start, end)) as [string, EventRecord];
        index.add(event, source);
        start = end + 1;
      }
    }
    return index;
  }

  remove(): void {
    for (const group of this.groups) group.pending = null;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(this.dir, { recursive: true, force: true });
  }

  private flush(group: Group): void {
    if (group.pending === null || group.pendingBytes === 0) return;
    this.append(group, group.pending.subarray(0, group.pendingBytes));
    group.pendingBytes = 0;
  }

  private append(group: Group, bytes: Buffer): void {
    const fd = this.openFile();
    try {
      for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written, this.fileBytes + written);
    } catch (error) {
      throw temporaryFileError(this.dir, error);
    }
    group.segments.push(this.fileBytes, bytes.length);
    this.fileBytes += bytes.length;
  }

  private read(offset: number, length: number): Buffer {
    const fd = this.openFile();
    const bytes = Buffer.allocUnsafe(length);
    for (let done = 0; done < length; ) {
      const read = readSync(fd, bytes, done, length - done, offset + done);
      if (read === 0) throw new CodedError(ErrorCode.Internal, `the temporary event file ${this.dir} ended at byte ${offset + done} of ${offset + length}`, { dir: this.dir });
      done += read;
    }
    return bytes;
  }

  private openFile(): number {
    if (this.fd === null) throw new CodedError(ErrorCode.Internal, 'the temporary event file was already removed', { dir: this.dir });
    return this.fd;
  }
}

/** A temporary file that cannot be made or written (no such folder, no space, read-only): said plainly, with the way out. */
function temporaryFileError(where: string, error: unknown): CodedError {
  const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new CodedError(
    ErrorCode.Internal,
    `cannot write the temporary file of kept events in ${where} (${reason}); set TMPDIR to a writable folder with room for about 3% of the input`,
    { dir: where, reason },
    { cause: error },
  );
}
