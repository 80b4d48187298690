import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildReport } from '../../src/domain/report/build-report.js';
import type { Report } from '../../src/domain/finding.js';
import { CodedError, ErrorCode } from '../../src/errors.js';
import { jobIds } from '../../src/queue/queue-names.js';
import type { HostResult } from '../../src/store/hunt-store.js';
import { maliciousSubscription } from './fake-host.js';
import { engineHarness, eventually, type EngineHarness, type HarnessOptions } from './engine-harness.js';
import { redisAvailable } from './redis-harness.js';
import { hostResult } from '../support/host-result.js';

const responder = { kind: 'api' as const, id: 'responder-1', from: '127.0.0.1' };
const fleetOf = (count: number) => Array.from({ length: count }, (_, index) => `ws${String(index).padStart(4, '0')}`);

/**
 * The finalize builds the report from the hosts its process recorded when that process recorded
 * every host of the hunt, and reads them back from Redis otherwise; either way the stored report
 * is, byte for byte, the report of what Redis holds for the hunt.
 */
describe.skipIf(!redisAvailable)('the fleet report from the hosts a process recorded', () => {
  let harness: EngineHarness;
  afterEach(async () => harness.close());

  const start = async (options: HarnessOptions = {}) => {
    harness = await engineHarness({ settings: { hostJobsAtOnce: 2 }, hostsAtOncePerJob: 4, concurrency: { hunt: 8 }, ...options });
  };
  const finished = (huntId: string, limitMs?: number) =>
    eventually(
      async () => {
        const hunt = await harness.engine.getHunt(huntId);
        return hunt && hunt.finishedAt ? hunt : null;
      },
      `hunt ${huntId} to finish`,
      limitMs,
    );

  /** The stored report's text, and the text of the report built from what Redis holds for the hunt. */
  const reportAgainstRedis = async (huntId: string): Promise<{ stored: string; fromRedis: string; report: Report }> => {
    const ref = (await harness.store.hunts.getReportRef(huntId))!;
    const stored = await readFile(join(harness.context.evidenceDir, 'report', `${ref.sha256}.json`), 'utf8');
    const report = JSON.parse(stored) as Report;
    const raw = await harness.context.redis.hvals(harness.store.keys.huntHosts(huntId));
    const results = raw.map((value) => JSON.parse(value) as HostResult).sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
    const fromRedis = buildReport({
      huntId,
      generatedAt: report.generatedAt,
      hosts: results.map((result) => result.summary ?? { host: result.host, collectedAt: null, namespacesScanned: null, errors: result.error ? [{ namespace: '(host)', ...result.error }] : [], sources: [] }).sort((a, b) => a.host.localeCompare(b.host)),
      findings: await harness.store.hunts.getFindings(huntId),
      problems: results.flatMap((result) => result.problems),
    });
    return { stored, fromRedis: JSON.stringify(fromRedis), report };
  };

  const mixedFleet = (count: number, delayMs = 0) => {
    const hosts = fleetOf(count);
    hosts.forEach((host, index) => {
      harness.fleet.addHost(host, index % 3 === 0 ? maliciousSubscription(`Updater${index}`) : []);
      harness.fleet.script(host, { delayMs, ...(index === 5 ? { collectFailures: [new CodedError(ErrorCode.AccessDenied, 'access denied', { host })] } : {}) });
    });
    return hosts;
  };

  it('builds the report from the hosts it recorded, without reading them back, to the bytes Redis\'s records give', async () => {
    await start();
    const hosts = mixedFleet(16);
    const readBack = vi.spyOn(harness.store.hunts, 'getHostResults');
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: responder });
    await harness.startWorkers();
    const hunt = await finished(huntId);
    expect(hunt.status).toBe('partial');
    expect(hunt.progress).toEqual({ done: 15, failed: 1, total: 16 });
    expect(readBack).not.toHaveBeenCalled();
    const { stored, fromRedis, report } = await reportAgainstRedis(huntId);
    expect(stored).toBe(fromRedis);
    expect(report.hosts.map((host) => host.host)).toEqual(hosts);
    expect(report.findings.filter((finding) => !finding.benign).map((finding) => finding.host).sort()).toEqual(hosts.filter((_, index) => index % 3 === 0));
    expect(harness.workerHandlers[0]!.keptRecordedChars).toBe(0);
  });

  it('reads the hosts back from Redis when another process recorded some of them', async () => {
    await start();
    const hosts = mixedFleet(16);
    const readBack = vi.spyOn(harness.store.hunts, 'getHostResults');
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: responder });
    // Another worker process got to three hosts first (its outcomes, recorded once each).
    const elsewhere = ['ws0000', 'ws0001', 'ws0007'];
    await harness.store.hunts.recordHostResults(
      huntId,
      elsewhere.map((host) => ({
        result: hostResult(host, { outcome: 'failed', error: { code: ErrorCode.Timeout, message: 'timed out elsewhere' } }),
        findings: [],
      })),
    );
    await harness.startWorkers();
    const hunt = await finished(huntId);
    expect(hunt.progress).toEqual({ done: 12, failed: 4, total: 16 });
    expect(readBack).toHaveBeenCalledTimes(1);
    const { stored, fromRedis, report } = await reportAgainstRedis(huntId);
    expect(stored).toBe(fromRedis);
    expect(report.hosts.map((host) => host.host)).toEqual(hosts);
    expect(report.hosts.find((host) => host.host === 'ws0007')?.errors).toEqual([{ namespace: '(host)', code: ErrorCode.Timeout, message: 'timed out elsewhere' }]);
    expect(harness.workerHandlers[0]!.keptRecordedChars).toBe(0);
  });

  it('reads the hosts back from Redis when it keeps nothing, to the same report', async () => {
    await start({ recordedHuntsMaxChars: 0 });
    const hosts = mixedFleet(16);
    const readBack = vi.spyOn(harness.store.hunts, 'getHostResults');
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: responder });
    await harness.startWorkers();
    await finished(huntId);
    expect(readBack).toHaveBeenCalledTimes(1);
    const { stored, fromRedis } = await reportAgainstRedis(huntId);
    expect(stored).toBe(fromRedis);
  });

  it('reads the hosts back when Redis holds another record of a host it kept (a hunt id used again after a data loss)', async () => {
    await start();
    const hosts = mixedFleet(8);
    const readBack = vi.spyOn(harness.store.hunts, 'getHostResults');
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: responder });
    // The finalize is held back (its job id is taken by a later run of it) until Redis's record changed.
    await harness.queues.hunt.add('finalize', { huntId }, { jobId: jobIds.finalize(huntId), delay: 1_000 });
    await harness.startWorkers();
    await eventually(async () => {
      const hunt = await harness.engine.getHunt(huntId);
      return hunt?.progress.done === 7 && hunt.progress.failed === 1;
    }, 'every host recorded');
    const other = hostResult('ws0000', { outcome: 'failed', error: { code: ErrorCode.HostUnreachable, message: 'the other hunt' } });
    await harness.context.redis.hset(harness.store.keys.huntHosts(huntId), 'ws0000', JSON.stringify(other));
    await finished(huntId);
    expect(readBack).toHaveBeenCalledTimes(1);
    const { stored, fromRedis, report } = await reportAgainstRedis(huntId);
    expect(stored).toBe(fromRedis);
    expect(report.hosts[0]?.errors).toEqual([{ namespace: '(host)', code: ErrorCode.HostUnreachable, message: 'the other hunt' }]);
  });

  it('lets go of the hosts it kept when the finalize fails for good', async () => {
    await start({
      analysis: (real) => ({
        analyze: (collection, options) => real.analyze(collection, options),
        trace: (findings, collection) => real.trace(findings, collection),
        hostSummary: (collection) => real.hostSummary(collection),
        buildReport: () => {
          throw new CodedError(ErrorCode.Internal, 'the report cannot be built');
        },
      }),
    });
    const hosts = mixedFleet(8);
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: responder });
    await harness.startWorkers();
    const hunt = await finished(huntId);
    expect(hunt.status).toBe('failed');
    expect(harness.workerHandlers[0]!.keptRecordedChars).toBe(0);
  });

  it('reports every host exactly once when two worker processes share the hunt', async () => {
    await start({ settings: { hostJobsAtOnce: 4 }, hostsAtOncePerJob: 2, concurrency: { hunt: 2 } });
    const hosts = mixedFleet(24, 10);
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: responder });
    await Promise.all([harness.startWorkers(), harness.startWorkers()]);
    const hunt = await finished(huntId);
    expect(hunt.progress).toEqual({ done: 23, failed: 1, total: 24 });
    const { stored, fromRedis, report } = await reportAgainstRedis(huntId);
    expect(stored).toBe(fromRedis);
    expect(report.hosts.map((host) => host.host)).toEqual(hosts);
    expect(harness.fleet.calls.filter((call) => call.op === 'collect' && call.host !== 'ws0005').length).toBe(23);
  });

  it('stores a fleet report of over a thousand hosts and findings from their recorded texts, byte for byte', async () => {
    await start({ settings: { hostJobsAtOnce: 4 }, hostsAtOncePerJob: 50, concurrency: { hunt: 200 } });
    const hosts = fleetOf(1100);
    for (const host of hosts) harness.fleet.addHost(host, maliciousSubscription());
    const readBack = vi.spyOn(harness.store.hunts, 'getHostResults');
    const { huntId } = await harness.engine.startHunt({ hosts, playbook: 'wmi-subscription-sweep', requestedBy: responder });
    await harness.startWorkers();
    const hunt = await finished(huntId, 60_000);
    expect(hunt.progress).toEqual({ done: 1100, failed: 0, total: 1100 });
    expect(readBack).not.toHaveBeenCalled();
    const { stored, fromRedis, report } = await reportAgainstRedis(huntId);
    expect(report.findings).toHaveLength(1100);
    expect(stored).toBe(fromRedis);
  }, 90_000);
});
