import type { Redis } from 'ioredis';

/**
 * Service-wide counters kept in Redis (findings by risk, approvals by outcome), so /metrics shows
 * the same numbers whichever process did the work.
 */
export class Stats {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  async increment(counts: Record<string, number>): Promise<void> {
    const entries = Object.entries(counts).filter(([, count]) => count !== 0);
    if (entries.length === 0) return;
    const multi = this.redis.multi();
    for (const [field, count] of entries) multi.hincrby(this.key, field, count);
    await multi.exec();
  }

  async all(): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.key);
    return Object.fromEntries(Object.entries(raw).map(([field, value]) => [field, Number(value)]));
  }
}
