import type { Redis } from 'ioredis';
import type { Actor } from '../app/engine.js';
import { LuaScript } from './lua-script.js';

/**
 * The append-only audit log: one Redis stream entry per decision or action (who, what, when, from
 * where, and the SHA-256 of every object or evidence file involved). Entries are only ever added;
 * nothing in the service trims or edits the stream.
 */
export interface AuditEntryInput {
  actor: Actor;
  /** Dotted verb: hunt.started, evidence.stored, approval.decided, approval.refused, removal.completed ... */
  action: string;
  /** What it acted on: a hunt id, approval id, backup id, host. */
  target: string;
  huntId?: string;
  /** Object or evidence hashes by name (content hashes, evidence sha256). */
  hashes?: Record<string, string>;
  details?: Record<string, unknown>;
}

export interface AuditEntry extends Required<Omit<AuditEntryInput, 'huntId'>> {
  id: string;
  at: string;
  huntId: string | null;
}

const appendOnceScript = new LuaScript('append-once.lua');

export class AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async append(entry: AuditEntryInput): Promise<string> {
    const id = await this.redis.xadd(this.key, '*', ...this.fields(entry));
    return id ?? '';
  }

  /** The stream fields of an entry, for scripts that append it together with other writes. */
  entryFields(entry: AuditEntryInput): string[] {
    return this.fields(entry);
  }

  /**
   * Appends the entry unless one was already appended under `onceKey` (atomically): for actions a
   * retried job repeats, such as a removal's start, backup and completion. Returns null when the
   * entry was already there.
   */
  async appendOnce(onceKey: string, entry: AuditEntryInput): Promise<string | null> {
    const id = await appendOnceScript.run(this.redis, [this.key, `${this.key}:once:${onceKey}`], this.fields(entry));
    return typeof id === 'string' ? id : null;
  }

  private fields(entry: AuditEntryInput): string[] {
    return [
      'at',
      this.now().toISOString(),
      'actor',
      JSON.stringify(entry.actor),
      'action',
      entry.action,
      'target',
      entry.target,
      'huntId',
      entry.huntId ?? '',
      'hashes',
      JSON.stringify(entry.hashes ?? {}),
      'details',
      JSON.stringify(entry.details ?? {}),
    ];
  }

  /** Entries in order, oldest first; optionally only those of one hunt. */
  async list(options: { huntId?: string; count?: number; after?: string } = {}): Promise<AuditEntry[]> {
    const start = options.after ? `(${options.after}` : '-';
    const raw = (await this.redis.xrange(this.key, start, '+', 'COUNT', options.count ?? 10_000)) as Array<[string, string[]]>;
    const entries = raw.map(([id, fields]) => toEntry(id, fields));
    return options.huntId ? entries.filter((entry) => entry.huntId === options.huntId) : entries;
  }
}

function toEntry(id: string, fields: string[]): AuditEntry {
  const map = new Map<string, string>();
  for (let index = 0; index + 1 < fields.length; index += 2) map.set(fields[index]!, fields[index + 1]!);
  return {
    id,
    at: map.get('at') ?? '',
    actor: JSON.parse(map.get('actor') ?? '{}') as Actor,
    action: map.get('action') ?? '',
    target: map.get('target') ?? '',
    huntId: map.get('huntId') || null,
    hashes: JSON.parse(map.get('hashes') ?? '{}') as Record<string, string>,
    details: JSON.parse(map.get('details') ?? '{}') as Record<string, unknown>,
  };
}
