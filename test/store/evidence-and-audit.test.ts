import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../../src/store/store.js';
import { ErrorCode } from '../../src/errors.js';
import { sha256Hex } from '../../src/domain/canonical-json.js';
import { redisAvailable, redisTestContext, type RedisTestContext } from '../app/redis-harness.js';

describe.skipIf(!redisAvailable)('evidence store and audit log', () => {
  let context: RedisTestContext;
  let store: Store;
  beforeEach(async () => {
    context = await redisTestContext();
    store = createStore(context.redis, { prefix: context.prefix, evidenceDir: context.evidenceDir });
  });
  afterEach(async () => context.cleanup());

  it('stores evidence under its SHA-256 and reads back the same document', async () => {
    const document = { host: 'host01', objects: [1, 2, 3] };
    const stored = await store.evidence.putJson('backup', document);
    expect(stored.sha256).toBe(sha256Hex(JSON.stringify(document)));
    expect(stored.id).toBe(`backup-${stored.sha256}`);
    expect(await store.evidence.getJson(stored.id)).toEqual({ document, sha256: stored.sha256 });
    expect(await store.evidence.putJson('backup', document)).toEqual(stored);
    expect(await readdir(join(context.evidenceDir, 'backup'))).toEqual([`${stored.sha256}.json`]);
  });

  it('refuses evidence whose bytes no longer match their hash', async () => {
    const stored = await store.evidence.putJson('report', { findings: [] });
    await writeFile(join(context.evidenceDir, 'report', `${stored.sha256}.json`), '{"findings":["edited"]}');
    await expect(store.evidence.getJson(stored.id)).rejects.toMatchObject({ code: ErrorCode.ContentChanged });
  });

  it('refuses ids that are not evidence ids, so no path can be smuggled in', async () => {
    await expect(store.evidence.getJson('../../etc/passwd')).rejects.toMatchObject({ code: ErrorCode.BadInput });
    await expect(store.evidence.getJson(`backup-${'0'.repeat(64)}`)).rejects.toMatchObject({ code: ErrorCode.NotFound });
  });

  it('appends audit entries in order with who, what, when, from where and hashes', async () => {
    const actor = { kind: 'api' as const, id: 'alice', from: '10.0.0.5' };
    await store.audit.append({ actor, action: 'hunt.started', target: 'TH-WMI-20261129-001', huntId: 'TH-WMI-20261129-001' });
    await store.audit.append({ actor, action: 'evidence.stored', target: 'report-x', huntId: 'TH-WMI-20261129-001', hashes: { report: 'c'.repeat(64) } });
    await store.audit.append({ actor, action: 'hunt.started', target: 'TH-WMI-20261129-002', huntId: 'TH-WMI-20261129-002' });
    const entries = await store.audit.list({ huntId: 'TH-WMI-20261129-001' });
    expect(entries.map((entry) => entry.action)).toEqual(['hunt.started', 'evidence.stored']);
    expect(entries[0]).toMatchObject({ actor, target: 'TH-WMI-20261129-001' });
    expect(entries[1]?.hashes).toEqual({ report: 'c'.repeat(64) });
    expect(Date.parse(entries[0]!.at)).not.toBeNaN();
    expect((await store.audit.list()).length).toBe(3);
  });
});
