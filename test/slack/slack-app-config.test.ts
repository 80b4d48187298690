import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ErrorCode } from '../../src/errors.js';
import { createSlackApp, validateSlackAppConfig, type SlackAppConfig } from '../../src/slack/slack-app.js';
import { slackRequestId } from '../../src/slack/replay-guard.js';
import { FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { REDIS_URL, requireService, tcpReachable } from '../support/services.js';
import { EngineDouble } from './engine-double.js';
import { FAKE_BOT_TOKEN } from './harness.js';

const redisAvailable = requireService('redis', await tcpReachable(REDIS_URL), `no Redis at ${REDIS_URL}`);

const base: SlackAppConfig = { botToken: FAKE_BOT_TOKEN, signingSecret: 'a-signing-secret-of-32-characters', keyPrefix: 'wmi-hunter' };

function configProblems(config: SlackAppConfig, mode: 'http' | 'socket'): string[] {
  try {
    validateSlackAppConfig(config, mode);
    return [];
  } catch (error) {
    expect(error).toMatchObject({ code: ErrorCode.Config });
    return (error as { details: { problems: string[] } }).details.problems;
  }
}

describe('Slack app configuration', () => {
  it('accepts a complete HTTP and a complete Socket Mode configuration', () => {
    expect(configProblems(base, 'http')).toEqual([]);
    expect(configProblems({ ...base, signingSecret: undefined, appToken: 'xapp-1-test-not-real' }, 'socket')).toEqual([]);
  });

  it('names every problem without echoing a secret', () => {
    const problems = configProblems(
      { botToken: 'xoxp-user-token-secret', keyPrefix: 'bad prefix', apiUrl: 'http://127.0.0.1:1/api', hostGroups: { dc: ['dc01', 'dc02;calc'], '../x': ['h'] } },
      'http',
    );
    expect(problems.join('\n')).not.toContain('xoxp-user-token-secret');
    expect(problems).toEqual([
      'botToken must be a bot token (xoxb-...)',
      'HTTP mode needs the signing secret',
      'apiUrl must be an http(s) URL ending in /',
      'keyPrefix: letters, digits, _ . : -',
      'host group dc: invalid host name',
      'host group name "../x" is invalid',
    ]);
    expect(configProblems({ ...base, appToken: 'xoxb-wrong-kind' }, 'socket')).toEqual(['Socket Mode needs an app-level token (xapp-...)']);
  });
});

describe('Slack request ids for the replay guard', () => {
  it('uses the ids Slack assigns to each delivery', () => {
    expect(slackRequestId({ command: '/wmi', team_id: 'T1', trigger_id: 'tr1' })).toBe('command:T1:tr1');
    expect(slackRequestId({ type: 'event_callback', team_id: 'T1', event_id: 'Ev1' })).toBe('event:T1:Ev1');
    expect(slackRequestId({ type: 'block_actions', team: { id: 'T1' }, trigger_id: 'tr2', user: { id: 'U1' }, actions: [{ action_ts: '1.2' }] })).toBe('action:T1:tr2:1.2:U1');
    expect(slackRequestId({ type: 'view_submission', team: { id: 'T1' }, trigger_id: 'tr3', view: { id: 'V1' } })).toBe('view:T1:tr3:V1');
  });

  it('does not deduplicate payloads that carry no id', () => {
    expect(slackRequestId({ command: '/wmi', team_id: 'T1' })).toBeNull();
    expect(slackRequestId({ type: 'event_callback' })).toBeNull();
    expect(slackRequestId(null)).toBeNull();
    expect(slackRequestId({ type: 'block_actions', trigger_id: 'x'.repeat(500) })).toBeNull();
  });
});

describe.skipIf(!redisAvailable)('Socket Mode', () => {
  let fake: FakeSlack;
  let redis: Redis;

  beforeAll(async () => {
    fake = await startFakeSlack();
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await fake.stop();
    await redis.quit();
  });

  it('uses the bot token for the Web API and the app token to open the socket, with no HTTP endpoint', async () => {
    const slack = await createSlackApp({
      engine: new EngineDouble(),
      mode: 'socket',
      redis,
      config: { botToken: FAKE_BOT_TOKEN, appToken: 'xapp-1-test-not-a-real-token', apiUrl: fake.apiUrl, keyPrefix: `test-slack-${randomUUID()}` },
      clientOptions: { retryConfig: { retries: 0 } },
    });
    expect(slack.router).toBeNull();
    expect(slack.expressApp).toBeNull();
    expect(fake.callsOf('auth.test')[0]?.token).toBe(FAKE_BOT_TOKEN);
    await expect(slack.start()).rejects.toThrow(/invalid_auth/);
    expect(fake.callsOf('apps.connections.open')[0]?.token).toBe('xapp-1-test-not-a-real-token');
  });
});
