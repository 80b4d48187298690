import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../../src/store/store.js';
import type { HostResult, HuntMeta } from '../../src/store/hunt-store.js';
import type { Finding } from '../../src/domain/finding.js';
import { ErrorCode } from '../../src/errors.js';
import { redisAvailable, redisTestContext, type RedisTestContext } from '../app/redis-harness.js';
import { hostResult } from '../support/host-result.js';

function meta(huntId: string, hosts: string[]): HuntMeta {
  return {
    huntId,
    playbook: 'wmi-persistence-hunt',
    playbookSha256: 'a'.repeat(64),
    params: {},
    hosts,
    lookbackHours: 24,
    maxEvents: 1000,
    createdAt: '2026-11-29T10:00:00.000Z',
    requestedBy: { kind: 'api', id: 'tester' },
  };
}

function result(host: string, outcome: HostResult['outcome']): HostResult {
  return hostResult(host, { outcome, error: outcome === 'failed' ? { code: 'E_ACCESS_DENIED', message: 'denied' } : null });
}

function finding(host: string, riskLevel: Finding['riskLevel'], benign = false): Finding {
  return {
    id: `f-${host}-${riskLevel}`,
    kind: 'subscription',
    host,
    namespace: 'root\\subscription',
    filterName: 'f',
    filterQuery: 'SELECT * FROM __InstanceModificationEvent',
    consumerName: 'c',
    consumerType: 'CommandLineEventConsumer',
    consumerAction: 'cmd.exe',
    binding: 'f -> c',
    created: null,
    userContext: null,
    riskLevel,
    reasons: [],
    contentHash: 'b'.repeat(64),
    origin: null,
    benign,
    source: 'collection',
    deleted: null,
    objects: [],
  };
}

