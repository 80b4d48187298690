import type { Redis } from 'ioredis';
import { LuaScript } from './lua-script.js';
import type { StoreKeys } from './store-keys.js';

/**
 * One job at a time changes a host: removal and restore take this lock. It expires on its own
 * (after the job's timeout and a margin) so a crashed worker cannot hold a host forever, and it is
 * released only by its owner.
 */
const releaseLockScript = new LuaScript('release-lock.lua');

export class HostLock {
  constructor(
    private readonly redis: Redis,
    private readonly keys: StoreKeys,
  ) {}

  async acquire(host: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.hostLock(host.toLowerCase()), owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async holder(host: string): Promise<string | null> {
    return this.redis.get(this.keys.hostLock(host.toLowerCase()));
  }

  async release(host: string, owner: string): Promise<boolean> {
    return (await releaseLockScript.run(this.redis, [this.keys.hostLock(host.toLowerCase())], [owner])) === 1;
  }
}
