import { Redis } from 'ioredis';
import { CodedError, ErrorCode } from '../errors.js';

export interface RedisWarning {
  (message: string, details: Record<string, unknown>): void;
}

/**
 * Connections for the store and for BullMQ. Workers block on Redis, so their connections must not
 * give up on a request (`maxRetriesPerRequest: null`); the HTTP side fails fast instead.
 */
/**
 * `onError` hears connection errors (Redis restarting, unreachable); the client reconnects on its
 * own, and without a listener each error would be printed as an unhandled event.
 */
export function createRedis(url: string, role: 'worker' | 'client', onError: (error: Error) => void = () => undefined): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 3,
    enableReadyCheck: true,
    lazyConnect: false,
  });
  redis.on('error', onError);
  return redis;
}

/**
 * Queues lose jobs when Redis evicts keys under memory pressure, so anything but `noeviction` is
 * refused (or only warned about, when configured so). AOF off is always a warning: a restart then
 * loses the jobs and audit entries written since the last snapshot.
 */
export async function checkRedisDurability(redis: Redis, mode: 'refuse' | 'warn', warn: RedisWarning): Promise<void> {
  const policy = await configValue(redis, 'maxmemory-policy');
  if (policy === null) {
    warn('cannot read Redis maxmemory-policy (CONFIG is not allowed); make sure it is "noeviction"', {});
  } else if (policy !== 'noeviction') {
    const message = `Redis maxmemory-policy is "${policy}"; queues and the audit log need "noeviction"`;
    if (mode === 'refuse') {
      throw new CodedError(ErrorCode.Config, `${message} (set REDIS_EVICTION_CHECK=warn to start anyway)`, { policy });
    }
    warn(message, { policy });
  }
  const appendOnly = await configValue(redis, 'appendonly');
  if (appendOnly !== null && appendOnly !== 'yes') {
    warn('Redis runs without AOF (appendonly no): a restart can lose queued jobs and audit entries', { appendOnly });
  }
}

/** CONFIG GET, or null where the server forbids CONFIG (some managed Redis services). */
async function configValue(redis: Redis, name: string): Promise<string | null> {
  try {
    const reply = (await redis.config('GET', name)) as string[];
    return reply[1] ?? null;
  } catch {
    return null;
  }
}
