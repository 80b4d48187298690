import { describe, expect, it } from 'vitest';
import { decodeValue, ValueType, type SubstitutionValue } from '../../../src/ingest/evtx/binxml-values.js';
import { ByteCursor } from '../../../src/ingest/evtx/byte-cursor.js';
import { EvtxDamageError } from '../../../src/ingest/evtx/evtx-damage.js';

function decode(type: number, bytes: Buffer | number[]): SubstitutionValue {
  const buffer = Buffer.from(bytes);
  return decodeValue(type, new ByteCursor(buffer, 0, buffer.length));
}

function text(type: number, bytes: Buffer | number[]): string {
  const value = decode(type, bytes);
  if (value.kind !== 'text') throw new Error(`expected text, got ${value.kind}`);
  return value.text;
}

function le64(value: bigint): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(value);
  return buffer;
}

function utf16(value: string): Buffer {
  return Buffer.from(value, 'utf16le');
}

describe('substitution values render as Windows renders them in XML', () => {
  it('renders GUIDs upper-case in braces, with the first three groups little-endian', () => {
    const guid = Buffer.from('5f387057' + '2ac2' + 'e043' + 'bf4c06f5698ffbd9', 'hex');
    expect(text(ValueType.Guid, guid)).toBe('{5770385F-C22A-43E0-BF4C-06F5698FFBD9}');
  });

  it('renders SIDs as S-1-..., with an authority of 2^32 or more in hex', () => {
    expect(text(ValueType.Sid, [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0])).toBe('S-1-5-18');
    const domainUser = Buffer.concat([Buffer.from([1, 5, 0, 0, 0, 0, 0, 5]), ...[21, 791464340, 1796667228, 2788435825, 1112].map((n) => {
      const part = Buffer.alloc(4);
      part.writeUInt32LE(n);
      return part;
    })]);
    expect(text(ValueType.Sid, domainUser)).toBe('S-1-5-21-791464340-1796667228-2788435825-1112');
    expect(text(ValueType.Sid, [1, 0, 0x01, 0, 0, 0, 0, 0])).toBe('S-1-0x010000000000');
  });

  it('renders FILETIME as ISO UTC with the 100 ns digits and two zeros, as SystemTime is shown', () => {
    // 2019-05-11T17:57:49.9031596Z
    const ticks = BigInt(Date.UTC(2019, 4, 11, 17, 57, 49)) * 10_000n + 116_444_736_000_000_000n + 9_031_596n;
    expect(text(ValueType.FileTime, le64(ticks))).toBe('2019-05-11T17:57:49.903159600Z');
    expect(text(ValueType.FileTime, le64(0n))).toBe('1601-01-01T00:00:00.000000000Z');
  });

  it('renders SYSTEMTIME with its milliseconds', () => {
    const fields = [2019, 5, 6, 11, 17, 57, 49, 903];
    const bytes = Buffer.alloc(16);
    fields.forEach((field, i) => bytes.writeUInt16LE(field, i * 2));
    expect(text(ValueType.SystemTime, bytes)).toBe('2019-05-11T17:57:49.903000000Z');
  });

  it('renders hexadecimal integers lower-case, zero-padded to their width', () => {
    expect(text(ValueType.HexInt32, [0x10, 0x14, 0, 0])).toBe('0x00001410');
    expect(text(ValueType.HexInt64, le64(0x14591n))).toBe('0x0000000000014591');
    expect(text(ValueType.HexInt64, le64(0x8000000000000000n))).toBe('0x8000000000000000');
    expect(text(ValueType.SizeT, [0xe7, 0x03, 0, 0])).toBe('0x000003e7');
  });

  it('renders integers in decimal, signed where the type is, and 64-bit values exactly', () => {
    expect(text(ValueType.Int8, [0xff])).toBe('-1');
    expect(text(ValueType.UInt8, [0xff])).toBe('255');
    expect(text(ValueType.Int16, [0xfe, 0xff])).toBe('-2');
    expect(text(ValueType.UInt16, [0x64, 0x00])).toBe('100');
    expect(text(ValueType.Int32, [0xff, 0xff, 0xff, 0xff])).toBe('-1');
    expect(text(ValueType.UInt32, [0xff, 0xff, 0xff, 0xff])).toBe('4294967295');
    expect(text(ValueType.UInt64, le64(18446744073709551615n))).toBe('18446744073709551615');
    expect(text(ValueType.Int64, le64(18446744073709551615n))).toBe('-1');
  });

  it('renders booleans as true/false, binary as upper-case hex, reals as numbers', () => {
    expect(text(ValueType.Bool, [1, 0, 0, 0])).toBe('true');
    expect(text(ValueType.Bool, [0, 0, 0, 0])).toBe('false');
    expect(text(ValueType.Binary, [0xde, 0xad, 0x0b])).toBe('DEAD0B');
    const real = Buffer.alloc(8);
    real.writeDoubleLE(1.5);
    expect(text(ValueType.Real64, real)).toBe('1.5');
    const single = Buffer.alloc(4);
    single.writeFloatLE(0.1);
    expect(text(ValueType.Real32, single)).toBe('0.100000001');
  });

  it('drops the NUL terminator of strings and reads ANSI strings', () => {
    expect(text(ValueType.String, utf16('C:\\Windows\\cmd.exe\0'))).toBe('C:\\Windows\\cmd.exe');
    expect(text(ValueType.AnsiString, Buffer.from('wmic\0', 'latin1'))).toBe('wmic');
  });

  it('reads a zero-size value or the null type as null', () => {
    expect(decode(ValueType.String, [])).toEqual({ kind: 'null' });
    expect(decode(ValueType.Null, [1, 2, 3])).toEqual({ kind: 'null' });
  });

  it('keeps the items of arrays apart (strings, integers, GUIDs, SIDs)', () => {
    expect(decode(ValueType.ArrayFlag | ValueType.String, utf16('one\0two\0\0three\0'))).toEqual({ kind: 'array', items: ['one', 'two', '', 'three'] });
    expect(decode(ValueType.ArrayFlag | ValueType.UInt16, [1, 0, 2, 0])).toEqual({ kind: 'array', items: ['1', '2'] });
    expect(decode(ValueType.ArrayFlag | ValueType.Sid, [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1])).toEqual({
      kind: 'array',
      items: ['S-1-5-18', 'S-1-1'],
    });
  });

  it('reports a fixed-size value of the wrong size, an unknown type and a short SID as damage', () => {
    expect(() => decode(ValueType.Guid, [1, 2, 3])).toThrow(EvtxDamageError);
    expect(() => decode(ValueType.UInt32, [1, 2])).toThrow(/has 2 bytes, expected 4/);
    expect(() => decode(0x1f, [1])).toThrow(/unknown value type 0x1f/);
    expect(() => decode(ValueType.Sid, [1, 4, 0, 0, 0, 0, 0, 5])).toThrow(/declares 4 sub-authorities/);
    expect(() => decode(ValueType.ArrayFlag | ValueType.UInt32, [1, 2, 3])).toThrow(/partial item/);
  });
});
