import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { utf8Chunks } from '../../src/ingest/text-chunks.js';

const MIB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'wmi-text-chunks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function file(content: Buffer): string {
  counter += 1;
  const path = join(dir, `text-${counter}`);
  writeFileSync(path, content);
  return path;
}

/** 3.5 MiB of text with multi-byte characters, so reads end inside them. */
const TEXT = Array.from({ length: 70_000 }, (_, line) => `<Data Name="Line${line}">путь ✓ 日本語 ${line}</Data>\n`).join('').slice(0, 3.5 * MIB);

async function bytesOf(path: string, reuseBuffers: boolean): Promise<Buffer> {
  const copies: Buffer[] = [];
  for await (const chunk of utf8Chunks(path, undefined, reuseBuffers)) copies.push(Buffer.from(chunk));
  return Buffer.concat(copies);
}

function openFiles(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('utf8Chunks with reused buffers', () => {
  it.each([
    ['UTF-8', Buffer.from(TEXT, 'utf8')],
    ['UTF-8 with a BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TEXT, 'utf8')])],
    ['UTF-16LE with a BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEXT, 'utf16le')])],
  ])('gives the same UTF-8 bytes as new buffers per read: %s', async (_name, content) => {
    const path = file(content);
    const reused = await bytesOf(path, true);
    expect(reused.equals(await bytesOf(path, false))).toBe(true);
    expect(reused.toString('utf8')).toBe(TEXT);
  });

  it('keeps a chunk intact while the next one is read and used', async () => {
    const content = Buffer.from(TEXT, 'utf8');
    const path = file(content);
    let previous: { chunk: Buffer; at: number } | null = null;
    let at = 0;
    let checked = 0;
    for await (const chunk of utf8Chunks(path, undefined, true)) {
      if (previous) {
        expect(previous.chunk.equals(content.subarray(previous.at, previous.at + previous.chunk.length))).toBe(true);
        checked += 1;
      }
      previous = { chunk, at };
      at += chunk.length;
    }
    expect(at).toBe(content.length);
    expect(checked).toBeGreaterThanOrEqual(3);
  });

  it('closes the file when the reader stops after the first chunk', async () => {
    const path = file(Buffer.from(TEXT, 'utf8'));
    const before = openFiles();
    for await (const chunk of utf8Chunks(path, undefined, true)) {
      expect(chunk.length).toBe(MIB);
      expect(openFiles()).toBe(before + 1);
      break;
    }
    expect(openFiles()).toBe(before);
  });
});
