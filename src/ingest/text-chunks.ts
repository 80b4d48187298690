import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { TextDecoder } from 'node:util';

/** Bytes of the head of a file that format detection looks at. */
export const HEAD_BYTES = 64 * 1024;

/** Whether the bytes start with a UTF-16 little-endian BOM, or look like UTF-16LE text without one. */
export function isUtf16Le(head: Buffer): boolean {
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return true;
  return head.length >= 4 && head[1] === 0 && head[3] === 0 && head[0] !== 0 && head[2] !== 0;
}

/** The head as text, BOMs removed, UTF-16LE decoded, for detection by content. */
export function headText(head: Buffer): string {
  const text = isUtf16Le(head) ? new TextDecoder('utf-16le').decode(head) : head.toString('utf8');
  return text.replace(/^\uFEFF/, '');
}

/** Bytes per read. */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Streams a text file as UTF-8 buffers whatever its encoding (UTF-8 with or without BOM, or the
 * UTF-16LE that Windows PowerShell's Out-File writes), reporting bytes read for progress.
 *
 * With `reuseBuffers`, the file is read into three buffers in turn instead of a new one per read
 * (a new 1 MiB buffer per read cost page faults and garbage collections: 0.5-0.8 s of CPU per 2 GB
 * against 0.4 s): a chunk's bytes then stay valid only until the chunk after the next one is asked
 * for, so only a reader that copies what it keeps beyond the next chunk may ask for it.
 */
export async function* utf8Chunks(path: string, onProgress?: (bytesRead: number) => void, reuseBuffers = false): AsyncGenerator<Buffer> {
  const reads = reuseBuffers ? readsInTurn(path) : (createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>);
  let decoder: TextDecoder | null = null;
  let first = true;
  let bytesRead = 0;
  for await (const raw of reads) {
    let chunk = raw;
    bytesRead += raw.length;
    if (first) {
      first = false;
      if (isUtf16Le(chunk)) decoder = new TextDecoder('utf-16le');
      else if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
    }
    if (decoder) {
      const text = decoder.decode(chunk, { stream: true }).replace(/^\uFEFF/, '');
      chunk = Buffer.from(text, 'utf8');
    }
    yield chunk;
    onProgress?.(bytesRead);
  }
}

/** The file's bytes, read into three buffers in turn, the next read under way while a chunk is used. */
async function* readsInTurn(path: string): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  const buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
  let turn = 0;
  let next = handle.read(buffers[turn]!, 0, CHUNK_BYTES, null);
  try {
    for (;;) {
      const { bytesRead } = await next;
      if (bytesRead === 0) return;
      const chunk = buffers[turn]!.subarray(0, bytesRead);
      turn = (turn + 1) % buffers.length;
      next = handle.read(buffers[turn]!, 0, CHUNK_BYTES, null);
      yield chunk;
    }
  } finally {
    // A read still under way when the consumer stops is let finish (its failure no longer matters) before the file closes.
    await next.catch(() => undefined);
    await handle.close();
  }
}
