import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HuntNotifications } from '../../src/app/notifications.js';
import { ErrorCode } from '../../src/errors.js';
import { jobIds } from '../../src/queue/queue-names.js';
import { engineHarness, type EngineHarness } from './engine-harness.js';
import { redisAvailable } from './redis-harness.js';

const requester = { kind: 'slack' as const, id: 'U0REQUEST1', from: 'C0HUNTS01' };
/** A notify consumer is configured; these tests start no workers, so nothing is ever called. */
const notifications = {} as HuntNotifications;

describe.skipIf(!redisAvailable)('hunts started together', () => {
  let harness: EngineHarness;
  afterEach(async () => harness.close());

  it('share bulks for their host jobs and their started messages, each hunt with exactly its own jobs', async () => {
    harness = await engineHarness({ notifications });
    const writes = [
      vi.spyOn(harness.queues.hunt, 'addBulk'),
      vi.spyOn(harness.queues.hunt, 'add'),
      vi.spyOn(harness.queues.notify, 'addBulk'),
      vi.spyOn(harness.queues.notify, 'add'),
    ];
    const hosts = Array.from({ length: 20 }, (_, index) => `together${index}`);
    const started = await Promise.all(hosts.map((host, index) => harness.engine.startHunt({ hosts: [host], requestedBy: requester, idempotencyKey: `together-${index}` })));
    // Usually one bulk per queue; the store's replies may reach the engine in more than one read.
    const calls = writes.reduce((sum, spy) => sum + spy.mock.calls.length, 0);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThan(hosts.length);
    for (const [index, { huntId }] of started.entries()) {
      const job = await harness.queues.hunt.getJob(jobIds.host(huntId, hosts[index]!));
      expect(job?.data).toMatchObject({ huntId, host: hosts[index] });
      expect((await harness.queues.notify.getJob(jobIds.notify(huntId, 'started')))?.data).toEqual({ kind: 'hunt-updated', huntId });
    }
    expect(await harness.queues.hunt.getWaitingCount()).toBe(20);
    expect(await harness.queues.notify.getWaitingCount()).toBe(20);
  });

  it('queue nothing again for a repeated request, and no notify job without a notify consumer', async () => {
    harness = await engineHarness();
    const first = await harness.engine.startHunt({ hosts: ['again01'], requestedBy: requester, idempotencyKey: 'again' });
    const repeat = await harness.engine.startHunt({ hosts: ['again01'], requestedBy: requester, idempotencyKey: 'again' });
    expect(repeat).toEqual({ huntId: first.huntId, deduplicated: true });
    expect(await harness.queues.hunt.getWaitingCount()).toBe(1);
    expect(await harness.queues.notify.getWaitingCount()).toBe(0);
  });

  it('fails a hunt whose jobs cannot be queued, and only that hunt', async () => {
    harness = await engineHarness({ notifications });
    const realAddBulk = harness.queues.hunt.addBulk.bind(harness.queues.hunt);
    const realAdd = harness.queues.hunt.add.bind(harness.queues.hunt);
    // Redis refuses every write that carries the doomed host's job; the others' jobs are written.
    const carriesDoomed = (data: unknown) => (data as { host?: string }).host === 'doomed01';
    vi.spyOn(harness.queues.hunt, 'addBulk').mockImplementation((jobs) =>
      jobs.some((job) => carriesDoomed(job.data)) ? Promise.reject(new Error('READONLY')) : realAddBulk(jobs),
    );
    vi.spyOn(harness.queues.hunt, 'add').mockImplementation((name, data, opts) => (carriesDoomed(data) ? Promise.reject(new Error('READONLY')) : realAdd(name, data, opts)));
    const results = await Promise.allSettled(
      ['fine01', 'doomed01', 'fine02'].map((host) => harness.engine.startHunt({ hosts: [host], requestedBy: requester, idempotencyKey: `mixed-${host}` })),
    );
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await harness.queues.hunt.getWaiting()).map((job) => (job.data as { host: string }).host).sort()).toEqual(['fine01', 'fine02']);
  });

  it('write the caller’s keys in the same step that opens the hunt, and a replayed claim starts and queues nothing', async () => {
    harness = await engineHarness({ notifications });
    const { prefix } = harness.context;
    const openedWith = { once: { key: `${prefix}:slack:seen:command:T1:trigger-7`, ttlSeconds: 900 }, remember: { key: `${prefix}:slack:last-hunt:C1`, ttlSeconds: 3_600 } };
    const first = await harness.engine.startHunt({ hosts: ['claimed01'], requestedBy: requester, idempotencyKey: 'slack-T1-trigger-7', openedWith });
    expect(await harness.context.redis.get(openedWith.remember.key)).toBe(first.huntId);
    const replay = harness.engine.startHunt({ hosts: ['claimed01'], requestedBy: requester, idempotencyKey: 'slack-T1-trigger-7', openedWith });
    await expect(replay).rejects.toMatchObject({ code: ErrorCode.Conflict, details: { replayed: true } });
    expect(await harness.queues.hunt.getWaitingCount()).toBe(1);
    expect(await harness.queues.notify.getWaitingCount()).toBe(1);
    expect((await harness.store.audit.list()).filter((entry) => entry.action === 'hunt.started')).toHaveLength(1);
  });

  it('refuse caller’s keys on an alert-started hunt, which opens in steps, before anything is written', async () => {
    harness = await engineHarness();
    const { prefix } = harness.context;
    const attempt = harness.engine.startHunt({
      hosts: ['alerted01'],
      requestedBy: requester,
      trigger: { source: 'splunk', alertId: 'a1', summary: 'Sysmon 20' },
      openedWith: { remember: { key: `${prefix}:remembered`, ttlSeconds: 60 } },
    });
    await expect(attempt).rejects.toMatchObject({ code: ErrorCode.BadInput });
    expect(await harness.context.redis.exists(`${prefix}:remembered`)).toBe(0);
    expect(await harness.queues.hunt.count()).toBe(0);
    expect(await harness.store.audit.list()).toHaveLength(0);
  });
});
