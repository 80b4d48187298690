import { createHash } from 'node:crypto';

/**
 * Canonical JSON, the basis of every content hash. The PowerShell side implements the same rules
 * (src/powershell/lib/CanonicalJson.ps1) and both are checked against test/vectors/content-hash.json.
 *
 * Rules:
 * - objects: keys sorted by UTF-16 code units (JavaScript's default sort), members whose value is
 *   null or undefined are left out, no white space;
 * - arrays keep their order; null inside an array is written as null;
 * - strings as JSON.stringify writes them (only `"`, `\` and control characters escaped, \uXXXX in
 *   lower-case hex for controls without a short form; everything else literal UTF-8);
 * - numbers must be safe integers (WMI properties that matter are strings, integers and booleans);
 * - booleans as true / false.
 */
export type CanonicalValue = string | number | boolean | null | undefined | CanonicalValue[] | { [key: string]: CanonicalValue };

export function canonicalJson(value: CanonicalValue): string {
  // One string built left to right: this runs for every object of every host a hunt collects.
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON takes only safe integers, got ${value}`);
      return String(value);
    case 'object': {
      if (Array.isArray(value)) {
        let text = '[';
        for (let index = 0; index < value.length; index += 1) {
          if (index > 0) text += ',';
          text += canonicalJson(value[index]);
        }
        return `${text}]`;
      }
      const keys = Object.keys(value).sort();
      let text = '{';
      let first = true;
      for (const key of keys) {
        const member = value[key];
        if (member === null || member === undefined) continue;
        text += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
        first = false;
      }
      return `${text}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot encode a ${typeof value}`);
  }
}

export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Texts longer than this are hashed every time: the memo is for the small objects a fleet repeats. */
const MEMO_TEXT_LIMIT = 4096;
const MEMO_ENTRIES = 2048;
const memo = new Map<string, string>();

/**
 * sha256Hex of a text, remembered for short texts: a fleet's hosts hold the same default objects,
 * so their canonical texts repeat host after host. Keyed by the whole text, so a hit is exactly the
 * hash a fresh computation gives; the memo is dropped whole when full (bounded memory).
 */
export function sha256HexOfText(text: string): string {
  if (text.length > MEMO_TEXT_LIMIT) return sha256Hex(text);
  const known = memo.get(text);
  if (known !== undefined) return known;
  const digest = sha256Hex(text);
  if (memo.size >= MEMO_ENTRIES) memo.clear();
  memo.set(text, digest);
  return digest;
}
