import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { checkRedisDurability } from '../../src/store/redis-connection.js';
import { ErrorCode } from '../../src/errors.js';
import { requireService } from '../support/services.js';

const redisServer = process.env.WMI_TEST_REDIS_SERVER ?? 'redis-server';
const serverAvailable = requireService(
  'redis-server binary',
  spawnSync(redisServer, ['--version']).status === 0,
  'a throw-away Redis with an evicting policy is started for this test',
);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe.skipIf(!serverAvailable)('checkRedisDurability', () => {
  let child: ChildProcess;
  let redis: Redis;
  beforeAll(async () => {
    const port = await freePort();
    child = spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'], {
      stdio: 'ignore',
    });
    redis = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
    // The server takes a moment to listen; the first refused connects are retried, not errors.
    redis.on('error', () => undefined);
    await redis.ping();
  });
  afterAll(async () => {
    redis.disconnect();
    child.kill('SIGTERM');
  });

  it('refuses an evicting Redis when configured to refuse', async () => {
    await expect(checkRedisDurability(redis, 'refuse', () => undefined)).rejects.toMatchObject({ code: ErrorCode.Config });
  });

  it('only warns, about eviction and about AOF, when configured to warn', async () => {
    const warnings: string[] = [];
    await checkRedisDurability(redis, 'warn', (message) => warnings.push(message));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/allkeys-lru/);
    expect(warnings[1]).toMatch(/AOF/);
  });

  it('is silent on a noeviction Redis with AOF', async () => {
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'appendonly', 'yes');
    const warnings: string[] = [];
    await checkRedisDurability(redis, 'refuse', (message) => warnings.push(message));
    expect(warnings).toEqual([]);
  });
});
