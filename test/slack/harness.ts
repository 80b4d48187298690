import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Engine } from '../../src/app/engine.js';
import type { UploadIntake } from '../../src/app/upload-intake.js';
import { VIEW_DENY_REASON } from '../../src/slack/approval-blocks.js';
import { createSlackApp, type SlackApp, type SlackAppConfig } from '../../src/slack/slack-app.js';
import { FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { EngineDouble } from './engine-double.js';
import { REDIS_URL } from '../support/services.js';
import { TEST_SIGNING_SECRET, buildSignedRequest, interactionBody, postSigned, slashCommandBody, type SlackResponse } from '../support/slack-signing.js';

/**
 * The real Bolt app over HTTP on loopback, its Web API pointed at the fake Slack, its replay guard
 * and message ledger on the real Redis under a fresh prefix (deleted afterwards).
 */
export const FAKE_BOT_TOKEN = 'xoxb-test-not-a-real-token';
/** Retry-After is still honoured in full; only the extra back-off between retries is short. */
export const FAST_RETRIES = { retryConfig: { retries: 5, minTimeout: 20, maxTimeout: 100, factor: 2 } };

export interface SlackHarness {
  fake: FakeSlack;
  slack: SlackApp;
  redis: Redis;
  prefix: string;
  url: string;
  command(text: string, fields?: { userId?: string; channelId?: string; triggerId?: string }): Promise<SlackResponse>;
  interaction(payload: Record<string, unknown>): Promise<SlackResponse>;
  event(event: Record<string, unknown>, eventId?: string): Promise<SlackResponse>;
  close(): Promise<void>;
}

/**
 * Pass `fake` and `prefix` to share them with a notifier built elsewhere (the caller then stops the fake);
 * `uploads` turns on the file-upload listener.
 */
export async function startSlackHarness(
  engine: Engine,
  config: Partial<SlackAppConfig> = {},
  shared: { fake?: FakeSlack; prefix?: string; uploads?: UploadIntake } = {},
): Promise<SlackHarness> {
  const fake = shared.fake ?? (await startFakeSlack());
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  const prefix = shared.prefix ?? `test-slack-${randomUUID()}`;
  if (engine instanceof EngineDouble) engine.redis = redis;
  const slack = await createSlackApp({
    engine,
    mode: 'http',
    redis,
    config: { botToken: FAKE_BOT_TOKEN, signingSecret: TEST_SIGNING_SECRET, apiUrl: fake.apiUrl, keyPrefix: prefix, ...config },
    clientOptions: FAST_RETRIES,
    ...(shared.uploads ? { uploads: shared.uploads } : {}),
  });
  const server: Server = await new Promise((resolve) => {
    const listening = slack.expressApp!.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  return {
    fake,
    slack,
    redis,
    prefix,
    url,
    command: (text, fields = {}) => postSigned(url, buildSignedRequest(slashCommandBody({ text, responseUrl: fake.responseUrl(randomUUID()), ...fields }))),
    interaction: (payload) => postSigned(url, buildSignedRequest(interactionBody(payload))),
    event: (event, eventId = `Ev${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`) =>
      postSigned(
        url,
        buildSignedRequest(
          JSON.stringify({ token: 'unused', team_id: 'TFAKE01', api_app_id: 'AFAKE01', type: 'event_callback', event_id: eventId, event_time: Math.floor(Date.now() / 1000), event }),
          { contentType: 'application/json' },
        ),
      ),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await slack.stop();
      if (!shared.fake) await fake.stop();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      await redis.quit();
    },
  };
}

/** A block_actions payload as Slack sends it for a button on a message. */
export function buttonClick(input: { actionId: string; value: string; userId: string; channel?: string; messageTs?: string; triggerId?: string }): Record<string, unknown> {
  return {
    type: 'block_actions',
    team: { id: 'TFAKE01', domain: 'fake' },
    user: { id: input.userId, username: input.userId.toLowerCase(), team_id: 'TFAKE01' },
    api_app_id: 'AFAKE01',
    token: 'unused',
    trigger_id: input.triggerId ?? `trigger-${randomUUID()}`,
    container: { type: 'message', message_ts: input.messageTs ?? '1700000000.000001', channel_id: input.channel ?? 'CSOC0001', is_ephemeral: false },
    channel: { id: input.channel ?? 'CSOC0001', name: 'soc' },
    message: { type: 'message', ts: input.messageTs ?? '1700000000.000001', text: 'card' },
    response_url: 'http://127.0.0.1:9/unused',
    actions: [{ type: 'button', action_id: input.actionId, block_id: `approval:${input.value}`, value: input.value, action_ts: `${Date.now() / 1000}` }],
  };
}

/** A view_submission payload for the deny-reason modal. */
export function denySubmission(input: { userId: string; privateMetadata: string; reason: string; triggerId?: string }): Record<string, unknown> {
  return {
    type: 'view_submission',
    team: { id: 'TFAKE01', domain: 'fake' },
    user: { id: input.userId, username: input.userId.toLowerCase(), name: input.userId.toLowerCase(), team_id: 'TFAKE01' },
    api_app_id: 'AFAKE01',
    token: 'unused',
    trigger_id: input.triggerId ?? `trigger-${randomUUID()}`,
    view: {
      id: `V${randomUUID().slice(0, 8).toUpperCase()}`,
      type: 'modal',
      callback_id: VIEW_DENY_REASON,
      private_metadata: input.privateMetadata,
      hash: 'h',
      state: { values: { 'deny-reason': { reason: { type: 'plain_text_input', value: input.reason } } } },
    },
  };
}
