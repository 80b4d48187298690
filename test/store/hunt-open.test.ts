import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../../src/store/store.js';
import type { HuntMeta } from '../../src/store/hunt-store.js';
import type { AuditEntryInput } from '../../src/store/audit-log.js';
import { ErrorCode } from '../../src/errors.js';
import { redisAvailable, redisTestContext, type RedisTestContext } from '../app/redis-harness.js';

const CREATED_AT = '2026-11-29T10:00:00.000Z';

function meta(hosts: string[]): Omit<HuntMeta, 'huntId'> {
  return {
    playbook: 'wmi-persistence-hunt',
    playbookSha256: 'a'.repeat(64),
    params: { depth: 2, tags: [], nested: { list: [1, 'two'] } },
    hosts,
    lookbackHours: 24,
    maxEvents: 1000,
    createdAt: CREATED_AT,
    requestedBy: { kind: 'slack', id: 'UREQUESTER', displayName: 'requester "quoted"', from: 'CSOC0001' },
    slack: { channel: 'CSOC0001' },
  };
}

function startedEntry(huntId: string): AuditEntryInput {
  return {
    actor: { kind: 'slack', id: 'UREQUESTER' },
    action: 'hunt.started',
    target: huntId,
    huntId,
    hashes: { playbook: 'a'.repeat(64) },
    details: { playbook: 'wmi-persistence-hunt', hosts: 2, lookbackHours: 24, params: {} },
  };
}

