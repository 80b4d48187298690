import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { ApprovalRequest } from '../../src/app/engine.js';
import { ACTION_APPROVE, ACTION_DENY } from '../../src/slack/approval-blocks.js';
import { createHttpApp } from '../../src/http/http-app.js';
import { createSlackApp, createSlackNotifier } from '../../src/slack/slack-app.js';
import { TEST_SIGNING_SECRET, buildSignedRequest, postSigned, slashCommandBody } from '../support/slack-signing.js';
import { engineHarness, eventually, type EngineHarness } from '../app/engine-harness.js';
import { maliciousSubscription } from '../app/fake-host.js';
import { redisAvailable } from '../app/redis-harness.js';
import { FakeSlack, startFakeSlack, type RecordedCall } from '../support/fake-slack.js';
import { REDIS_URL } from '../support/services.js';
import { FAKE_BOT_TOKEN, FAST_RETRIES, type SlackHarness, buttonClick, denySubmission, startSlackHarness } from './harness.js';

/**
 * Whole scenarios through the real path: signed requests into the real Bolt app, the real engine,
 * BullMQ queues and workers on Redis, a fake Windows fleet (HostExecutor double), and the Web API
 * answered by the fake Slack server.
 */
const REQUESTER = 'UREQUESTER';
const APPROVER = 'UAPPROVER1';
const OUTSIDER = 'UOUTSIDER1';
const CHANNEL = 'CSOC0001';
const ALERT_CHANNEL = 'CALERTS01';

interface Scenario {
  fake: FakeSlack;
  engine: EngineHarness;
  slack: SlackHarness;
  redis: Redis;
  prefix: string;
  setClock(iso: string): void;
}

let open: Scenario | null = null;

async function scenario(options: { clock?: string } = {}): Promise<Scenario> {
  const fake = await startFakeSlack();
  fake.usergroupHandles.set('wmi-approvers', 'SWMIAPPR');
  fake.usergroupMembers.set('SWMIAPPR', [APPROVER, REQUESTER]);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  const prefix = `test-slack-scenario-${randomUUID()}`;
  const notifier = createSlackNotifier({ redis, config: { botToken: FAKE_BOT_TOKEN, apiUrl: fake.apiUrl, keyPrefix: prefix, alertChannel: ALERT_CHANNEL },
    clientOptions: FAST_RETRIES,
  });
  let clock = options.clock ? Date.parse(options.clock) : null;
  const engine = await engineHarness({ notifications: notifier, ...(clock === null ? {} : { now: () => new Date(clock!) }) });
  engine.fleet.addHost('victim01', maliciousSubscription());
  await engine.startWorkers();
  const slack = await startSlackHarness(engine.engine, {}, { fake, prefix });
  open = {
    fake,
    engine,
    slack,
    redis,
    prefix,
    setClock(iso) {
      clock = Date.parse(iso);
    },
  };
  return open;
}

afterEach(async () => {
  if (!open) return;
  const { fake, engine, slack, redis } = open;
  open = null;
  await fake.settle();
  await slack.close();
  await engine.close();
  await fake.stop();
  await redis.quit();
});

function blocks(call: RecordedCall): string {
  return JSON.stringify(call.body.blocks ?? '');
}

/** Runs a Slack hunt of victim01 to completion; returns the hunt id and its approval request. */
async function huntFromSlack(s: Scenario): Promise<{ huntId: string; approval: ApprovalRequest; card: RecordedCall }> {
  const response = await s.slack.command('hunt victim01 --lookback 48h', { userId: REQUESTER, channelId: CHANNEL });
  expect(response.status).toBe(200);
  const huntId = /TH-WMI-\d{8}-\d{3,}/.exec(String((response.json as { text?: string }).text))?.[0];
  expect(huntId).toBeDefined();
  const approvals = await eventually(async () => {
    const hunt = await s.engine.engine.getHunt(huntId!);
    if (!hunt?.finishedAt) return null;
    const list = await s.engine.engine.listApprovals(huntId!);
    return list.length > 0 ? list : null;
  }, 'the hunt and its approval request');
  const approval = approvals[0]!;
  const card = await s.fake.waitFor(
    () => s.fake.callsOf('chat.postMessage').find((call) => blocks(call).includes(approval.approvalId) && call.response?.ts),
    15_000,
    'the approval card',
  );
  return { huntId: huntId!, approval, card };
}

function click(s: Scenario, actionId: string, approval: ApprovalRequest, card: RecordedCall, userId: string) {
  return s.slack.interaction(buttonClick({ actionId, value: approval.approvalId, userId, channel: CHANNEL, messageTs: String(card.response!.ts) }));
}

