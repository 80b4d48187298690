/**
 * Values as Windows logs them, turned back into what the object holds.
 *
 * Sysmon 19/20/21 write ` "root\\CimV2"`: a leading space, double quotes, backslashes and quotes
 * escaped, and some shippers keep the XML escaping (`&lt;blah&gt;`).
 */
export function sysmonValue(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  let value = raw.trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    value = value.slice(1, -1).replace(/\\(["\\])/g, '$1');
  }
  return decodeXmlEntities(value);
}

export function decodeXmlEntities(value: string): string {
  if (!value.includes('&')) return value;
  return value.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (entity, name: string) => {
    const lower = name.toLowerCase();
    if (lower === 'lt') return '<';
    if (lower === 'gt') return '>';
    if (lower === 'amp') return '&';
    if (lower === 'quot') return '"';
    if (lower === 'apos') return "'";
    const code = lower.startsWith('#x') ? Number.parseInt(lower.slice(2), 16) : Number(lower.slice(1));
    return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
  });
}

/**
 * A binary SID as WMI-Activity renders CreatorSID (`{1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, ...}`),
 * as its string form S-1-5-21-...; null when the bytes are not a SID.
 */
export function sidFromByteList(value: string | number[] | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const bytes = Array.isArray(value)
    ? value
    : value
        .replace(/[{}\s]/g, '')
        .split(',')
        .filter((part) => part !== '')
        .map(Number);
  if (bytes.length < 8 || bytes.some((byte) => !Number.isInteger(byte) || byte < 0 || byte > 255)) return null;
  const [revision, count] = bytes as [number, number];
  if (bytes.length !== 8 + count * 4) return null;
  let authority = 0;
  for (let i = 2; i < 8; i += 1) authority = authority * 256 + bytes[i]!;
  const parts = [`S-${revision}-${authority}`];
  for (let i = 0; i < count; i += 1) {
    const at = 8 + i * 4;
    parts.push(String((bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16)) + bytes[at + 3]! * 0x1000000));
  }
  return parts.join('-');
}

export type MofValue = string | number | boolean | null | MofValue[];

export interface MofInstance {
  className: string;
  /** `instance of X as $alias` */
  alias: string | null;
  properties: Record<string, MofValue>;
}

/**
 * The `instance of Class { Name = value; ... };` blocks of MOF text: the form WMI-Activity 5861
 * prints in PossibleCause and the form .mof files use. `$alias` references stay text ("$Filter").
 */
export function mofInstances(text: string): MofInstance[] {
  const instances: MofInstance[] = [];
  const header = /instance\s+of\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s+as\s+(\$[A-Za-z0-9_]+))?\s*\{/gi;
  for (let match = header.exec(text); match; match = header.exec(text)) {
    const reader = new MofBodyReader(text, header.lastIndex);
    const properties = reader.properties();
    if (properties) instances.push({ className: match[1]!, alias: match[2] ?? null, properties });
    header.lastIndex = reader.position;
  }
  return instances;
}

/** `#pragma autorecover` in MOF text: mofcomp then registers the file to be recompiled on repository rebuild. */
export function hasAutorecoverPragma(text: string): boolean {
  return /^\s*#\s*pragma\s+autorecover\b/im.test(text);
}

class MofBodyReader {
  constructor(
    private readonly text: string,
    public position: number,
  ) {}

  properties(): Record<string, MofValue> | null {
    // Pairs, made a record at the end: a property named __proto__ stays a property, and records share hidden classes.
    const properties: Array<[string, MofValue]> = [];
    for (;;) {
      this.skipSpace();
      const ch = this.text[this.position];
      if (ch === undefined) return null;
      if (ch === '}') {
        this.position += 1;
        return Object.fromEntries(properties) as Record<string, MofValue>;
      }
      if (ch === '[') {
        this.skipUntil(']');
        continue;
      }
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.position, this.position + 256));
      if (!name) return null;
      this.position += name[0].length;
      this.skipSpace();
      if (this.text[this.position] !== '=') return null;
      this.position += 1;
      const value = this.value();
      if (value === undefined) return null;
      properties.push([name[0], value]);
      this.skipSpace();
      if (this.text[this.position] === ';') this.position += 1;
    }
  }

  private value(): MofValue | undefined {
    this.skipSpace();
    const ch = this.text[this.position];
    if (ch === '"') {
      let joined = '';
      while (this.text[this.position] === '"') {
        const part = this.string();
        if (part === undefined) return undefined;
        joined += part;
        this.skipSpace();
      }
      return joined;
    }
    if (ch === '{') {
      this.position += 1;
      const items: MofValue[] = [];
      for (;;) {
        this.skipSpace();
        if (this.text[this.position] === '}') {
          this.position += 1;
          return items;
        }
        const item = this.value();
        if (item === undefined) return undefined;
        items.push(item);
        this.skipSpace();
        if (this.text[this.position] === ',') this.position += 1;
      }
    }
    const token = /^[^;,}\s]+/.exec(this.text.slice(this.position, this.position + 256));
    if (!token) return undefined;
    this.position += token[0].length;
    const word = token[0];
    if (/^true$/i.test(word)) return true;
    if (/^false$/i.test(word)) return false;
    if (/^null$/i.test(word)) return null;
    if (/^-?\d+$/.test(word) && Number.isSafeInteger(Number(word))) return Number(word);
    return word;
  }

  /** A quoted string, copied a run of plain text at a time (5861 prints whole scripts in them). */
  private string(): string | undefined {
    const text = this.text;
    let out = '';
    let from = this.position + 1;
    let quote = text.indexOf('"', from);
    for (;;) {
      if (quote < 0) {
        this.position = text.length;
        return undefined;
      }
      const escape = text.indexOf('\\', from);
      if (escape < 0 || quote < escape) {
        this.position = quote + 1;
        return out + text.slice(from, quote);
      }
      const next = text[escape + 1];
      out += text.slice(from, escape) + (next === 'n' ? '\n' : next === 't' ? '\t' : (next ?? ''));
      from = escape + 2;
      if (quote < from) quote = text.indexOf('"', from);
    }
  }

  private skipSpace(): void {
    for (;;) {
      while (/\s/.test(this.text[this.position] ?? '')) this.position += 1;
      if (this.text.startsWith('//', this.position)) {
        const end = this.text.indexOf('\n', this.position);
        this.position = end < 0 ? this.text.length : end + 1;
      } else if (this.text.startsWith('/*', this.position)) {
        const end = this.text.indexOf('*/', this.position + 2);
        this.position = end < 0 ? this.text.length : end + 2;
      } else {
        return;
      }
    }
  }

  private skipUntil(ch: string): void {
    const end = this.text.indexOf(ch, this.position);
    this.position = end < 0 ? this.text.length : end + 1;
  }
}
