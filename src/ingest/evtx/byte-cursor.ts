import { EvtxDamageError } from './evtx-damage.js';

/**
 * Bounds-checked little-endian reads over a window [position, end) of one chunk's bytes. Every read
 * checks the window first, so hostile lengths and offsets become EvtxDamageError, never an out-of-range
 * read or a silent zero.
 */
export class ByteCursor {
  constructor(
    readonly bytes: Buffer,
    public position: number,
    readonly end: number,
  ) {}

  get remaining(): number {
    return this.end - this.position;
  }

  require(count: number, what: string): void {
    if (count < 0 || this.position + count > this.end) {
      throw new EvtxDamageError(
        `${what} needs ${count} bytes at chunk offset 0x${hex(this.position)} but its data ends at 0x${hex(this.end)}`,
        this.position,
      );
    }
  }

  peekU8(what: string): number {
    this.require(1, what);
    return this.bytes[this.position]!;
  }

  u8(what: string): number {
    this.require(1, what);
    const value = this.bytes[this.position]!;
    this.position += 1;
    return value;
  }

  u16(what: string): number {
    this.require(2, what);
    const value = this.bytes.readUInt16LE(this.position);
    this.position += 2;
    return value;
  }

  u32(what: string): number {
    this.require(4, what);
    const value = this.bytes.readUInt32LE(this.position);
    this.position += 4;
    return value;
  }

  skip(count: number, what: string): void {
    this.require(count, what);
    this.position += count;
  }

  utf16(charCount: number, what: string): string {
    this.require(charCount * 2, what);
    const text = this.bytes.toString('utf16le', this.position, this.position + charCount * 2);
    this.position += charCount * 2;
    return text;
  }

  /** A cursor over the next `count` bytes; this cursor moves past them. */
  take(count: number, what: string): ByteCursor {
    this.require(count, what);
    const window = new ByteCursor(this.bytes, this.position, this.position + count);
    this.position += count;
    return window;
  }
}

export function hex(value: number): string {
  return value.toString(16);
}
