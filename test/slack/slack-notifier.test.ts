import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { ApprovalRequest, HuntSummary } from '../../src/app/engine.js';
import { createSlackNotifier } from '../../src/slack/slack-app.js';
import type { SlackNotifier } from '../../src/slack/slack-notifier.js';
import { FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { REDIS_URL, requireService, tcpReachable } from '../support/services.js';
import { approvalFor } from './engine-double.js';
import { finding, report } from './fixtures.js';
import { FAKE_BOT_TOKEN } from './harness.js';

const redisAvailable = requireService('redis', await tcpReachable(REDIS_URL), `no Redis at ${REDIS_URL}`);

let sequence = 0;
function hunt(overrides: Partial<HuntSummary> = {}): HuntSummary {
  sequence += 1;
  return {
    huntId: `TH-WMI-20261129-${String(500 + sequence)}`,
    status: 'running',
    playbook: 'wmi-persistence-hunt',
    hosts: ['host01', 'host02', 'host03', 'host04'],
    progress: { done: 0, failed: 0, total: 4 },
    createdAt: '2026-11-29T12:00:00.000Z',
    finishedAt: null,
    requestedBy: { kind: 'slack', id: 'UREQUESTER' },
    findingsByRisk: { Low: 0, Medium: 0, High: 0, Critical: 0 },
    slack: { channel: 'CSOC0001' },
    errors: [],
    ...overrides,
  };
}

function blocksOf(call: { body: Record<string, unknown> }): string {
  return JSON.stringify(call.body.blocks);
}

describe.skipIf(!redisAvailable)('the Slack notifier (fake Slack, real Redis)', () => {
  let fake: FakeSlack;
  let redis: Redis;
  let notifier: SlackNotifier;
  const prefix = `test-slack-notifier-${randomUUID()}`;

  beforeAll(async () => {
    fake = await startFakeSlack();
    redis = new Redis(REDIS_URL);
    notifier = createSlackNotifier({
      redis,
      config: { botToken: FAKE_BOT_TOKEN, apiUrl: fake.apiUrl, keyPrefix: prefix, alertChannel: 'CALERTS01' },
      clientOptions: { retryConfig: { retries: 5, minTimeout: 20, maxTimeout: 100, factor: 2 } },
    });
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await fake.stop();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('posts one message per hunt and updates it with progress', async () => {
    const base = hunt();
    await notifier.huntUpdated(base);
    await notifier.huntUpdated({ ...base, progress: { done: 1, failed: 0, total: 4 } });
    await notifier.huntUpdated({ ...base, progress: { done: 2, failed: 1, total: 4 } });
    expect(fake.callsOf('chat.postMessage')).toHaveLength(1);
    const updates = fake.callsOf('chat.update');
    expect(updates).toHaveLength(2);
    const messageTs = await redis.hget(`${prefix}:slack:msg:hunt:${base.huntId}`, 'ts');
    expect(updates.map((update) => update.body.ts)).toEqual([messageTs, messageTs]);
    expect(blocksOf(updates[1]!)).toContain('hosts done 3/4, 1 failed');
    expect(fake.calls.every((call) => call.token === FAKE_BOT_TOKEN)).toBe(true);
  });

  it('posts once when many progress updates race, and ends on the most advanced one', async () => {
    const base = hunt();
    await Promise.all([0, 1, 2, 3, 4].map((done) => notifier.huntUpdated({ ...base, progress: { done, failed: 0, total: 4 } })));
    expect(fake.callsOf('chat.postMessage')).toHaveLength(1);
    const shown = [fake.callsOf('chat.postMessage')[0]!, ...fake.callsOf('chat.update')].map(blocksOf);
    expect(shown.at(-1)).toContain('hosts done 4/4');
  });

  it('never lets an older snapshot overwrite the summary', async () => {
    const base = hunt();
    await notifier.huntUpdated(base);
    await notifier.huntCompleted({ ...base, status: 'completed', progress: { done: 4, failed: 0, total: 4 } }, report(base.huntId));
    const updatesBefore = fake.callsOf('chat.update').length;
    await notifier.huntUpdated({ ...base, progress: { done: 3, failed: 0, total: 4 } });
    expect(fake.callsOf('chat.update')).toHaveLength(updatesBefore);
  });

  it('puts the summary in the hunt message and the Markdown and JSON reports in its thread, once', async () => {
    const base = hunt();
    await notifier.huntUpdated(base);
    const messageTs = await redis.hget(`${prefix}:slack:msg:hunt:${base.huntId}`, 'ts');
    const done = { ...base, status: 'completed' as const, progress: { done: 4, failed: 0, total: 4 } };
    await notifier.huntCompleted(done, report(base.huntId));
    await notifier.huntCompleted(done, report(base.huntId));
    const summary = fake.callsOf('chat.update')[0]!;
    expect(blocksOf(summary)).toContain('UpdaterFilter');
    expect(blocksOf(summary)).toContain('Critical');
    expect(fake.callsOf('files.getUploadURLExternal').map((call) => call.body.filename)).toEqual([`${base.huntId}.md`, `${base.huntId}.json`]);
    const completion = fake.callsOf('files.completeUploadExternal');
    expect(completion).toHaveLength(1);
    expect(completion[0]!.body).toMatchObject({ channel_id: 'CSOC0001', thread_ts: messageTs });
    expect(fake.uploads.map((upload) => upload.content).join('\n')).toContain(`# WMI persistence hunt ${base.huntId}`);
    expect(JSON.parse(fake.uploads.find((upload) => upload.content.trimStart().startsWith('{'))!.content)).toMatchObject({ huntId: base.huntId });
  });

  it('posts alert-started hunts to the alert channel with the alert', async () => {
    await notifier.huntUpdated(hunt({ slack: undefined, trigger: { source: 'sentinel', alertId: 'INC-77', summary: 'WmiPrvSe.exe spawned powershell.exe' } }));
    const post = fake.callsOf('chat.postMessage')[0]!;
    expect(post.body.channel).toBe('CALERTS01');
    expect(blocksOf(post)).toContain('INC-77');
    expect(blocksOf(post)).toContain('WmiPrvSe.exe spawned powershell.exe');
  });

  it('posts nothing for a hunt that has no Slack thread and no alert', async () => {
    await notifier.huntUpdated(hunt({ slack: undefined }));
    expect(fake.calls).toHaveLength(0);
  });

  it('waits out 429s with Retry-After and loses no update', async () => {
    const base = hunt();
    fake.rateLimit('chat.postMessage', 1, 1);
    fake.rateLimit('chat.update', 2, 1);
    await notifier.huntUpdated(base);
    await notifier.huntUpdated({ ...base, progress: { done: 4, failed: 0, total: 4 } });
    expect(fake.callsOf('chat.postMessage')).toHaveLength(2);
    expect(fake.callsOf('chat.update')).toHaveLength(3);
    expect(blocksOf(fake.callsOf('chat.update')[2]!)).toContain('hosts done 4/4');
  }, 20_000);

  it('keeps one approval card, updates it with decisions, and posts the removal result in its thread once', async () => {
    const pending: ApprovalRequest = approvalFor(`AP-${randomUUID()}`, 'TH-WMI-20261129-777', [finding()], { kind: 'slack', id: 'UREQUESTER' }, { channel: 'CSOC0001' });
    await notifier.approvalUpdated(pending);
    const card = fake.callsOf('chat.postMessage')[0]!;
    expect(blocksOf(card)).toContain('wmi.approval.approve');
    const approved: ApprovalRequest = {
      ...pending,
      status: 'approved',
      decisions: [{ actor: { kind: 'slack', id: 'UAPPROVER1' }, decision: 'approve', reason: null, at: '2026-11-29T12:30:00.000Z' }],
    };
    await notifier.approvalUpdated(approved);
    expect(blocksOf(fake.callsOf('chat.update')[0]!)).not.toContain('wmi.approval.approve');
    const target = { kind: 'consumer' as const, namespace: 'root\\subscription', className: 'CommandLineEventConsumer', key: 'UpdaterConsumer', contentHash: 'c'.repeat(64) };
    const completed: ApprovalRequest = {
      ...approved,
      status: 'completed',
      removal: {
        host: 'host01.corp.example',
        backupId: `backup-${'f'.repeat(64)}`,
        backup: { host: 'host01.corp.example', takenAt: '2026-11-29T12:31:00.000Z', objects: [], mof: '', autorecoverEntries: [] },
        results: [{ target, status: 'removed', message: '', currentHash: target.contentHash }],
        autorecoverRemoved: [],
        verified: true,
      },
    };
    await notifier.removalFinished(completed);
    await notifier.removalFinished(completed);
    const cardTs = await redis.hget(`${prefix}:slack:msg:approval:${pending.approvalId}`, 'ts');
    const results = fake.callsOf('chat.postMessage').filter((call) => call.body.thread_ts === cardTs);
    expect(results).toHaveLength(1);
    expect(blocksOf(results[0]!)).toContain(`backup-${'f'.repeat(64)}`);
    expect(fake.callsOf('chat.postMessage')).toHaveLength(2);
  });

  it('posts the message again when someone deleted it, and updates the new one afterwards', async () => {
    const base = hunt();
    await notifier.huntUpdated(base);
    fake.failWith('chat.update', 'message_not_found');
    await notifier.huntUpdated({ ...base, progress: { done: 1, failed: 0, total: 4 } });
    fake.failWith('chat.update', null);
    await notifier.huntUpdated({ ...base, progress: { done: 2, failed: 0, total: 4 } });
    const posts = fake.callsOf('chat.postMessage');
    expect(posts).toHaveLength(2);
    expect(blocksOf(posts[1]!)).toContain('hosts done 1/4');
    const lastUpdate = fake.callsOf('chat.update').at(-1)!;
    expect(lastUpdate.body.ts).toBe(posts[1]!.response!.ts);
    expect(blocksOf(lastUpdate)).toContain('hosts done 2/4');
  });

  it('does not mark a one-time post done when it failed, so a retry posts it', async () => {
    const base = hunt();
    await notifier.huntUpdated(base);
    fake.failWith('files.completeUploadExternal', 'internal_error');
    const done = { ...base, status: 'completed' as const, progress: { done: 4, failed: 0, total: 4 } };
    await expect(notifier.huntCompleted(done, report(base.huntId))).rejects.toThrow();
    fake.failWith('files.completeUploadExternal', null);
    await notifier.huntCompleted(done, report(base.huntId));
    expect(fake.callsOf('files.completeUploadExternal').length).toBe(2);
  });
});
