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
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      const keys = Object.keys(value).filter((key) => value[key] !== null && value[key] !== undefined).sort();
      return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot encode a ${typeof value}`);
  }
}

export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}
