import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { createStore } from '../../src/store/store.js';
import { redisAvailable, redisTestContext, type RedisTestContext } from '../app/redis-harness.js';

const system = { kind: 'system' as const, id: 'wmi-hunter' };

/** What a removal retried after its worker died relies on (see test/reliability/kill-trials.test.ts). */
describe.skipIf(!redisAvailable)('retry-safe audit entries and host locks', () => {
  let context: RedisTestContext;
  let store: Store;
  beforeEach(async () => {
    context = await redisTestContext();
    store = createStore(context.redis, { prefix: context.prefix, evidenceDir: context.evidenceDir });
  });
  afterEach(async () => context.cleanup());

  it('appends an entry once per once-key, however many attempts write it', async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, () => store.audit.appendOnce('removal-finished:AP-1', { actor: system, action: 'removal.completed', target: 'AP-1' })));
    expect(ids.filter((id) => id !== null)).toHaveLength(1);
    await store.audit.appendOnce('removal-finished:AP-2', { actor: system, action: 'removal.completed', target: 'AP-2' });
    expect((await store.audit.list()).map((entry) => entry.target)).toEqual(['AP-1', 'AP-2']);
  });

  it('lets the job that holds a host lock take it again (its retry after a crash), and no other job', async () => {
    expect(await store.hostLocks.acquire('Host01', 'remove-AP-1', 60_000)).toBe(true);
    expect(await store.hostLocks.acquire('host01', 'remove-AP-1', 60_000)).toBe(true);
    expect(await store.hostLocks.acquire('host01', 'remove-AP-2', 60_000)).toBe(false);
    expect(await store.hostLocks.release('host01', 'remove-AP-1')).toBe(true);
    expect(await store.hostLocks.acquire('host01', 'remove-AP-2', 60_000)).toBe(true);
  });

  it('keeps the first backup recorded for an approval and finds the approval of a backup', async () => {
    expect(await store.approvals.claimBackup('AP-1', 'backup-a')).toBe('backup-a');
    expect(await store.approvals.claimBackup('AP-1', 'backup-b')).toBe('backup-a');
    expect(await store.approvals.backupOf('AP-1')).toBe('backup-a');
    expect(await store.approvals.approvalOfBackup('backup-a')).toBe('AP-1');
    expect(await store.approvals.approvalOfBackup('backup-b')).toBeNull();
  });
});