describe.skipIf(!redisAvailable)('HuntStore.open (id, idempotency claim, record and audit entry in one script)', () => {
  let context: RedisTestContext;
  let store: Store;
  beforeEach(async () => {
    context = await redisTestContext();
    store = createStore(context.redis, { prefix: context.prefix, evidenceDir: context.evidenceDir, now: () => new Date(CREATED_AT) });
  });
  afterEach(async () => context.cleanup());

  it('writes the same record, index entry and audit entry as nextHuntId + create + append', async () => {
    const hosts = ['host01.corp.example', 'host02.corp.example'];
    const opened = await store.hunts.open({ meta: meta(hosts), auditFields: store.audit.entryFields(startedEntry('')) });
    expect(opened).toEqual({ huntId: 'TH-WMI-20261129-001', deduplicated: false });

    const stepwiseId = await store.hunts.nextHuntId(new Date(CREATED_AT));
    await store.hunts.create({ huntId: stepwiseId, ...meta(hosts) });
    await store.audit.append(startedEntry(stepwiseId));

    expect(await store.hunts.getMeta(opened.huntId)).toEqual({ huntId: opened.huntId, ...meta(hosts) });
    const [openedSummary, stepwiseSummary] = [await store.hunts.getSummary(opened.huntId), await store.hunts.getSummary(stepwiseId)];
    expect(openedSummary).toEqual({ ...stepwiseSummary, huntId: opened.huntId });
    expect(openedSummary).toMatchObject({ status: 'queued', progress: { done: 0, failed: 0, total: 2 } });
    expect(await context.redis.zrange(store.keys.huntIndex(), '0', '-1', 'WITHSCORES')).toEqual([opened.huntId, String(Date.parse(CREATED_AT)), stepwiseId, String(Date.parse(CREATED_AT))]);

    const [openedEntry, stepwiseEntry] = await store.audit.list();
    expect(openedEntry).toMatchObject({ action: 'hunt.started', target: opened.huntId, huntId: opened.huntId });
    expect({ ...openedEntry, id: '', target: '', huntId: '' }).toEqual({ ...stepwiseEntry, id: '', target: '', huntId: '' });
  });

  it('returns the earlier hunt for an idempotency key already claimed, writing no second record or audit entry', async () => {
    const idempotency = { key: 'slack-TFAKE01-trigger-1', ttlSeconds: 60 };
    const first = await store.hunts.open({ meta: meta(['host01']), auditFields: store.audit.entryFields(startedEntry('')), idempotency });
    const again = await store.hunts.open({ meta: meta(['host01']), auditFields: store.audit.entryFields(startedEntry('')), idempotency });
    expect(again).toEqual({ huntId: first.huntId, deduplicated: true });
    expect(await context.redis.zcard(store.keys.huntIndex())).toBe(1);
    expect(await store.audit.list()).toHaveLength(1);
    expect(await context.redis.ttl(store.keys.huntIdempotency(idempotency.key))).toBeGreaterThan(0);
  });

  it('gives concurrent opens distinct ids and records each once', async () => {
    const opened = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        store.hunts.open({ meta: meta([`host${index}`]), auditFields: store.audit.entryFields(startedEntry('')), idempotency: { key: `k${index}`, ttlSeconds: 60 } }),
      ),
    );
    expect(new Set(opened.map((hunt) => hunt.huntId)).size).toBe(20);
    for (const [index, hunt] of opened.entries()) expect((await store.hunts.getMeta(hunt.huntId))?.hosts).toEqual([`host${index}`]);
    expect(await store.audit.list()).toHaveLength(20);
  });

  it('refuses with a conflict when the next id is already a hunt, and claims nothing', async () => {
    await store.hunts.create({ huntId: 'TH-WMI-20261129-001', ...meta(['existing']) });
    const attempt = store.hunts.open({ meta: meta(['host01']), auditFields: store.audit.entryFields(startedEntry('')), idempotency: { key: 'k-conflict', ttlSeconds: 60 } });
    await expect(attempt).rejects.toMatchObject({ code: ErrorCode.Conflict });
    expect((await store.hunts.getMeta('TH-WMI-20261129-001'))?.hosts).toEqual(['existing']);
    expect(await context.redis.exists(store.keys.huntIdempotency('k-conflict'))).toBe(0);
    expect(await store.audit.list()).toHaveLength(0);
  });

  it('claims a once-key with the hunt, and for a key claimed before writes nothing at all and says it was a replay', async () => {
    const once = { key: `${context.prefix}:slack:seen:command:TFAKE01:trigger-1`, ttlSeconds: 900 };
    const first = await store.hunts.open({ meta: meta(['host01']), auditFields: store.audit.entryFields(startedEntry('')), once });
    expect(first).toEqual({ huntId: 'TH-WMI-20261129-001', deduplicated: false });
    const ttl = await context.redis.ttl(once.key);
    expect(ttl).toBeGreaterThan(800);
    expect(ttl).toBeLessThanOrEqual(900);

    const replay = store.hunts.open({ meta: meta(['host01']), auditFields: store.audit.entryFields(startedEntry('')), once, idempotency: { key: 'k-replay', ttlSeconds: 60 } });
    await expect(replay).rejects.toMatchObject({ code: ErrorCode.Conflict, details: { replayed: true } });
    expect(await context.redis.exists(store.keys.huntIdempotency('k-replay'))).toBe(0);
    expect(await context.redis.zcard(store.keys.huntIndex())).toBe(1);
    expect(await store.audit.list()).toHaveLength(1);
    // No sequence number was spent on the replay: the next hunt is 002.
    expect(await store.hunts.open({ meta: meta(['host02']), auditFields: store.audit.entryFields(startedEntry('')) })).toEqual({ huntId: 'TH-WMI-20261129-002', deduplicated: false });
  });

  it('remembers the new hunt id under the caller’s key, and the earlier hunt’s for a duplicate', async () => {
    const remember = { key: `${context.prefix}:slack:last-hunt:CSOC0001`, ttlSeconds: 3_600 };
    const idempotency = { key: 'k-remember', ttlSeconds: 60 };
    const first = await store.hunts.open({ meta: meta(['host01']), auditFields: store.audit.entryFields(startedEntry('')), idempotency, remember });
    expect(await context.redis.get(remember.key)).toBe(first.huntId);
    expect(await context.redis.ttl(remember.key)).toBeGreaterThan(3_500);

    const other = await store.hunts.open({ meta: meta(['host02']), auditFields: store.audit.entryFields(startedEntry('')), remember });
    expect(await context.redis.get(remember.key)).toBe(other.huntId);
    const duplicate = await store.hunts.open({ meta: meta(['host01']), auditFields: store.audit.entryFields(startedEntry('')), idempotency, remember });
    expect(duplicate).toEqual({ huntId: first.huntId, deduplicated: true });
    expect(await context.redis.get(remember.key)).toBe(first.huntId);
  });

  it('refuses a caller’s key without a positive whole TTL before writing anything', async () => {
    for (const ttlSeconds of [0, -5, 1.5, Number.NaN]) {
      const attempt = store.hunts.open({ meta: meta(['host01']), auditFields: store.audit.entryFields(startedEntry('')), remember: { key: `${context.prefix}:remembered`, ttlSeconds } });
      await expect(attempt).rejects.toMatchObject({ code: ErrorCode.BadInput });
    }
    expect(await context.redis.exists(`${context.prefix}:remembered`)).toBe(0);
    expect(await context.redis.zcard(store.keys.huntIndex())).toBe(0);
  });
});
