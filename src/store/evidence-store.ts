import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CodedError, ErrorCode } from '../errors.js';
import { EvidenceWriter } from './evidence-writer.js';

/**
 * Evidence on disk (EVIDENCE_DIR): hunt reports, host collections, removal backups and restore
 * results. Each item is content-addressed (its id carries its SHA-256), written once through a
 * temporary file and a rename, never overwritten, and checked against its hash when read back.
 */
export const EVIDENCE_KINDS = ['collection', 'report', 'backup', 'restore'] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

export interface StoredEvidence {
  id: string;
  kind: EvidenceKind;
  sha256: string;
  bytes: number;
}

const EVIDENCE_ID = /^(collection|report|backup|restore)-([0-9a-f]{64})$/;

/** Removal backups are what a restore needs after the objects are gone: they reach the disk (fsync) before the removal goes on. */
const SYNCED_KINDS: ReadonlySet<EvidenceKind> = new Set(['backup']);

/** Temporary names are unique per process and write; the random part keeps two containers sharing a pid apart. */
const TEMPORARY_TAG = `${process.pid}.${randomUUID()}`;

export class EvidenceStore {
  private readonly directories = new Map<EvidenceKind, Promise<unknown>>();
  private writes = 0;
  /** Everything but removal backups is written off the event loop (evidence-writer.ts). */
  private readonly writer = new EvidenceWriter();

  constructor(private readonly root: string) {}

  /**
   * Stores `JSON.stringify(document)`. `knownTexts` may give the JSON text of elements of the
   * document's long arrays (a fleet report's findings, whose texts were made when their hosts were
   * recorded): each must be exactly `JSON.stringify(element)`, and is then used instead of encoding
   * the element again; the stored bytes are the same either way.
   */
  async putJson(kind: EvidenceKind, document: unknown, knownTexts?: ReadonlyMap<unknown, string>): Promise<StoredEvidence> {
    if (!SYNCED_KINDS.has(kind)) {
      const directory = join(this.root, kind);
      const { sha256, bytes } = isLargePlainObject(document)
        ? await this.writer.writeParts(directory, jsonParts(document, knownTexts))
        : await this.writer.write(directory, JSON.stringify(document));
      return { id: `${kind}-${sha256}`, kind, sha256, bytes };
    }
    const body = Buffer.from(JSON.stringify(document), 'utf8');
    const sha256 = createHash('sha256').update(body).digest('hex');
    const path = this.pathOf(kind, sha256);
    await this.directory(kind);
    const temporary = `${path}.${TEMPORARY_TAG}.${(this.writes += 1)}.tmp`;
    const handle = await open(temporary, 'wx', 0o640);
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // Same content, same name: a second write of identical evidence lands on identical bytes.
    await rename(temporary, path).catch(async (error: unknown) => {
      await rm(temporary, { force: true });
      throw error;
    });
    return { id: `${kind}-${sha256}`, kind, sha256, bytes: body.length };
  }

  async getJson<T = unknown>(id: string): Promise<{ document: T; sha256: string }> {
    const match = EVIDENCE_ID.exec(id);
    if (!match) throw new CodedError(ErrorCode.BadInput, `not an evidence id: ${JSON.stringify(id.slice(0, 80))}`, { field: 'evidenceId' });
    const [, kind, sha256] = match as unknown as [string, EvidenceKind, string];
    let body: Buffer;
    try {
      body = await readFile(this.pathOf(kind, sha256));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new CodedError(ErrorCode.NotFound, `evidence ${id} not found`, { evidenceId: id });
      }
      throw error;
    }
    const actual = createHash('sha256').update(body).digest('hex');
    if (actual !== sha256) {
      throw new CodedError(ErrorCode.ContentChanged, `evidence ${id} does not match its SHA-256 (found ${actual})`, { evidenceId: id });
    }
    return { document: JSON.parse(body.toString('utf8')) as T, sha256 };
  }

  private directory(kind: EvidenceKind): Promise<unknown> {
    let created = this.directories.get(kind);
    if (!created) {
      created = mkdir(join(this.root, kind), { recursive: true }).catch((error: unknown) => {
        this.directories.delete(kind);
        throw error;
      });
      this.directories.set(kind, created);
    }
    return created;
  }

  private pathOf(kind: EvidenceKind, sha256: string): string {
    return join(this.root, kind, `${sha256}.json`);
  }
}

