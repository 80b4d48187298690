import type { ByteCursor } from './byte-cursor.js';
import { EvtxDamageError } from './evtx-damage.js';

/**
 * Substitution values (the typed data a record supplies to its template), decoded and rendered as the
 * text Windows' own XML rendering shows: GUIDs upper-case in braces, SIDs as S-1-..., FILETIME and
 * SYSTEMTIME as ISO 8601 UTC with nine fractional digits, hexadecimal types as lower-case 0x... zero-padded to their width, booleans
 * as true/false, binary as upper-case hex. Arrays (type | 0x80) keep their items apart because Windows
 * repeats the enclosing element once per item.
 */
export const ValueType = {
  Null: 0x00,
  String: 0x01,
  AnsiString: 0x02,
  Int8: 0x03,
  UInt8: 0x04,
  Int16: 0x05,
  UInt16: 0x06,
  Int32: 0x07,
  UInt32: 0x08,
  Int64: 0x09,
  UInt64: 0x0a,
  Real32: 0x0b,
  Real64: 0x0c,
  Bool: 0x0d,
  Binary: 0x0e,
  Guid: 0x0f,
  SizeT: 0x10,
  FileTime: 0x11,
  SystemTime: 0x12,
  Sid: 0x13,
  HexInt32: 0x14,
  HexInt64: 0x15,
  EvtHandle: 0x20,
  BinXml: 0x21,
  EvtXml: 0x23,
  ArrayFlag: 0x80,
} as const;

export type SubstitutionValue =
  | { kind: 'null' }
  | { kind: 'text'; text: string }
  | { kind: 'array'; items: string[] }
  /** Type 0x21: an embedded BinXml fragment, decoded by the caller (it needs the chunk's tables). */
  | { kind: 'binxml'; cursor: ByteCursor };

export const NULL_VALUE: SubstitutionValue = { kind: 'null' };

const FIXED_SIZES: Readonly<Record<number, number>> = {
  [ValueType.Int8]: 1,
  [ValueType.UInt8]: 1,
  [ValueType.Int16]: 2,
  [ValueType.UInt16]: 2,
  [ValueType.Int32]: 4,
  [ValueType.UInt32]: 4,
  [ValueType.Int64]: 8,
  [ValueType.UInt64]: 8,
  [ValueType.Real32]: 4,
  [ValueType.Real64]: 8,
  [ValueType.Bool]: 4,
  [ValueType.Guid]: 16,
  [ValueType.FileTime]: 8,
  [ValueType.SystemTime]: 16,
  [ValueType.HexInt32]: 4,
  [ValueType.HexInt64]: 8,
};

/** Decodes one substitution value that occupies the whole of `cursor`'s window. */
export function decodeValue(type: number, cursor: ByteCursor): SubstitutionValue {
  const size = cursor.remaining;
  if (type === ValueType.Null || size === 0) return NULL_VALUE;
  if (type === ValueType.BinXml) return { kind: 'binxml', cursor };
  if (type & ValueType.ArrayFlag) return { kind: 'array', items: decodeArray(type & 0x7f, cursor) };
  return { kind: 'text', text: decodeScalar(type, cursor.bytes, cursor.position, size) };
}

function decodeArray(itemType: number, cursor: ByteCursor): string[] {
  const { bytes, position: start, end } = cursor;
  if (itemType === ValueType.String) return splitTerminated(bytes.toString('utf16le', start, end - ((end - start) % 2)));
  if (itemType === ValueType.AnsiString) return splitTerminated(bytes.toString('latin1', start, end));
  if (itemType === ValueType.Sid) {
    const items: string[] = [];
    let at = start;
    while (at < end) {
      const length = at + 2 <= end ? 8 + 4 * bytes[at + 1]! : end - at;
      if (at + length > end) throw damage(`SID array item runs past its value`, at);
      items.push(renderSid(bytes, at, length));
      at += length;
    }
    return items;
  }
  const itemSize = itemType === ValueType.SizeT ? ((end - start) % 8 === 0 ? 8 : 4) : FIXED_SIZES[itemType];
  if (itemSize === undefined) throw damage(`array of value type 0x${itemType.toString(16)} is not a known array type`, start);
  if ((end - start) % itemSize !== 0) throw damage(`array of value type 0x${itemType.toString(16)} has a partial item`, start);
  const items: string[] = [];
  for (let at = start; at < end; at += itemSize) items.push(decodeScalar(itemType, bytes, at, itemSize));
  return items;
}

function splitTerminated(text: string): string[] {
  const items = text.split('\0');
  if (items.length > 1 && items[items.length - 1] === '') items.pop();
  return items;
}

