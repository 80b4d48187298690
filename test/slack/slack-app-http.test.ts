import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HuntRequest } from '../../src/app/engine.js';
import { CodedError, ErrorCode } from '../../src/errors.js';
import { ACTION_APPROVE, ACTION_DENY } from '../../src/slack/approval-blocks.js';
import { REDIS_URL, requireService, tcpReachable } from '../support/services.js';
import { buildSignedRequest, postSigned, signSlackBody, slashCommandBody } from '../support/slack-signing.js';
import { EngineDouble } from './engine-double.js';
import { report } from './fixtures.js';
import { type SlackHarness, buttonClick, denySubmission, startSlackHarness } from './harness.js';

const redisAvailable = requireService('redis', await tcpReachable(REDIS_URL), `no Redis at ${REDIS_URL}`);

function ackText(json: unknown): string {
  return String((json as { text?: unknown } | null)?.text ?? '');
}

describe.skipIf(!redisAvailable)('the Bolt app over HTTP with real request signing', () => {
  let engine: EngineDouble;
  let harness: SlackHarness;

  beforeAll(async () => {
    engine = new EngineDouble();
    harness = await startSlackHarness(engine, { hostGroups: { 'dc-servers': ['dc01.corp.example', 'dc02.corp.example'] } });
  });
  afterAll(async () => {
    await harness?.close();
  });
  afterEach(async () => {
    await harness.fake.settle();
    engine.calls.length = 0;
    engine.decideWith = new EngineDouble().decideWith;
    harness.fake.reset();
  });

  describe('request verification', () => {
    it('refuses a request signed with another secret, and nothing is queued', async () => {
      const response = await postSigned(harness.url, buildSignedRequest(slashCommandBody({ text: 'hunt host01' }), { secret: 'not-the-signing-secret-at-all' }));
      expect(response.status).toBe(401);
      expect(engine.callsOf('startHunt')).toHaveLength(0);
    });

    it('refuses a correctly signed request older than five minutes', async () => {
      const stale = Math.floor(Date.now() / 1000) - 6 * 60;
      const response = await postSigned(harness.url, buildSignedRequest(slashCommandBody({ text: 'hunt host01' }), { timestamp: stale }));
      expect(response.status).toBe(401);
      expect(engine.callsOf('startHunt')).toHaveLength(0);
    });

    it('refuses a body changed after signing', async () => {
      const signed = buildSignedRequest(slashCommandBody({ text: 'hunt host01' }));
      const response = await postSigned(harness.url, { ...signed, body: signed.body.replace('host01', 'host02') });
      expect(response.status).toBe(401);
      expect(engine.callsOf('startHunt')).toHaveLength(0);
    });

    it('refuses a request without signature headers', async () => {
      const response = await fetch(harness.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: slashCommandBody({ text: 'hunt host01' }) });
      expect(response.status).toBe(401);
      expect(engine.callsOf('startHunt')).toHaveLength(0);
    });

    it('acts once on a replayed identical signed request', async () => {
      const signed = buildSignedRequest(slashCommandBody({ text: 'hunt host01', triggerId: 'trigger-replayed-1' }));
      const refusedBefore = engine.replaysRefused;
      const first = await postSigned(harness.url, signed);
      const replay = await postSigned(harness.url, signed);
      expect(first.status).toBe(200);
      expect(ackText(first.json)).toContain('queued');
      expect(replay.status).toBe(200);
      expect(ackText(replay.json)).toBe('');
      expect(engine.callsOf('startHunt')).toHaveLength(1);
      expect(engine.replaysRefused - refusedBefore).toBe(1);
    });

    it('signs like Slack: the example from the request-signing documentation', () => {
      const body =
        'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA' +
        '&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
        '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
      expect(signSlackBody(body, { secret: '8f742231b10e8888abcd99yyyzzz85a5', timestamp: 1_531_420_618 }).signature).toBe(
        'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
      );
    });
  });

  describe('/wmi hunt', () => {
    it('queues the hunt before acknowledging and says so, privately, with the hunt id', async () => {
      const response = await harness.command('hunt host01.corp.example --lookback 72h', { userId: 'UREQUESTER', channelId: 'CSOC0001' });
      expect(response.status).toBe(200);
      const [request] = engine.callsOf('startHunt') as HuntRequest[];
      expect(request).toMatchObject({
        hosts: ['host01.corp.example'],
        lookbackHours: 72,
        requestedBy: { kind: 'slack', id: 'UREQUESTER', from: 'CSOC0001' },
        slack: { channel: 'CSOC0001' },
        idempotencyKey: expect.stringMatching(/^slack-TFAKE01-trigger-/),
      });
      const [huntId] = [...engine.hunts.keys()].slice(-1);
      expect(ackText(response.json)).toContain(`hunt *${huntId}* queued`);
      expect((response.json as { response_type?: string }).response_type).toBe('ephemeral');
    });

    it('expands a configured host group', async () => {
      await harness.command('hunt group:dc-servers');
      expect((engine.callsOf('startHunt')[0] as HuntRequest).hosts).toEqual(['dc01.corp.example', 'dc02.corp.example']);
    });

    it('answers a malformed command privately with its usage and queues nothing', async () => {
      const response = await harness.command('hunt host01;calc.exe');
      expect(response.status).toBe(200);
      expect((response.json as { response_type?: string }).response_type).toBe('ephemeral');
      expect(ackText(response.json)).toContain('E_INVALID_HOST');
      expect(JSON.stringify(response.json)).toContain('/wmi hunt &lt;host');
      expect(engine.callsOf('startHunt')).toHaveLength(0);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(harness.fake.callsOf('chat.postMessage')).toHaveLength(0);
    });

    it('answers an unknown group privately and queues nothing', async () => {
      const response = await harness.command('hunt group:nope');
      expect(ackText(response.json)).toContain('no host group');
      expect(engine.callsOf('startHunt')).toHaveLength(0);
    });

    it('says honestly that the hunt was not queued when the engine refuses', async () => {
      engine.startHuntError = new CodedError(ErrorCode.Internal, 'Redis is unavailable');
      try {
        const response = await harness.command('hunt host01');
        expect(ackText(response.json)).toContain('*not* queued');
        expect(ackText(response.json)).toContain('E_INTERNAL');
      } finally {
        engine.startHuntError = null;
      }
    });

    it('keeps answering through 429s: the private answer to a mention arrives after Retry-After', async () => {
      harness.fake.rateLimit('chat.postEphemeral', 2, 1);
      await harness.event({ type: 'app_mention', user: 'UREQUESTER', text: '<@UBOTFAKE01> hunt host11', ts: '1700000700.000100', channel: 'CSOC0001' });
      await harness.fake.waitFor(() => harness.fake.callsOf('chat.postEphemeral').length === 3, 15_000, 'three postEphemeral attempts');
      const attempts = harness.fake.callsOf('chat.postEphemeral');
      expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(950);
      expect(String(attempts[2]!.body.text)).toContain('queued');
    });
  });

  describe('the other commands', () => {
    it('status without an id shows the last hunt started in the channel, privately', async () => {
      await harness.command('hunt host07', { channelId: 'CSTATUS01' });
      const huntId = [...engine.hunts.keys()].pop()!;
      const remembered = `${harness.prefix}:slack:last-hunt:CSTATUS01`;
      for (let tries = 0; (await harness.redis.get(remembered)) !== huntId; tries += 1) {
        if (tries > 200) throw new Error('the hunt was never remembered for the channel');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      engine.calls.length = 0;
      await harness.command('status', { channelId: 'CSTATUS01' });
      const reply = await harness.fake.waitFor(() => harness.fake.callsOf('response_url')[0], 5_000, 'status reply');
      expect(reply.body.response_type).toBe('ephemeral');
      expect(JSON.stringify(reply.body.blocks)).toContain(huntId);
      expect(engine.callsOf('getHunt')).toEqual([huntId]);
    });

    it('report uploads the file with filesUploadV2 into the channel', async () => {
      engine.reports.set('TH-WMI-20261129-900', report('TH-WMI-20261129-900'));
      await harness.command('report TH-WMI-20261129-900 --format json', { channelId: 'CSOC0001' });
      const complete = await harness.fake.waitFor(() => harness.fake.callsOf('files.completeUploadExternal')[0], 5_000, 'upload completion');
      expect(complete.body.channel_id).toBe('CSOC0001');
      expect(harness.fake.callsOf('files.getUploadURLExternal')[0]!.body.filename).toBe('TH-WMI-20261129-900.json');
      expect(JSON.parse(harness.fake.uploads[0]!.content)).toMatchObject({ huntId: 'TH-WMI-20261129-900', reportVersion: 1 });
    });

    it('report of an unknown hunt answers privately', async () => {
      await harness.command('report TH-WMI-20261129-404');
      const reply = await harness.fake.waitFor(() => harness.fake.callsOf('response_url')[0], 5_000, 'error reply');
      expect(String(reply.body.text)).toContain('E_NOT_FOUND');
      expect(harness.fake.callsOf('files.getUploadURLExternal')).toHaveLength(0);
    });

    it('remove asks the engine for approval in this channel and tells the requester privately', async () => {
      engine.reports.set('TH-WMI-20261129-901', report('TH-WMI-20261129-901'));
      await harness.command('remove TH-WMI-20261129-901 f-1a2b3c4d', { userId: 'UREQUESTER', channelId: 'CSOC0001' });
      const reply = await harness.fake.waitFor(() => harness.fake.callsOf('response_url')[0], 5_000, 'requester reply');
      expect(String(reply.body.text)).toContain('approval requested');
      expect(reply.body.response_type).toBe('ephemeral');
      expect(engine.callsOf('requestRemoval')[0]).toMatchObject({
        huntId: 'TH-WMI-20261129-901',
        findingIds: ['f-1a2b3c4d'],
        requestedBy: { kind: 'slack', id: 'UREQUESTER' },
        slack: { channel: 'CSOC0001' },
      });
    });

    it('restore queues the restore and answers privately', async () => {
      await harness.command('restore BK-20261129-0001');
      expect(engine.callsOf('restore')[0]).toMatchObject({ backupId: 'BK-20261129-0001', requestedBy: { kind: 'slack' } });
      const reply = await harness.fake.waitFor(() => harness.fake.callsOf('response_url')[0], 5_000, 'restore reply');
      expect(String(reply.body.text)).toContain('restore-BK-20261129-0001');
    });

    it('works as an app mention, answering in the thread', async () => {
      const response = await harness.event({ type: 'app_mention', user: 'UREQUESTER', text: '<@UBOTFAKE01> hunt host09', ts: '1700000500.000100', channel: 'CSOC0001', event_ts: '1700000500.000100' });
      expect(response.status).toBe(200);
      await harness.fake.waitFor(() => engine.callsOf('startHunt')[0], 5_000, 'hunt started');
      expect((engine.callsOf('startHunt')[0] as HuntRequest).slack).toEqual({ channel: 'CSOC0001', threadTs: '1700000500.000100' });
      const ephemeral = await harness.fake.waitFor(() => harness.fake.callsOf('chat.postEphemeral')[0], 5_000, 'private ack');
      expect(ephemeral.body).toMatchObject({ user: 'UREQUESTER', channel: 'CSOC0001', thread_ts: '1700000500.000100' });
      expect(String(ephemeral.body.text)).toContain('queued');
    });

    it('answers a malformed mention privately with usage', async () => {
      await harness.event({ type: 'app_mention', user: 'UREQUESTER', text: '<@UBOTFAKE01> obliterate host01', ts: '1700000600.000100', channel: 'CSOC0001' });
      const ephemeral = await harness.fake.waitFor(() => harness.fake.callsOf('chat.postEphemeral')[0], 5_000, 'usage');
      expect(String(ephemeral.body.text)).toContain('unknown command');
      expect(engine.callsOf('startHunt')).toHaveLength(0);
    });
  });

  describe('approval buttons', () => {
    async function pendingApproval(): Promise<string> {
      const huntId = `TH-WMI-20261129-${String(100 + engine.approvals.size)}`;
      engine.reports.set(huntId, report(huntId));
      const [approval] = await engine.requestRemoval({ huntId, findingIds: [], requestedBy: { kind: 'slack', id: 'UREQUESTER' }, slack: { channel: 'CSOC0001' } });
      engine.calls.length = 0;
      return approval!.approvalId;
    }

    it('passes the clicker and their approver groups to the engine and confirms privately', async () => {
      harness.fake.usergroupMembers.set('SSECOPS', ['UGROUPMEMBER', 'UOTHER']);
      const approvalId = await pendingApproval();
      await harness.interaction(buttonClick({ actionId: ACTION_APPROVE, value: approvalId, userId: 'UGROUPMEMBER' }));
      await harness.fake.waitFor(() => engine.callsOf('decide')[0], 5_000, 'decide');
      expect(engine.callsOf('decide')[0]).toMatchObject({ approvalId, decision: 'approve', actor: { kind: 'slack', id: 'UGROUPMEMBER' }, actorGroups: ['SSECOPS'] });
      const confirmation = await harness.fake.waitFor(() => harness.fake.callsOf('chat.postEphemeral')[0], 5_000, 'confirmation');
      expect(confirmation.body.user).toBe('UGROUPMEMBER');
      expect(String(confirmation.body.text)).toContain('recorded');
    });

    it('gives a refused clicker a private explanation', async () => {
      const approvalId = await pendingApproval();
      engine.decideWith = () => {
        throw new CodedError(ErrorCode.Forbidden, 'you are not an approver for this removal');
      };
      await harness.interaction(buttonClick({ actionId: ACTION_APPROVE, value: approvalId, userId: 'UOUTSIDER1' }));
      const explanation = await harness.fake.waitFor(() => harness.fake.callsOf('chat.postEphemeral')[0], 5_000, 'explanation');
      expect(explanation.body).toMatchObject({ user: 'UOUTSIDER1', channel: 'CSOC0001' });
      expect(String(explanation.body.text)).toContain('not an approver');
      expect(String(explanation.body.text)).toContain('E_FORBIDDEN');
      expect(engine.callsOf('decide')).toHaveLength(1);
      expect(harness.fake.callsOf('chat.update')).toHaveLength(0);
    });

    it('ignores a replayed click (same trigger and action)', async () => {
      const approvalId = await pendingApproval();
      const click = buttonClick({ actionId: ACTION_APPROVE, value: approvalId, userId: 'UAPPROVER1', triggerId: 'trigger-click-replay' });
      await harness.interaction(click);
      await harness.interaction(click);
      await harness.fake.waitFor(() => harness.fake.callsOf('chat.postEphemeral')[0], 5_000, 'confirmation');
      expect(engine.callsOf('decide')).toHaveLength(1);
    });

    it('refuses a button that names no valid approval without calling the engine', async () => {
      await harness.interaction(buttonClick({ actionId: ACTION_APPROVE, value: '../../x', userId: 'UAPPROVER1' }));
      const explanation = await harness.fake.waitFor(() => harness.fake.callsOf('chat.postEphemeral')[0], 5_000, 'explanation');
      expect(String(explanation.body.text)).toContain('E_BAD_INPUT');
      expect(engine.callsOf('decide')).toHaveLength(0);
    });

    it('Deny opens a modal for the reason; submitting it records the deny with that reason', async () => {
      const approvalId = await pendingApproval();
      await harness.interaction(buttonClick({ actionId: ACTION_DENY, value: approvalId, userId: 'UAPPROVER1', triggerId: 'trigger-deny-1' }));
      const open = await harness.fake.waitFor(() => harness.fake.callsOf('views.open')[0], 5_000, 'modal');
      expect(open.body.trigger_id).toBe('trigger-deny-1');
      expect(engine.callsOf('decide')).toHaveLength(0);
      const view = open.body.view as { private_metadata: string };
      await harness.interaction(denySubmission({ userId: 'UAPPROVER1', privateMetadata: view.private_metadata, reason: 'our backup agent' }));
      await harness.fake.waitFor(() => engine.callsOf('decide')[0], 5_000, 'deny decision');
      expect(engine.callsOf('decide')[0]).toMatchObject({ approvalId, decision: 'deny', reason: 'our backup agent', actor: { id: 'UAPPROVER1' } });
    });

    it('refuses a deny submission with forged metadata without calling the engine', async () => {
      await harness.interaction(denySubmission({ userId: 'UAPPROVER1', privateMetadata: '{"approvalId":"x y"}', reason: 'because' }));
      const explanation = await harness.fake.waitFor(() => harness.fake.callsOf('chat.postMessage')[0], 5_000, 'explanation by DM');
      expect(explanation.body.channel).toBe('UAPPROVER1');
      expect(engine.callsOf('decide')).toHaveLength(0);
    });
  });
});
