import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CodedError, ErrorCode } from '../../src/errors.js';
import { isHighOrAbove } from '../../src/domain/finding.js';
import { jobIds } from '../../src/queue/queue-names.js';
import { maliciousSubscription } from './fake-host.js';
import { engineHarness, eventually, type EngineHarness } from './engine-harness.js';
import { redisAvailable } from './redis-harness.js';

const responder = { kind: 'api' as const, id: 'responder-1', from: '127.0.0.1' };

describe.skipIf(!redisAvailable)('hunt jobs', () => {
  let harness: EngineHarness;
  beforeEach(async () => {
    harness = await engineHarness({ timeoutsMs: { hunt: 1_500 } });
  });
  afterEach(async () => harness.close());

  const finished = (huntId: string) =>
    eventually(async () => {
      const hunt = await harness.engine.getHunt(huntId);
      return hunt && hunt.finishedAt ? hunt : null;
    }, `hunt ${huntId} to finish`);

  it('fans a fleet hunt out to one job per host and in to one report, progress counting every host', async () => {
    const hosts = Array.from({ length: 12 }, (_, index) => `ws${String(index).padStart(2, '0')}`);
    for (const host of hosts) harness.fleet.addHost(host, host === 'ws03' ? maliciousSubscription() : []);
    await harness.startWorkers();
    const { huntId, deduplicated } = await harness.engine.startHunt({ hosts, requestedBy: responder });
    expect(deduplicated).toBe(false);
    expect(huntId).toMatch(/^TH-WMI-\d{8}-001$/);

    const hunt = await finished(huntId);
    expect(hunt.status).toBe('completed');
    expect(hunt.progress).toEqual({ done: 12, failed: 0, total: 12 });
    const report = await harness.engine.getReport(huntId);
    expect(report?.hosts.map((host) => host.host)).toEqual(hosts);
    const malicious = report!.findings.filter((finding) => !finding.benign);
    expect(malicious.length).toBeGreaterThan(0);
    expect(malicious.every((finding) => finding.host === 'ws03')).toBe(true);
    expect(malicious.some((finding) => isHighOrAbove(finding.riskLevel))).toBe(true);
    expect(hunt.findingsByRisk.High + hunt.findingsByRisk.Critical).toBeGreaterThan(0);
    expect(harness.fleet.calls.filter((call) => call.op === 'collect')).toHaveLength(12);
  });

  it('retries a transient failure with backoff and then succeeds', async () => {
    harness.fleet.addHost('flaky01').script('flaky01', { collectFailures: [new CodedError(ErrorCode.HostUnreachable, 'WinRM connection reset')] });
    await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts: ['flaky01'], requestedBy: responder });
    const hunt = await finished(huntId);
    expect(hunt.status).toBe('completed');
    expect(harness.fleet.calls.filter((call) => call.op === 'collect')).toHaveLength(2);
    const jobId = jobIds.host(huntId, 'flaky01');
    await eventually(async () => (await harness.queues.hunt.getJobState(jobId)) === 'completed', 'the host job to complete');
    expect((await harness.queues.hunt.getJob(jobId))?.attemptsMade).toBe(2);
  });

  it('does not retry a permanent failure and reports the host as failed with its code', async () => {
    harness.fleet.addHost('ok01').addHost('locked01').script('locked01', { collectFailures: [new CodedError(ErrorCode.AccessDenied, 'Access is denied')] });
    await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts: ['ok01', 'locked01'], requestedBy: responder });
    const hunt = await finished(huntId);
    expect(hunt.status).toBe('partial');
    expect(hunt.progress).toEqual({ done: 1, failed: 1, total: 2 });
    expect(hunt.errors).toEqual([{ host: 'locked01', code: 'E_ACCESS_DENIED', message: 'Access is denied' }]);
    expect(harness.fleet.calls.filter((call) => call.op === 'collect' && call.host === 'locked01')).toHaveLength(1);
    const jobId = jobIds.host(huntId, 'locked01');
    await eventually(async () => (await harness.queues.hunt.getJobState(jobId)) === 'failed', 'the host job to fail');
    expect((await harness.queues.hunt.getJob(jobId))?.attemptsMade).toBe(1);
  });

  it('aborts a collection that exceeds the job timeout, stopping the host call, and fails the host after its attempts', async () => {
    harness.fleet.addHost('slow01').script('slow01', { delayMs: 60_000 });
    await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts: ['slow01'], requestedBy: responder });
    const hunt = await finished(huntId);
    expect(hunt.status).toBe('failed');
    expect(hunt.errors[0]?.code).toBe(ErrorCode.Timeout);
    const calls = harness.fleet.calls.filter((call) => call.host === 'slow01');
    expect(calls).toHaveLength(2);
    expect(calls.every((call) => call.aborted === true)).toBe(true);
  });

  it('starts the same request once when it carries the same idempotency key', async () => {
    harness.fleet.addHost('host01');
    const first = await harness.engine.startHunt({ hosts: ['host01'], requestedBy: responder, idempotencyKey: 'slack-trigger-42' });
    const again = await harness.engine.startHunt({ hosts: ['host01'], requestedBy: responder, idempotencyKey: 'slack-trigger-42' });
    expect(again).toEqual({ huntId: first.huntId, deduplicated: true });
    expect(await harness.queues.hunt.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('gives a host one alert-started hunt per window', async () => {
    harness.fleet.addHost('host01');
    const trigger = { source: 'splunk', alertId: 'a1', summary: 'Sysmon 20' };
    const first = await harness.engine.startHunt({ hosts: ['HOST01'], requestedBy: responder, trigger });
    const second = await harness.engine.startHunt({ hosts: ['host01'], requestedBy: responder, trigger: { ...trigger, alertId: 'a2' } });
    expect(second).toEqual({ huntId: first.huntId, deduplicated: true });
    const manual = await harness.engine.startHunt({ hosts: ['host01'], requestedBy: responder });
    expect(manual.deduplicated).toBe(false);
  });

  it('refuses bad input before anything is queued or numbered', async () => {
    await expect(harness.engine.startHunt({ hosts: ['good01', 'bad host'], requestedBy: responder })).rejects.toMatchObject({ code: ErrorCode.InvalidHostName });
    await expect(harness.engine.startHunt({ hosts: [], requestedBy: responder })).rejects.toMatchObject({ code: ErrorCode.BadInput });
    await expect(harness.engine.startHunt({ hosts: ['h1'], playbook: 'no-such', requestedBy: responder })).rejects.toMatchObject({ code: ErrorCode.NotFound });
    await expect(harness.engine.startHunt({ hosts: ['h1'], params: { lookbackHours: -1 }, requestedBy: responder })).rejects.toMatchObject({ code: ErrorCode.BadInput });
    await expect(harness.engine.startHunt({ hosts: ['h1'], params: { surprise: 1 }, requestedBy: responder })).rejects.toMatchObject({ code: ErrorCode.BadInput });
    expect(await harness.queues.hunt.count()).toBe(0);
    const { huntId } = await harness.engine.startHunt({ hosts: ['h1'], requestedBy: responder });
    expect(huntId).toMatch(/-001$/);
  });
});

describe.skipIf(!redisAvailable)('failure branches in playbooks', () => {
  let harness: EngineHarness;
  afterEach(async () => harness.close());

  it('continues past a failed trace that says continue, reports without origins, and takes the failure branch', async () => {
    const events: string[] = [];
    harness = await engineHarness({
      analysis: (real) => ({
        analyze: (collection, options) => real.analyze(collection, options),
        hostSummary: (collection) => real.hostSummary(collection),
        buildReport: (input) => real.buildReport(input),
        trace: () => {
          throw new CodedError(ErrorCode.BadInput, 'event index refused the records');
        },
      }),
      notifications: {
        huntUpdated: async (hunt) => void events.push(`updated:${hunt.status}`),
        huntCompleted: async (hunt) => void events.push(`completed:${hunt.status}`),
        approvalUpdated: async () => undefined,
        removalFinished: async () => undefined,
        restoreFinished: async () => undefined,
      },
    });
    harness.fleet.addHost('ws01', maliciousSubscription());
    await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts: ['ws01'], playbook: 'wmiprvse-child-triage', requestedBy: responder });
    const hunt = await finished(huntId);
    expect(hunt.status).toBe('partial');
    expect(hunt.progress).toEqual({ done: 1, failed: 0, total: 1 });
    const report = await harness.engine.getReport(huntId);
    expect(report?.findings.some((finding) => !finding.benign && finding.origin === null)).toBe(true);
    const finishedEntry = (await harness.store.audit.list({ huntId })).find((entry) => entry.action === 'hunt.finished');
    expect(finishedEntry?.details.stepFailures).toEqual({ trace: 'E_BAD_INPUT: event index refused the records' });
    await eventually(async () => events.includes('completed:partial'), 'the report notification');
    expect(await harness.queues.notify.getJob(jobIds.notify(huntId, 'failure'))).toBeDefined();
    expect(await harness.queues.notify.getJob(jobIds.notify(huntId, 'report'))).toBeDefined();
  });

  async function finished(huntId: string) {
    return eventually(async () => {
      const hunt = await harness.engine.getHunt(huntId);
      return hunt && hunt.finishedAt ? hunt : null;
    }, `hunt ${huntId} to finish`);
  }
});
