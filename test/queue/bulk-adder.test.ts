import { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BulkAdder } from '../../src/queue/bulk-adder.js';
import { bullPrefix } from '../../src/queue/queues.js';
import { redisAvailable, redisTestContext, type RedisTestContext } from '../app/redis-harness.js';

const job = (id: string) => ({ name: 'host', data: { host: id }, opts: { jobId: id } });

describe.skipIf(!redisAvailable)('bulk adder (real Redis)', () => {
  let context: RedisTestContext;
  let queue: Queue;

  beforeEach(async () => {
    context = await redisTestContext();
    queue = new Queue('hunt', { connection: { url: context.url, maxRetriesPerRequest: null }, prefix: bullPrefix(context.prefix) });
  });

  afterEach(async () => {
    await queue.close();
    await context.cleanup();
  });

  it('adds the jobs of callers in the same turn in one bulk, and each caller settles once its jobs are in Redis', async () => {
    const bulks = vi.spyOn(queue, 'addBulk');
    const adder = new BulkAdder(queue);
    await Promise.all([adder.add([job('a1'), job('a2')]), adder.add([job('b1')]), adder.add([job('c1')])]);
    expect(bulks).toHaveBeenCalledTimes(1);
    expect(bulks.mock.calls[0]![0].map((entry) => entry.opts?.jobId)).toEqual(['a1', 'a2', 'b1', 'c1']);
    expect((await queue.getWaiting()).map((entry) => entry.id).sort()).toEqual(['a1', 'a2', 'b1', 'c1']);
  });

  it('adds a lone job by itself, without a bulk', async () => {
    const bulks = vi.spyOn(queue, 'addBulk');
    const adder = new BulkAdder(queue);
    await adder.add([job('only')]);
    expect(bulks).not.toHaveBeenCalled();
    expect((await queue.getJob('only'))?.data).toEqual({ host: 'only' });
  });

  it('fails only the caller whose jobs cannot be added; the others are added and succeed', async () => {
    const adder = new BulkAdder(queue);
    // BullMQ refuses a custom job id that is an integer.
    const results = await Promise.allSettled([adder.add([job('good-1')]), adder.add([job('42')]), adder.add([job('good-2')])]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await queue.getWaiting()).map((entry) => entry.id).sort()).toEqual(['good-1', 'good-2']);
  });

  it('adds a job whose id is already queued only once, when a caller is retried alone after a shared failure', async () => {
    const adder = new BulkAdder(queue);
    await Promise.allSettled([adder.add([job('dup')]), adder.add([job('7')])]);
    expect(await queue.getWaitingCount()).toBe(1);
  });

  it('rejects every caller when Redis cannot be reached', async () => {
    const unreachable = new Queue('hunt', { connection: { host: '127.0.0.1', port: 1, maxRetriesPerRequest: 1, retryStrategy: () => null, enableOfflineQueue: false }, prefix: bullPrefix(context.prefix) });
    unreachable.on('error', () => undefined);
    try {
      const adder = new BulkAdder(unreachable);
      const results = await Promise.allSettled([adder.add([job('x1')]), adder.add([job('x2')])]);
      expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    } finally {
      await unreachable.close().catch(() => undefined);
    }
  });
});
