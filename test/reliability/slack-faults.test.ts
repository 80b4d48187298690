import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HuntSummary } from '../../src/app/engine.js';
import { createSlackNotifier } from '../../src/slack/slack-app.js';
import type { SlackNotifier } from '../../src/slack/slack-notifier.js';
import { FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { REDIS_URL, requireService, tcpReachable } from '../support/services.js';
import { FAKE_BOT_TOKEN } from '../slack/harness.js';
import { recordFigures } from './support/figures.js';

/**
 * Slack answering 429 or 500 for a while: the real WebClient against a fake Slack that misbehaves,
 * the real message ledger in Redis. Every message must arrive once the fake recovers, none lost and
 * none doubled, also when the notify job runs again (as a retried job does).
 */
const redisAvailable = requireService('redis', await tcpReachable(REDIS_URL), `no Redis at ${REDIS_URL}`);
const FAULTS = 3;

function hunt(huntId: string): HuntSummary {
  return {
    huntId,
    status: 'running',
    playbook: 'wmi-persistence-hunt',
    hosts: ['host01'],
    progress: { done: 0, failed: 0, total: 1 },
    createdAt: '2026-11-29T12:00:00.000Z',
    finishedAt: null,
    requestedBy: { kind: 'slack', id: 'UREQUESTER' },
    findingsByRisk: { Low: 0, Medium: 0, High: 0, Critical: 0 },
    slack: { channel: 'CSOC0001' },
    errors: [],
  };
}

describe.skipIf(!redisAvailable)('Slack answering 429 and 500 for a while', () => {
  let fake: FakeSlack;
  let redis: Redis;
  let notifier: SlackNotifier;
  const prefix = `test-rel-slack-${randomUUID()}`;
  const posted = (huntId: string) => fake.callsOf('chat.postMessage').filter((call) => call.response?.ok === true && JSON.stringify(call.body).includes(huntId));

  beforeAll(async () => {
    fake = await startFakeSlack();
    redis = new Redis(REDIS_URL);
    notifier = createSlackNotifier({
      redis,
      config: { botToken: FAKE_BOT_TOKEN, apiUrl: fake.apiUrl, keyPrefix: prefix, alertChannel: 'CALERTS01' },
      clientOptions: { retryConfig: { retries: FAULTS + 1, minTimeout: 10, maxTimeout: 50, factor: 2 } },
    });
  });
  afterAll(async () => {
    await fake.stop();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it.each([
    ['500', (method: string) => fake.serverError(method, FAULTS)],
    ['429', (method: string) => fake.rateLimit(method, FAULTS, 1)],
  ])('delivers a message once after %s answers, and a retried notify job updates it instead of posting again', async (_, misbehave) => {
    fake.reset();
    const huntId = `TH-WMI-20261129-${String(Math.floor(Math.random() * 900) + 100)}`;
    misbehave('chat.postMessage');
    await notifier.huntUpdated(hunt(huntId));
    expect(posted(huntId)).toHaveLength(1);
    expect(fake.callsOf('chat.postMessage').filter((call) => call.response?.ok !== true)).toHaveLength(FAULTS);

    misbehave('chat.update');
    await notifier.huntUpdated({ ...hunt(huntId), progress: { done: 1, failed: 0, total: 1 } });
    await notifier.huntUpdated({ ...hunt(huntId), progress: { done: 1, failed: 0, total: 1 } });
    expect(posted(huntId)).toHaveLength(1);
    expect(fake.callsOf('chat.update').filter((call) => call.response?.ok === true).length).toBeGreaterThanOrEqual(1);
    recordFigures(`slack-faults`, { faultsPerMethod: FAULTS, messagesPosted: posted(huntId).length });
  }, 30_000);

  it('lets the notify job fail (to be retried) while Slack is down longer than the client retries, then delivers once', async () => {
    fake.reset();
    const huntId = 'TH-WMI-20261129-999';
    fake.serverError('chat.postMessage', 50);
    await expect(notifier.huntUpdated(hunt(huntId))).rejects.toThrow();
    expect(posted(huntId)).toHaveLength(0);
    fake.reset();
    await notifier.huntUpdated(hunt(huntId));
    await notifier.huntUpdated(hunt(huntId));
    expect(posted(huntId)).toHaveLength(1);
  }, 30_000);
});