async function cardUpdates(s: Scenario, card: RecordedCall): Promise<RecordedCall[]> {
  return s.fake.callsOf('chat.update').filter((call) => call.body.ts === card.response!.ts);
}

describe.skipIf(!redisAvailable)('Slack scenarios on the real engine, queues and Redis', () => {
  it('hunt from a slash command: queued ack, one message updated with progress, the summary, the report files in its thread', async () => {
    const s = await scenario();
    s.engine.fleet.addHost('clean02');
    let releaseClean02!: () => void;
    const clean02Held = new Promise<void>((resolve) => (releaseClean02 = resolve));
    const collect = s.engine.fleet.collect.bind(s.engine.fleet);
    s.engine.fleet.collect = async (request, signal) => {
      if (request.host === 'clean02') await clean02Held;
      return collect(request, signal);
    };

    const response = await s.slack.command('hunt victim01,clean02 --lookback 48h', { userId: REQUESTER, channelId: CHANNEL });
    expect((response.json as { response_type?: string }).response_type).toBe('ephemeral');
    const huntId = /TH-WMI-\d{8}-\d{3,}/.exec(String((response.json as { text?: string }).text))?.[0];
    expect(String((response.json as { text?: string }).text)).toContain(`hunt *${huntId}* queued for 2 hosts`);

    const post = await s.fake.waitFor(() => s.fake.callsOf('chat.postMessage').find((call) => blocks(call).includes(`WMI hunt ${huntId}`) && call.response?.ts), 15_000, 'the hunt message');
    expect(post.body.channel).toBe(CHANNEL);
    const huntTs = post.response!.ts;
    const shows = (text: string) => (call: RecordedCall) => call.body.ts === huntTs && blocks(call).includes(text);
    await s.fake.waitFor(() => s.fake.callsOf('chat.update').find(shows('hosts done 1/2')), 15_000, 'progress 1/2');
    releaseClean02();
    const summary = await s.fake.waitFor(
      () => s.fake.callsOf('chat.update').find((call) => shows('hosts done 2/2')(call) && blocks(call).includes('Critical') && blocks(call).includes('Updater')),
      15_000,
      'the summary',
    );
    expect(blocks(summary)).toContain('origin:');
    expect(s.fake.callsOf('chat.postMessage').filter((call) => blocks(call).includes(`WMI hunt ${huntId}`))).toHaveLength(1);

    const completion = await s.fake.waitFor(() => s.fake.callsOf('files.completeUploadExternal')[0], 15_000, 'the report files');
    expect(completion.body).toMatchObject({ channel_id: CHANNEL, thread_ts: huntTs });
    expect(s.fake.callsOf('files.getUploadURLExternal').map((call) => call.body.filename).sort()).toEqual([`${huntId}.json`, `${huntId}.md`]);
    const json = s.fake.uploads.map((upload) => upload.content).find((content) => content.trimStart().startsWith('{'))!;
    expect(JSON.parse(json)).toMatchObject({ huntId, findings: expect.arrayContaining([expect.objectContaining({ riskLevel: 'Critical', host: 'victim01' })]) });
    const markdown = s.fake.uploads.map((upload) => upload.content).find((content) => content.startsWith('#'))!;
    expect(markdown).toContain(`# WMI persistence hunt ${huntId}`);
    const hunt = await s.engine.engine.getHunt(huntId!);
    expect(hunt).toMatchObject({ requestedBy: { kind: 'slack', id: REQUESTER, from: CHANNEL }, slack: { channel: CHANNEL } });
  });

  it('loses no message under 429: rate-limited posts and updates arrive after Retry-After', async () => {
    const s = await scenario();
    s.fake.rateLimit('chat.postMessage', 2, 1);
    s.fake.rateLimit('chat.update', 2, 1);
    const { huntId, card } = await huntFromSlack(s);
    const huntTs = s.fake.callsOf('chat.postMessage').find((call) => blocks(call).includes(`WMI hunt ${huntId}`) && call.response?.ts)!.response!.ts;
    await s.fake.waitFor(
      () => s.fake.callsOf('chat.update').find((call) => call.body.ts === huntTs && call.response?.ok === true && blocks(call).includes('Critical')),
      20_000,
      'the summary after the 429s',
    );
    await s.fake.waitFor(() => s.fake.callsOf('files.completeUploadExternal')[0], 20_000, 'the report files');
    expect(card.response?.ok).toBe(true);
    expect(s.fake.calls.filter((call) => call.response?.error === 'ratelimited')).toHaveLength(4);
  }, 40_000);

  it('remove, the card, approval by an approver, the removal job, and its result in the card thread with the backup id', async () => {
    const s = await scenario();
    const { huntId, approval, card } = await huntFromSlack(s);
    expect(blocks(card)).toContain(ACTION_APPROVE);
    for (const object of approval.findings.flatMap((finding) => finding.objects)) expect(blocks(card)).toContain(object.contentHash);

    await s.slack.command(`remove ${huntId}`, { userId: REQUESTER, channelId: CHANNEL });
    const reply = await s.fake.waitFor(() => s.fake.callsOf('response_url').find((call) => String(call.body.text).includes('approval requested')), 10_000, 'remove reply');
    expect(String(reply.body.text)).toContain(approval.approvalId);
    expect(s.fake.callsOf('chat.postMessage').filter((call) => blocks(call).includes(ACTION_APPROVE))).toHaveLength(1);

    await Promise.all([click(s, ACTION_APPROVE, approval, card, APPROVER), click(s, ACTION_APPROVE, approval, card, APPROVER)]);
    const completed = await eventually(async () => {
      const current = await s.engine.engine.getApproval(approval.approvalId);
      return current?.status === 'completed' ? current : null;
    }, 'the removal');
    expect(s.engine.fleet.objects('victim01')).toEqual([]);
    const backupId = completed.removal!.backupId;
    const result = await s.fake.waitFor(
      () => s.fake.callsOf('chat.postMessage').find((call) => call.body.thread_ts === card.response!.ts && blocks(call).includes(backupId)),
      15_000,
      'the removal result in the thread',
    );
    expect(blocks(result)).toContain('3/3 removed');
    expect(blocks(result)).toContain('verified by a re-scan');
    const updates = await cardUpdates(s, card);
    expect(updates.some((call) => blocks(call).includes('Approved') && !blocks(call).includes(ACTION_APPROVE))).toBe(true);
    const trail = await s.engine.store.audit.list();
    const decisions = trail.filter((entry) => entry.action === 'approval.decided');
    expect(decisions).toHaveLength(1);
    expect(decisions[0]!.actor).toMatchObject({ kind: 'slack', id: APPROVER, from: CHANNEL });
    expect(completed.decisions).toHaveLength(1);
    expect(trail.filter((entry) => entry.action === 'removal.started')).toHaveLength(1);
  });

  it('posts an alert-started hunt to the alert channel with the alert that started it', async () => {
    const s = await scenario();
    const { huntId } = await s.engine.engine.startHunt({
      hosts: ['victim01'],
      requestedBy: { kind: 'siem', id: 'sentinel' },
      trigger: { source: 'sentinel', alertId: 'INC-4711', summary: 'Sysmon 20: CommandLineEventConsumer registered on victim01', rule: 'WMI persistence' },
    });
    const post = await s.fake.waitFor(() => s.fake.callsOf('chat.postMessage').find((call) => blocks(call).includes(`WMI hunt ${huntId}`)), 15_000, 'the alert hunt message');
    expect(post.body.channel).toBe(ALERT_CHANNEL);
    expect(blocks(post)).toContain('INC-4711');
    expect(blocks(post)).toContain('CommandLineEventConsumer registered on victim01');
    await s.fake.waitFor(
      () => s.fake.callsOf('chat.update').find((call) => call.body.ts === post.response!.ts && blocks(call).includes('Critical') && blocks(call).includes('INC-4711')),
      15_000,
      'the alert hunt summary',
    );
  });

  it('refuses a non-approver: nothing changes, a private explanation, the refusal audited', async () => {
    const s = await scenario();
    const { approval, card } = await huntFromSlack(s);
    await click(s, ACTION_APPROVE, approval, card, OUTSIDER);
    const explanation = await s.fake.waitFor(() => s.fake.callsOf('chat.postEphemeral').find((call) => call.body.user === OUTSIDER), 10_000, 'explanation');
    expect(explanation.body.channel).toBe(CHANNEL);
    expect(String(explanation.body.text)).toContain('not an approver');
    expect((await s.engine.engine.getApproval(approval.approvalId))?.status).toBe('pending');
    expect(await s.engine.queues.remove.count()).toBe(0);
    expect(s.engine.fleet.objects('victim01')).toHaveLength(3);
    const refused = (await s.engine.store.audit.list()).find((entry) => entry.action === 'approval.refused');
    expect(refused?.actor).toMatchObject({ kind: 'slack', id: OUTSIDER });
  });

  it('refuses the requester under the two-person rule even though they are in the approver group', async () => {
    const s = await scenario();
    const { approval, card } = await huntFromSlack(s);
    expect(approval.requestedBy).toMatchObject({ id: REQUESTER });
    await click(s, ACTION_APPROVE, approval, card, REQUESTER);
    const explanation = await s.fake.waitFor(() => s.fake.callsOf('chat.postEphemeral').find((call) => call.body.user === REQUESTER && String(call.body.text).includes('two-person')), 10_000, 'explanation');
    expect(String(explanation.body.text)).toContain('E_FORBIDDEN');
    expect((await s.engine.engine.getApproval(approval.approvalId))?.status).toBe('pending');
    expect(s.engine.fleet.objects('victim01')).toHaveLength(3);
  });

  it('after expiry a click changes nothing, and the card says the request expired and counts as a deny', async () => {
    const s = await scenario({ clock: '2026-11-29T10:00:00.000Z' });
    const { approval, card } = await huntFromSlack(s);
    s.setClock('2026-11-29T15:00:00.000Z');
    await click(s, ACTION_APPROVE, approval, card, APPROVER);
    const explanation = await s.fake.waitFor(() => s.fake.callsOf('chat.postEphemeral').find((call) => call.body.user === APPROVER), 10_000, 'explanation');
    expect(String(explanation.body.text)).toContain('expired');
    const expiredCard = await s.fake.waitFor(
      () => s.fake.callsOf('chat.update').find((call) => call.body.ts === card.response!.ts && blocks(call).includes('Expired')),
      10_000,
      'the expired card',
    );
    expect(blocks(expiredCard)).toContain('counts as a deny');
    expect(blocks(expiredCard)).not.toContain(ACTION_APPROVE);
    expect(await s.engine.queues.remove.count()).toBe(0);
    expect(s.engine.fleet.objects('victim01')).toHaveLength(3);
  });

  it('deny with a reason from the modal: the card shows it and nothing is removed', async () => {
    const s = await scenario();
    const { approval, card } = await huntFromSlack(s);
    await click(s, ACTION_DENY, approval, card, APPROVER);
    const modal = await s.fake.waitFor(() => s.fake.callsOf('views.open')[0], 10_000, 'the deny modal');
    const metadata = (modal.body.view as { private_metadata: string }).private_metadata;
    await s.slack.interaction(denySubmission({ userId: APPROVER, privateMetadata: metadata, reason: 'signed vendor agent, ticket CHG-1234' }));
    const deniedCard = await s.fake.waitFor(
      () => s.fake.callsOf('chat.update').find((call) => call.body.ts === card.response!.ts && blocks(call).includes('CHG-1234')),
      10_000,
      'the denied card',
    );
    expect(blocks(deniedCard)).toContain('Denied');
    expect((await s.engine.engine.getApproval(approval.approvalId))?.status).toBe('denied');
    expect(s.engine.fleet.objects('victim01')).toHaveLength(3);
    const decided = (await s.engine.store.audit.list()).find((entry) => entry.action === 'approval.decided');
    expect(decided).toMatchObject({ actor: { id: APPROVER }, details: { decision: 'deny', reason: 'signed vendor agent, ticket CHG-1234' } });
  });

  it('serves Slack on the service HTTP app, next to the API: signed requests in, forged ones refused', async () => {
    const s = await scenario();
    const slackApp = await createSlackApp({
      engine: s.engine.engine,
      mode: 'http',
      redis: s.redis,
      config: { botToken: FAKE_BOT_TOKEN, signingSecret: TEST_SIGNING_SECRET, apiUrl: s.fake.apiUrl, keyPrefix: s.prefix },
      clientOptions: FAST_RETRIES,
    });
    const http = createHttpApp({
      engine: s.engine.engine,
      playbooks: s.engine.playbooks,
      alertGuard: s.engine.store.alerts,
      settings: { bodyLimit: '256kb', trustProxy: false, apiTokens: [], webhookSecrets: {}, maxSkewSeconds: 300, alertDedupTtlSeconds: 3600, defaultPlaybook: 'wmi-persistence-hunt' },
      readiness: { redis: async () => true, workers: async () => 1 },
      extraRouters: [{ path: '/', router: slackApp.router! }],
    });
    const server = await new Promise<Server>((resolve) => {
      const listening = http.listen(0, '127.0.0.1', () => resolve(listening));
    });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const forged = await postSigned(`${base}/slack/events`, buildSignedRequest(slashCommandBody({ text: 'hunt victim01' }), { secret: 'someone-elses-signing-secret' }));
      expect(forged.status).toBe(401);
      const signed = await postSigned(`${base}/slack/events`, buildSignedRequest(slashCommandBody({ text: 'hunt victim01', userId: REQUESTER, channelId: CHANNEL, responseUrl: s.fake.responseUrl('http-app') })));
      expect(signed.status).toBe(200);
      const huntId = /TH-WMI-\d{8}-\d{3,}/.exec(String((signed.json as { text?: string }).text))?.[0];
      expect(huntId).toBeDefined();
      expect((await s.engine.engine.getHunt(huntId!))?.requestedBy).toMatchObject({ id: REQUESTER });
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