describe.skipIf(!redisAvailable)('HuntStore', () => {
  let context: RedisTestContext;
  let store: Store;
  beforeEach(async () => {
    context = await redisTestContext();
    store = createStore(context.redis, { prefix: context.prefix, evidenceDir: context.evidenceDir });
  });
  afterEach(async () => context.cleanup());

  it('hands out distinct, gap-free hunt ids per UTC day even when asked concurrently', async () => {
    const day = new Date('2026-11-29T23:59:00Z');
    const ids = await Promise.all(Array.from({ length: 25 }, () => store.hunts.nextHuntId(day)));
    expect(new Set(ids).size).toBe(25);
    expect([...ids].sort()).toEqual(Array.from({ length: 25 }, (_, index) => `TH-WMI-20261129-${String(index + 1).padStart(3, '0')}`));
    expect(await store.hunts.nextHuntId(new Date('2026-11-30T00:00:01Z'))).toBe('TH-WMI-20261130-001');
  });

  it('counts each host once, however often its result is recorded, and says when the last is in', async () => {
    await store.hunts.create(meta('TH-WMI-20261129-001', ['a', 'b']));
    const first = await store.hunts.recordHostResult('TH-WMI-20261129-001', result('a', 'done'), [finding('a', 'High'), finding('a', 'Low', true)]);
    expect(first).toEqual({ recorded: true, done: 1, failed: 0, total: 2, complete: false });
    const replay = await store.hunts.recordHostResult('TH-WMI-20261129-001', result('a', 'failed'), []);
    expect(replay).toEqual({ recorded: false, done: 1, failed: 0, total: 2, complete: false });
    const last = await store.hunts.recordHostResult('TH-WMI-20261129-001', result('b', 'failed'), []);
    expect(last.complete).toBe(true);

    const summary = await store.hunts.getSummary('TH-WMI-20261129-001');
    expect(summary?.status).toBe('running');
    expect(summary?.progress).toEqual({ done: 1, failed: 1, total: 2 });
    expect(summary?.findingsByRisk).toEqual({ Low: 0, Medium: 0, High: 1, Critical: 0 });
    expect(summary?.errors).toEqual([{ host: 'b', code: 'E_ACCESS_DENIED', message: 'denied' }]);
    expect(await store.hunts.getFindings('TH-WMI-20261129-001')).toHaveLength(2);
  });

  it('records a batch of hosts in one write, each once, whichever batch or retry recorded it first', async () => {
    await store.hunts.create(meta('TH-WMI-20261129-003', ['a', 'b', 'c']));
    const first = await store.hunts.recordHostResults('TH-WMI-20261129-003', [
      { result: result('a', 'done'), findings: [finding('a', 'High'), finding('a', 'Critical'), finding('a', 'High')] },
      { result: result('b', 'failed'), findings: [] },
    ]);
    expect(first).toEqual({ recorded: [true, true], done: 1, failed: 1, total: 3, complete: false });
    const again = await store.hunts.recordHostResults('TH-WMI-20261129-003', [
      { result: result('b', 'done'), findings: [finding('b', 'High')] },
      { result: result('c', 'done'), findings: [] },
    ]);
    expect(again).toEqual({ recorded: [false, true], done: 2, failed: 1, total: 3, complete: true });
    expect(await store.hunts.recordHostResults('TH-WMI-20261129-003', [])).toEqual({ recorded: [], done: 2, failed: 1, total: 3, complete: true });
    expect([...(await store.hunts.recordedHosts('TH-WMI-20261129-003', ['a', 'c', 'z']))].sort()).toEqual(['a', 'c']);

    const summary = await store.hunts.getSummary('TH-WMI-20261129-003');
    expect(summary?.findingsByRisk).toEqual({ Low: 0, Medium: 0, High: 2, Critical: 1 });
    expect(summary?.errors).toEqual([{ host: 'b', code: 'E_ACCESS_DENIED', message: 'denied' }]);
    expect((await store.hunts.getHostResults('TH-WMI-20261129-003')).find((entry) => entry.host === 'b')?.outcome).toBe('failed');
  });

  it('refuses to record a host of a hunt that does not exist', async () => {
    await expect(store.hunts.recordHostResult('TH-WMI-20261129-404', result('a', 'done'), [])).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
  });

  it('never creates the same hunt twice and finishes it once', async () => {
    await store.hunts.create(meta('TH-WMI-20261129-002', ['a']));
    await expect(store.hunts.create(meta('TH-WMI-20261129-002', ['z']))).rejects.toMatchObject({ code: ErrorCode.Conflict });
    expect((await store.hunts.getMeta('TH-WMI-20261129-002'))?.hosts).toEqual(['a']);
    expect(await store.hunts.finish('TH-WMI-20261129-002', 'completed', '2026-11-29T10:05:00.000Z')).toBe(true);
    expect(await store.hunts.finish('TH-WMI-20261129-002', 'failed', '2026-11-29T10:06:00.000Z')).toBe(false);
    const summary = await store.hunts.getSummary('TH-WMI-20261129-002');
    expect(summary).toMatchObject({ status: 'completed', finishedAt: '2026-11-29T10:05:00.000Z' });
  });

  it('returns the previous baseline of a playbook on a host, null the first time', async () => {
    const swapBaseline = async (playbook: string, host: string, hashes: string[]) => (await store.hunts.swapBaselines(playbook, [{ host, hashes }]))[0];
    expect(await swapBaseline('sweep', 'host01', ['h2', 'h1'])).toBeNull();
    expect(await swapBaseline('sweep', 'host01', [])).toEqual(['h1', 'h2']);
    expect(await swapBaseline('sweep', 'host01', ['h3'])).toEqual([]);
    expect(await swapBaseline('sweep', 'host02', ['h3'])).toBeNull();
  });

  it('swaps a whole fleet of baselines at once, each host answered with its own previous baseline in order', async () => {
    const hosts = Array.from({ length: 2500 }, (_, index) => `fleet${index}`);
    const first = await store.hunts.swapBaselines('sweep', hosts.map((host, index) => ({ host, hashes: index % 3 === 0 ? [] : [`h${index}`, 'shared'] })));
    expect(first).toEqual(hosts.map(() => null));
    const second = await store.hunts.swapBaselines('sweep', hosts.map((host) => ({ host, hashes: ['next'] })));
    expect(second).toEqual(hosts.map((_, index) => (index % 3 === 0 ? [] : [`h${index}`, 'shared'].sort())));
    expect(await store.hunts.swapBaselines('sweep', [{ host: 'fleet7', hashes: [] }])).toEqual([['next']]);
  });

  it('returns the hunt an idempotency key already started', async () => {
    expect(await store.hunts.claimIdempotencyKey('slack:trigger-1', 'TH-WMI-20261129-003', 60)).toBeNull();
    expect(await store.hunts.claimIdempotencyKey('slack:trigger-1', 'TH-WMI-20261129-004', 60)).toBe('TH-WMI-20261129-003');
  });
});