function decodeScalar(type: number, bytes: Buffer, at: number, size: number): string {
  const expected = type === ValueType.SizeT ? (size === 4 || size === 8 ? size : 8) : FIXED_SIZES[type];
  if (expected !== undefined && size !== expected) {
    throw damage(`value of type 0x${type.toString(16)} has ${size} bytes, expected ${expected}`, at);
  }
  switch (type) {
    case ValueType.String:
      return trimNul(bytes.toString('utf16le', at, at + size - (size % 2)));
    case ValueType.AnsiString:
      return trimNul(bytes.toString('latin1', at, at + size));
    case ValueType.Int8:
      return String(bytes.readInt8(at));
    case ValueType.UInt8:
      return String(bytes[at]!);
    case ValueType.Int16:
      return String(bytes.readInt16LE(at));
    case ValueType.UInt16:
      return String(bytes.readUInt16LE(at));
    case ValueType.Int32:
      return String(bytes.readInt32LE(at));
    case ValueType.UInt32:
      return String(bytes.readUInt32LE(at));
    case ValueType.Int64:
      return bytes.readBigInt64LE(at).toString();
    case ValueType.UInt64:
      return bytes.readBigUInt64LE(at).toString();
    case ValueType.Real32:
      return String(Number(bytes.readFloatLE(at).toPrecision(9)));
    case ValueType.Real64:
      return String(bytes.readDoubleLE(at));
    case ValueType.Bool:
      return bytes.readUInt32LE(at) !== 0 ? 'true' : 'false';
    case ValueType.Guid:
      return renderGuid(bytes, at);
    case ValueType.SizeT:
    case ValueType.HexInt32:
    case ValueType.HexInt64:
      // Windows pads to the value's width: 0x00001410, 0x0000000000014591.
      return `0x${(size === 4 ? BigInt(bytes.readUInt32LE(at)) : bytes.readBigUInt64LE(at)).toString(16).padStart(size * 2, '0')}`;
    case ValueType.FileTime:
      return renderFileTime(bytes.readBigUInt64LE(at));
    case ValueType.SystemTime:
      return renderSystemTime(bytes, at);
    case ValueType.Sid:
      return renderSid(bytes, at, size);
    case ValueType.Binary:
    case ValueType.EvtHandle:
    case ValueType.EvtXml:
      return bytes.toString('hex', at, at + size).toUpperCase();
    default:
      throw damage(`unknown value type 0x${type.toString(16)}`, at);
  }
}

function trimNul(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0) end -= 1;
  return end === text.length ? text : text.slice(0, end);
}

export function renderGuid(bytes: Buffer, at: number): string {
  const part = (from: number, to: number) => bytes.toString('hex', from, to);
  const reversed = (from: number, length: number) => {
    let out = '';
    for (let i = from + length - 1; i >= from; i -= 1) out += bytes[i]!.toString(16).padStart(2, '0');
    return out;
  };
  return `{${reversed(at, 4)}-${reversed(at + 4, 2)}-${reversed(at + 6, 2)}-${part(at + 8, at + 10)}-${part(at + 10, at + 16)}}`.toUpperCase();
}

/** The string form ConvertSidToStringSid produces: authority in decimal below 2^32, hex above. */
export function renderSid(bytes: Buffer, at: number, size: number): string {
  if (size < 8) throw damage(`SID of ${size} bytes is shorter than its 8-byte header`, at);
  const subCount = bytes[at + 1]!;
  if (size < 8 + 4 * subCount) throw damage(`SID declares ${subCount} sub-authorities but has ${size} bytes`, at);
  let authority = 0;
  for (let i = 2; i < 8; i += 1) authority = authority * 256 + bytes[at + i]!;
  const authorityText = authority < 2 ** 32 ? String(authority) : `0x${authority.toString(16).toUpperCase().padStart(12, '0')}`;
  let text = `S-${bytes[at]!}-${authorityText}`;
  for (let i = 0; i < subCount; i += 1) text += `-${bytes.readUInt32LE(at + 8 + 4 * i)}`;
  return text;
}

const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;

/** FILETIME (100 ns ticks since 1601) as Windows renders SystemTime: 2019-05-11T17:57:49.903159600Z. */
export function renderFileTime(ticks: bigint): string {
  const sinceUnix = ticks - FILETIME_UNIX_EPOCH;
  const seconds = sinceUnix >= 0n ? sinceUnix / 10_000_000n : (sinceUnix - 9_999_999n) / 10_000_000n;
  const fraction = sinceUnix - seconds * 10_000_000n;
  const date = new Date(Number(seconds) * 1000);
  if (Number.isNaN(date.getTime())) return `FILETIME(0x${ticks.toString(16)})`;
  return `${isoSeconds(date)}.${fraction.toString().padStart(7, '0')}00Z`;
}

function renderSystemTime(bytes: Buffer, at: number): string {
  const [year, month, , day, hour, minute, second, millis] = Array.from({ length: 8 }, (_, i) => bytes.readUInt16LE(at + 2 * i));
  const two = (n: number | undefined) => String(n ?? 0).padStart(2, '0');
  return `${String(year ?? 0).padStart(4, '0')}-${two(month)}-${two(day)}T${two(hour)}:${two(minute)}:${two(second)}.${String(millis ?? 0).padStart(3, '0')}000000Z`;
}

function isoSeconds(date: Date): string {
  const year = date.getUTCFullYear();
  const yearText = year >= 0 && year <= 9999 ? String(year).padStart(4, '0') : String(year);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${yearText}-${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())}T${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
}

function damage(message: string, at: number): EvtxDamageError {
  return new EvtxDamageError(message, at);
}
