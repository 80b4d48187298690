import type { Redis } from 'ioredis';
import type { StoreKeys } from './store-keys.js';

/**
 * What keeps SIEM alerts from starting duplicate work: each alert id is accepted once per source
 * (for the dedup TTL), and a host gets at most one alert-started hunt per window.
 */
export class AlertGuard {
  constructor(
    private readonly redis: Redis,
    private readonly keys: StoreKeys,
  ) {}

  /** True the first time this source sends this alert id within `ttlSeconds`. */
  async firstSighting(source: string, alertId: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(this.keys.alertSeen(source, alertId), new Date().toISOString(), 'EX', ttlSeconds, 'NX')) === 'OK';
  }

  /** Claims the host's window for `huntId`; returns the hunt that already holds it, or null. */
  async claimHostWindow(host: string, huntId: string, windowSeconds: number): Promise<string | null> {
    if (windowSeconds <= 0) return null;
    const key = this.keys.alertHostWindow(host.toLowerCase());
    const reply = await this.redis.set(key, huntId, 'EX', windowSeconds, 'NX', 'GET');
    return reply;
  }
}
