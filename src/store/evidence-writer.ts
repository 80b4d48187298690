import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * Writes evidence files on a thread of its own: encode, SHA-256, write to a temporary file, rename
 * to `<sha256>.json`. A fleet hunt stores thousands of collections a second, and on the event loop
 * each write's hashing and file-system calls cost more than the rest of the host's work; here the
 * loop only hands over the JSON text. The thread's code is plain JavaScript evaluated in place, so
 * it runs the same under every loader. The thread is started on the first write, holds the process
 * open only while writes are pending, and is replaced if it dies (its pending writes fail).
 * Writes asked for in the same turn of the event loop go over in one message and come back in one:
 * at thousands of hosts a second, a message each way per file cost the loop more than the JSON.
 * A large document (a fleet hunt's report) can go over in parts as it is encoded (writeParts), so
 * the thread hashes and writes the first parts while the loop still encodes the rest.
 */
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } = require('node:fs');
const { join } = require('node:path');
const created = new Set();
function writeOne({ seq, directory, body, tag }) {
  let temporary = null;
  try {
    const bytes = Buffer.from(body, 'utf8');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (!created.has(directory)) {
      mkdirSync(directory, { recursive: true });
      created.add(directory);
    }
    const path = join(directory, sha256 + '.json');
    temporary = path + '.' + tag + '.' + seq + '.tmp';
    writeFileSync(temporary, bytes, { flag: 'wx', mode: 0o640 });
    renameSync(temporary, path);
    return { seq, sha256, bytes: bytes.length };
  } catch (error) {
    if (temporary) rmSync(temporary, { force: true });
    return failed(seq, error);
  }
}
const streams = new Map();
function failed(seq, error) {
  return { seq, error: { message: String((error && error.message) || error), code: error && error.code } };
}
function closeStream(stream) {
  if (stream.fd !== null) closeSync(stream.fd);
  stream.fd = null;
}
function streamPart({ seq, directory, body, tag, end, abort }) {
  let stream = streams.get(seq);
  if (!stream) {
    stream = { fd: null, temporary: null, directory, hash: createHash('sha256'), bytes: 0, error: null };
    streams.set(seq, stream);
    try {
      if (!created.has(directory)) {
        mkdirSync(directory, { recursive: true });
        created.add(directory);
      }
      stream.temporary = join(directory, 'stream.' + tag + '.' + seq + '.tmp');
      stream.fd = openSync(stream.temporary, 'wx', 0o640);
    } catch (error) {
      stream.error = error;
    }
  }
  if (!stream.error && !abort && body.length > 0) {
    try {
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      stream.hash.update(bytes);
      writeSync(stream.fd, bytes);
      stream.bytes += bytes.length;
    } catch (error) {
      stream.error = error;
    }
  }
  if (!end && !abort) return;
  streams.delete(seq);
  try {
    closeStream(stream);
    if (stream.error || abort) throw stream.error || new Error('the write was abandoned');
    const sha256 = stream.hash.digest('hex');
    renameSync(stream.temporary, join(stream.directory, sha256 + '.json'));
    parentPort.postMessage([{ seq, sha256, bytes: stream.bytes }]);
  } catch (error) {
    if (stream.temporary) rmSync(stream.temporary, { force: true });
    parentPort.postMessage([failed(seq, error)]);
  }
}
parentPort.on('message', (message) => {
  if (Array.isArray(message)) parentPort.postMessage(message.map(writeOne));
  else streamPart(message);
});
`;

interface Reply {
  seq: number;
  sha256?: string;
  bytes?: number;
  error?: { message: string; code?: string };
}

export class EvidenceWriter {
  private thread: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (written: { sha256: string; bytes: number }) => void; reject: (error: Error) => void }>();
  private seq = 0;
  private outbox: Array<{ seq: number; directory: string; body: string; tag: string }> = [];

  /** Makes this writer's temporary names distinct from every other writer's, in this process or another. */
  private readonly tag = `${process.pid}.${randomUUID()}`;

  write(directory: string, body: string): Promise<{ sha256: string; bytes: number }> {
    const thread = (this.thread ??= this.start());
    const seq = (this.seq += 1);
    if (this.pending.size === 0) thread.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      if (this.outbox.length === 0) setImmediate(() => this.flush());
      this.outbox.push({ seq, directory, body, tag: this.tag });
    });
  }

  /**
   * Writes a document given as consecutive parts of its text or of its UTF-8 bytes, each handed over
   * (copied) as soon as it is made, so a part's buffer may be reused for the next; the file and its
   * hash are those of the parts joined. A part that throws abandons the write
   * (no file is left) and rejects with that error.
   */
  writeParts(directory: string, parts: Iterable<string | Uint8Array>): Promise<{ sha256: string; bytes: number }> {
    const thread = (this.thread ??= this.start());
    const seq = (this.seq += 1);
    if (this.pending.size === 0) thread.ref();
    const written = new Promise<{ sha256: string; bytes: number }>((resolve, reject) => this.pending.set(seq, { resolve, reject }));
    const message = { seq, directory, tag: this.tag, body: '' };
    try {
      for (const body of parts) thread.postMessage({ ...message, body });
    } catch (error) {
      thread.postMessage({ ...message, abort: true });
      return written.catch(() => undefined).then(() => Promise.reject(error));
    }
    thread.postMessage({ ...message, end: true });
    return written;
  }

  /** Writes asked for before a thread died were failed with it (abandon), so the outbox is the current thread's. */
  private flush(): void {
    const writes = this.outbox;
    this.outbox = [];
    if (writes.length > 0) this.thread?.postMessage(writes);
  }

  private start(): Worker {
    const thread = new Worker(THREAD_SOURCE, { eval: true });
    thread.unref();
    thread.on('message', (replies: Reply[]) => {
      for (const reply of replies) {
        const waiter = this.pending.get(reply.seq);
        this.pending.delete(reply.seq);
        if (!waiter) continue;
        if (reply.error) waiter.reject(Object.assign(new Error(reply.error.message), reply.error.code ? { code: reply.error.code } : {}));
        else waiter.resolve({ sha256: reply.sha256!, bytes: reply.bytes! });
      }
      if (this.pending.size === 0) thread.unref();
    });
    thread.on('error', (error) => this.abandon(thread, error));
    thread.on('exit', (code) => this.abandon(thread, new Error(`the evidence writer thread exited (code ${code})`)));
    return thread;
  }

  private abandon(thread: Worker, error: Error): void {
    if (this.thread !== thread) return;
    this.thread = null;
    this.outbox = [];
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
