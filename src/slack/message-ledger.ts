import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ExpiringKey } from '../app/engine.js';
import { CodedError, ErrorCode } from '../errors.js';

/**
 * Which Slack message shows which hunt or approval card, kept in Redis because the jobs that update
 * a message may run in another process than the listener that asked for it. Updates for one
 * subject are serialized under a short lock, and each carries a rank (how far along the subject
 * is) so that a late, older snapshot never overwrites a newer one.
 */
export interface LedgerEntry {
  channel: string;
  ts: string;
  rank: number;
}

const LOCK_TTL_MS = 60_000;
const LOCK_WAIT_MS = 90_000;
const LOCK_POLL_MS = 20;

/** Deletes the lock only if we still own it (it may have expired and been taken by another). */
const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export class SlackMessageLedger {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly retentionSeconds = 30 * 86_400,
  ) {}

  private key(subject: string): string {
    return `${this.keyPrefix}:slack:msg:${subject}`;
  }

  async get(subject: string): Promise<LedgerEntry | null> {
    const fields = await this.redis.hgetall(this.key(subject));
    if (!fields.channel || !fields.ts) return null;
    return { channel: fields.channel, ts: fields.ts, rank: Number(fields.rank ?? 0) };
  }

  async put(subject: string, entry: LedgerEntry): Promise<void> {
    await this.redis
      .multi()
      .hset(this.key(subject), { channel: entry.channel, ts: entry.ts, rank: String(entry.rank) })
      .expire(this.key(subject), this.retentionSeconds)
      .exec();
  }

  /** Marks a one-time action (files posted, result posted) as done; false when it already was. */
  async markOnce(subject: string, flag: string): Promise<boolean> {
    return (await this.redis.hsetnx(this.key(subject), `once:${flag}`, new Date().toISOString())) === 1;
  }

  async clearOnce(subject: string, flag: string): Promise<void> {
    await this.redis.hdel(this.key(subject), `once:${flag}`);
  }

  /**
   * Where a value `recall(name)` reads is kept; a hunt writes its id there as it opens
   * (HuntRequest.openedWith.remember), in the same round trip.
   */
  rememberedKey(name: string): ExpiringKey {
    return { key: `${this.keyPrefix}:slack:${name}`, ttlSeconds: this.retentionSeconds };
  }

  async recall(name: string): Promise<string | null> {
    return this.redis.get(this.rememberedKey(name).key);
  }

  /** Runs `work` while holding the subject's lock, waiting for it if another process holds it. */
  async exclusive<T>(subject: string, work: () => Promise<T>): Promise<T> {
    const lockKey = `${this.key(subject)}:lock`;
    const token = randomUUID();
    const deadline = Date.now() + LOCK_WAIT_MS;
    while ((await this.redis.set(lockKey, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
      if (Date.now() > deadline) throw new CodedError(ErrorCode.Timeout, `Slack message for ${subject} is busy; try again`, { subject });
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
    try {
      return await work();
    } finally {
      await this.redis.eval(RELEASE_LOCK, 1, lockKey, token);
    }
  }
}
