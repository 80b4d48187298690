import type { Redis } from 'ioredis';
import { LuaScript } from './lua-script.js';
import type { StoreKeys } from './store-keys.js';

/**
 * One job at a time changes a host: removal and restore take this lock. It expires on its own
 * (after the job's timeout and a margin) so a crashed worker cannot hold a host forever, and it is
 * released only by its owner.
 */
const acquireLockScript = new LuaScript('acquire-lock.lua');
const releaseLockScript = new LuaScript('release-lock.lua');

export class HostLock {
  constructor(
    private readonly redis: Redis,
    private readonly keys: StoreKeys,
  ) {}

  /** Re-entrant for the same owner (a job retried after its worker died keeps its job id). */
  async acquire(host: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await acquireLockScript.run(this.redis, [this.keys.hostLock(host.toLowerCase())], [owner, ttlMs])) === 1;
  }

  async holder(host: string): Promise<string | null> {
    return this.redis.get(this.keys.hostLock(host.toLowerCase()));
  }

  async release(host: string, owner: string): Promise<boolean> {
    return (await releaseLockScript.run(this.redis, [this.keys.hostLock(host.toLowerCase())], [owner])) === 1;
  }
}
