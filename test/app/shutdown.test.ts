import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobIds } from '../../src/queue/queue-names.js';
import { engineHarness, eventually, type EngineHarness } from './engine-harness.js';
import { redisAvailable } from './redis-harness.js';

describe.skipIf(!redisAvailable)('graceful shutdown', () => {
  let harness: EngineHarness;
  beforeEach(async () => {
    harness = await engineHarness({ attempts: 1, timeoutsMs: { hunt: 30_000 } });
  });
  afterEach(async () => harness.close());

  it('lets a running job finish within the grace period', async () => {
    harness.fleet.addHost('host01').script('host01', { delayMs: 300 });
    const workers = await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts: ['host01'], requestedBy: { kind: 'cli', id: 'ops' } });
    await eventually(async () => harness.fleet.calls.length > 0, 'the collection to start');
    await workers.close(10_000);
    const job = await harness.queues.hunt.getJob(jobIds.host(huntId, 'host01'));
    expect(await job?.getState()).toBe('completed');
    expect(harness.fleet.calls[0]?.aborted).toBeUndefined();
  });

  it('puts a job still running after the grace period back in the queue, unspent, for the next worker', async () => {
    harness.fleet.addHost('host01').script('host01', { delayMs: 5_000 });
    const first = await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts: ['host01'], requestedBy: { kind: 'cli', id: 'ops' } });
    await eventually(async () => harness.fleet.calls.length > 0, 'the collection to start');
    await first.close(100);
    expect(harness.fleet.calls[0]?.aborted).toBe(true);
    const job = await harness.queues.hunt.getJob(jobIds.host(huntId, 'host01'));
    expect(await job?.getState()).toBe('waiting');
    expect(job?.attemptsMade).toBe(0);
    expect((await harness.engine.getHunt(huntId))?.progress).toEqual({ done: 0, failed: 0, total: 1 });

    harness.fleet.script('host01', { delayMs: 0 });
    await harness.startWorkers();
    const hunt = await eventually(async () => {
      const current = await harness.engine.getHunt(huntId);
      return current?.finishedAt ? current : null;
    }, 'the hunt to finish on the second worker');
    expect(hunt.status).toBe('completed');
    expect(hunt.progress).toEqual({ done: 1, failed: 0, total: 1 });
  });
});
