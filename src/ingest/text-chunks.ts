import { createReadStream } from 'node:fs';
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

/**
 * Streams a text file as UTF-8 buffers whatever its encoding (UTF-8 with or without BOM, or the
 * UTF-16LE that Windows PowerShell's Out-File writes), reporting bytes read for progress.
 */
export async function* utf8Chunks(path: string, onProgress?: (bytesRead: number) => void): AsyncGenerator<Buffer> {
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
  let decoder: TextDecoder | null = null;
  let first = true;
  let bytesRead = 0;
  for await (const raw of stream as AsyncIterable<Buffer>) {
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