/** Documents with an array at least this long go to the writer in parts (a fleet report's findings). */
const PARTED_ARRAY_LENGTH = 1000;
/** Bytes of UTF-8 each part carries at most (bar one text longer than that): large enough that messages stay few. */
const PART_BYTES = 1 << 20;
const COMMA = 0x2c;

function isLargePlainObject(document: unknown): document is Record<string, unknown> {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return false;
  const prototype = Object.getPrototypeOf(document) as unknown;
  if ((prototype !== Object.prototype && prototype !== null) || 'toJSON' in document) return false;
  return Object.values(document).some((value) => Array.isArray(value) && value.length >= PARTED_ARRAY_LENGTH);
}

/**
 * The UTF-8 bytes of JSON.stringify(document), byte for byte, in parts of at most PART_BYTES: the
 * top-level members in order, long arrays among them encoded a slice at a time (from `knownTexts`
 * when they hold every element of the slice). Each text is encoded straight into one reused buffer,
 * so no part string is built and flattened only to be copied to the writer thread: a part yielded
 * is valid until the next is asked for (the writer copies it when it posts it).
 */
function* jsonParts(document: Record<string, unknown>, knownTexts?: ReadonlyMap<unknown, string>): Generator<Uint8Array> {
  const buffer = Buffer.allocUnsafeSlow(PART_BYTES);
  let used = 0;
  // Yields what the buffer holds when `text` might not fit after it; a text too long for any part goes alone.
  function* put(text: string): Generator<Uint8Array> {
    if (used > 0 && used + 3 * text.length > PART_BYTES) {
      yield buffer.subarray(0, used);
      used = 0;
    }
    if (3 * text.length > PART_BYTES) yield Buffer.from(text, 'utf8');
    else used += buffer.write(text, used, 'utf8');
  }
  let first = true;
  yield* put('{');
  for (const key of Object.keys(document)) {
    const value = document[key];
    const member = `${first ? '' : ','}${JSON.stringify(key)}:`;
    if (!Array.isArray(value) || value.length < PARTED_ARRAY_LENGTH || 'toJSON' in value) {
      const text = JSON.stringify(value) as string | undefined;
      if (text === undefined) continue;
      yield* put(member + text);
    } else {
      yield* put(`${member}[`);
      for (let start = 0; start < value.length; start += PARTED_ARRAY_LENGTH) {
        const slice = value.slice(start, start + PARTED_ARRAY_LENGTH);
        const texts = knownTexts ? textsOf(slice, knownTexts) : null;
        if (texts) {
          for (const [index, text] of texts.entries()) {
            const comma = start > 0 || index > 0;
            // The common case in place (a finding's text fits the part): a comma byte, then the text.
            if (used + 1 + 3 * text.length <= PART_BYTES) {
              if (comma) buffer[used++] = COMMA;
              used += buffer.write(text, used, 'utf8');
            } else {
              if (comma) yield* put(',');
              yield* put(text);
            }
          }
        } else {
          yield* put(`${start === 0 ? '' : ','}${JSON.stringify(slice).slice(1, -1)}`);
        }
      }
      yield* put(']');
    }
    first = false;
  }
  yield* put('}');
  if (used > 0) yield buffer.subarray(0, used);
}

function textsOf(elements: unknown[], knownTexts: ReadonlyMap<unknown, string>): string[] | null {
  const texts: string[] = [];
  for (const element of elements) {
    const text = knownTexts.get(element);
    if (text === undefined) return null;
    texts.push(text);
  }
  return texts;
}
