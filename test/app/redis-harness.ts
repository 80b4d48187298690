import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { REDIS_URL, requireService, tcpReachable } from '../support/services.js';

/** Real Redis for the queue/store/http/app tests: one unique key prefix per test, removed afterwards. */
export const redisAvailable = requireService('redis', await tcpReachable(REDIS_URL), `no Redis at ${REDIS_URL}`);

export interface RedisTestContext {
  url: string;
  prefix: string;
  redis: Redis;
  evidenceDir: string;
  cleanup(): Promise<void>;
}

export async function redisTestContext(): Promise<RedisTestContext> {
  const prefix = `wmi-test-${randomUUID().slice(0, 8)}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const evidenceDir = await mkdtemp(join(tmpdir(), 'wmi-evidence-'));
  return {
    url: REDIS_URL,
    prefix,
    redis,
    evidenceDir,
    async cleanup() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
      await rm(evidenceDir, { recursive: true, force: true });
    },
  };
}
