import { afterEach, describe, expect, it } from 'vitest';
import { CodedError, ErrorCode } from '../../src/errors.js';
import { jobIds } from '../../src/queue/queue-names.js';
import { maliciousSubscription } from './fake-host.js';
import { engineHarness, eventually, type EngineHarness, type HarnessOptions } from './engine-harness.js';
import { redisAvailable } from './redis-harness.js';
import { hostResult } from '../support/host-result.js';

const responder = { kind: 'api' as const, id: 'responder-1', from: '127.0.0.1' };
const fleetOf = (count: number) => Array.from({ length: count }, (_, index) => `ws${String(index).padStart(2, '0')}`);

/** Most collects that were running at the same moment. */
function mostAtOnce(calls: Array<{ op: string; at: number; end?: number }>): number {
  const edges = calls
    .filter((call) => call.op === 'collect')
    .flatMap((call) => [
      { at: call.at, step: 1 },
      { at: call.end ?? Number.POSITIVE_INFINITY, step: -1 },
    ])
    .sort((a, b) => a.at - b.at || a.step - b.step);
  let running = 0;
  let most = 0;
  for (const edge of edges) {
    running += edge.step;
    most = Math.max(most, running);
  }
  return most;
}

describe.skipIf(!redisAvailable)('hunts cut into batches of hosts', () => {
  let harness: EngineHarness;
  afterEach(async () => harness.close());

  const start = async (options: HarnessOptions = {}) => {
    // Two job slots and three hosts at a time per job: a 12-host fleet goes out as two batches of six.
    harness = await engineHarness({ settings: { hostJobsAtOnce: 2 }, hostsAtOncePerJob: 3, concurrency: { hunt: 6 }, timeoutsMs: { hunt: 1_500 }, ...options });
  };
  const finished = (huntId: string) =>
    eventually(async () => {
      const hunt = await harness.engine.getHunt(huntId);
      return hunt && hunt.finishedAt ? hunt : null;
    }, `hunt ${huntId} to finish`);

  it('queues one job per batch, works on each host once within the host slots, and counts every host', async () => {
    await start();
    const hosts = fleetOf(12);
    for (const host of hosts) harness.fleet.addHost(host, host === 'ws07' ? maliciousSubscription() : []).script(host, { delayMs: 30 });
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: responder });
    const jobs = await harness.queues.hunt.getJobs(['waiting', 'prioritized']);
    expect(jobs.map((job) => [job.name, job.id, job.data.hosts.length]).sort()).toEqual([
      ['hosts', jobIds.hostBatch(huntId, 0), 6],
      ['hosts', jobIds.hostBatch(huntId, 1), 6],
    ]);

    await harness.startWorkers();
    const hunt = await finished(huntId);
    expect(hunt.status).toBe('completed');
    expect(hunt.progress).toEqual({ done: 12, failed: 0, total: 12 });
    const collects = harness.fleet.calls.filter((call) => call.op === 'collect');
    expect(collects.map((call) => call.host).sort()).toEqual(hosts);
    expect(mostAtOnce(harness.fleet.calls)).toBeLessThanOrEqual(6);
    const report = await harness.engine.getReport(huntId);
    expect(report?.hosts.map((host) => host.host)).toEqual(hosts);
    expect(report?.findings.filter((finding) => !finding.benign).every((finding) => finding.host === 'ws07')).toBe(true);
    const stored = (await harness.store.audit.list({ huntId })).filter((entry) => entry.action === 'evidence.stored' && entry.details.kind === 'collection');
    expect(stored.map((entry) => entry.details.host).sort()).toEqual(hosts);
  });

  it('never works on more hosts at once than the process has host slots, however many batches run', async () => {
    await start({ settings: { hostJobsAtOnce: 4 }, hostsAtOncePerJob: 3, concurrency: { hunt: 4 } });
    const hosts = fleetOf(16);
    for (const host of hosts) harness.fleet.addHost(host).script(host, { delayMs: 40 });
    await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: responder });
    expect((await finished(huntId)).progress).toEqual({ done: 16, failed: 0, total: 16 });
    expect(mostAtOnce(harness.fleet.calls)).toBeLessThanOrEqual(4);
  });

  it('retries a host whose failure may pass in a job of its own, after a backoff, without holding or repeating the batch', async () => {
    await start();
    const hosts = fleetOf(6);
    for (const host of hosts) harness.fleet.addHost(host);
    harness.fleet.script('ws02', { collectFailures: [new CodedError(ErrorCode.HostUnreachable, 'WinRM connection reset')] });
    await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: responder, playbook: 'wmi-persistence-hunt' });
    const hunt = await finished(huntId);
    expect(hunt.status).toBe('completed');
    expect(hunt.progress).toEqual({ done: 6, failed: 0, total: 6 });
    const collects = harness.fleet.calls.filter((call) => call.op === 'collect');
    expect(collects.filter((call) => call.host === 'ws02')).toHaveLength(2);
    expect(collects.filter((call) => call.host !== 'ws02')).toHaveLength(5);
    const retry = await harness.queues.hunt.getJob(jobIds.host(huntId, 'ws02'));
    expect(retry?.name).toBe('host');
    expect(retry?.opts.delay).toBeGreaterThan(0);
  });

  it('fails only the host whose failure is permanent, with its own code, and does not retry it', async () => {
    await start();
    const hosts = fleetOf(6);
    for (const host of hosts) harness.fleet.addHost(host);
    harness.fleet.script('ws04', { collectFailures: [new CodedError(ErrorCode.AccessDenied, 'Access is denied')] });
    await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: responder });
    const hunt = await finished(huntId);
    expect(hunt.status).toBe('partial');
    expect(hunt.progress).toEqual({ done: 5, failed: 1, total: 6 });
    expect(hunt.errors).toEqual([{ host: 'ws04', code: 'E_ACCESS_DENIED', message: 'Access is denied' }]);
    expect(harness.fleet.calls.filter((call) => call.op === 'collect' && call.host === 'ws04')).toHaveLength(1);
    expect(await harness.queues.hunt.getJob(jobIds.host(huntId, 'ws04'))).toBeUndefined();
  });

  it('stops a hung host at its own timeout, fails it after its attempts, and finishes the rest of the batch', async () => {
    await start({ timeoutsMs: { hunt: 400 } });
    const hosts = fleetOf(6);
    for (const host of hosts) harness.fleet.addHost(host);
    harness.fleet.script('ws01', { delayMs: 60_000 });
    await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: responder });
    const hunt = await finished(huntId);
    expect(hunt.progress).toEqual({ done: 5, failed: 1, total: 6 });
    expect(hunt.errors).toEqual([expect.objectContaining({ host: 'ws01', code: ErrorCode.Timeout })]);
    const hung = harness.fleet.calls.filter((call) => call.host === 'ws01');
    expect(hung).toHaveLength(2);
    expect(hung.every((call) => call.aborted === true)).toBe(true);
    const report = await harness.engine.getReport(huntId);
    expect(report?.hosts.find((host) => host.host === 'ws01')?.errors[0]?.code).toBe(ErrorCode.Timeout);
  });

  it("starts a host's timeout when it gets its slot, so hosts queued behind slow ones do not time out waiting", async () => {
    await start({ settings: { hostJobsAtOnce: 1 }, hostsAtOncePerJob: 1, concurrency: { hunt: 1 }, timeoutsMs: { hunt: 400 } });
    const hosts = fleetOf(4);
    for (const host of hosts) harness.fleet.addHost(host).script(host, { delayMs: 250 });
    await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: responder });
    const hunt = await finished(huntId);
    expect(hunt.progress).toEqual({ done: 4, failed: 0, total: 4 });
    expect(harness.fleet.calls.filter((call) => call.op === 'collect')).toHaveLength(4);
    expect(mostAtOnce(harness.fleet.calls)).toBe(1);
  });

  it('skips the hosts a batch already recorded when it runs again, and counts each host once', async () => {
    await start();
    const hosts = fleetOf(6);
    for (const host of hosts) harness.fleet.addHost(host);
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: responder });
    // What an earlier run of the batch left behind before its worker died: two hosts recorded.
    await harness.store.hunts.recordHostResults(huntId, [
      { result: hostResult('ws00'), findings: [] },
      { result: hostResult('ws03'), findings: [] },
    ]);
    await harness.startWorkers();
    const hunt = await finished(huntId);
    expect(hunt.progress).toEqual({ done: 6, failed: 0, total: 6 });
    expect(
      harness.fleet.calls
        .filter((call) => call.op === 'collect')
        .map((call) => call.host)
        .sort(),
    ).toEqual(['ws01', 'ws02', 'ws04', 'ws05']);
    expect(await harness.store.hunts.getHostResults(huntId)).toHaveLength(6);
  });

  it('puts a batch still running after the shutdown grace back in the queue, unspent, and records nothing it did not finish', async () => {
    await start({ attempts: 1, timeoutsMs: { hunt: 30_000 } });
    const hosts = fleetOf(6);
    for (const host of hosts) harness.fleet.addHost(host).script(host, { delayMs: 5_000 });
    const first = await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: responder });
    await eventually(async () => harness.fleet.calls.length >= 3, 'the collections to start');
    await first.close(100);
    const batch = await harness.queues.hunt.getJob(jobIds.hostBatch(huntId, 0));
    expect(await batch?.getState()).toBe('waiting');
    expect(batch?.attemptsMade).toBe(0);
    expect((await harness.engine.getHunt(huntId))?.progress).toEqual({ done: 0, failed: 0, total: 6 });

    for (const host of hosts) harness.fleet.script(host, { delayMs: 0 });
    await harness.startWorkers();
    const hunt = await finished(huntId);
    expect(hunt.status).toBe('completed');
    expect(hunt.progress).toEqual({ done: 6, failed: 0, total: 6 });
  });
});
