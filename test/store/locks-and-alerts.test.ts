import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../../src/store/store.js';
import { redisAvailable, redisTestContext, type RedisTestContext } from '../app/redis-harness.js';

describe.skipIf(!redisAvailable)('host locks and alert guard', () => {
  let context: RedisTestContext;
  let store: Store;
  beforeEach(async () => {
    context = await redisTestContext();
    store = createStore(context.redis, { prefix: context.prefix, evidenceDir: context.evidenceDir });
  });
  afterEach(async () => context.cleanup());

  it('lets one owner hold a host (case-insensitively) and only that owner release it', async () => {
    expect(await store.hostLocks.acquire('HOST01', 'job-1', 10_000)).toBe(true);
    expect(await store.hostLocks.acquire('host01', 'job-2', 10_000)).toBe(false);
    expect(await store.hostLocks.release('host01', 'job-2')).toBe(false);
    expect(await store.hostLocks.holder('host01')).toBe('job-1');
    expect(await store.hostLocks.release('host01', 'job-1')).toBe(true);
    expect(await store.hostLocks.acquire('host01', 'job-2', 10_000)).toBe(true);
  });

  it('accepts an alert id once per source', async () => {
    expect(await store.alerts.firstSighting('splunk', 'sid-1', 60)).toBe(true);
    expect(await store.alerts.firstSighting('splunk', 'sid-1', 60)).toBe(false);
    expect(await store.alerts.firstSighting('elastic', 'sid-1', 60)).toBe(true);
  });

  it('gives a host one alert-started hunt per window and none when the window is zero', async () => {
    expect(await store.alerts.claimHostWindow('Host01', 'TH-WMI-20261129-001', 60)).toBeNull();
    expect(await store.alerts.claimHostWindow('host01', 'TH-WMI-20261129-002', 60)).toBe('TH-WMI-20261129-001');
    expect(await store.alerts.claimHostWindow('host02', 'TH-WMI-20261129-003', 0)).toBeNull();
    expect(await store.alerts.claimHostWindow('host02', 'TH-WMI-20261129-004', 0)).toBeNull();
  });
});
