import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSlackApp } from '../../src/slack/slack-app.js';
import { REDIS_URL, requireService, tcpReachable } from '../support/services.js';
import { startFakeSlack } from '../support/fake-slack.js';
import { TEST_SIGNING_SECRET, buildSignedRequest, postSigned, slashCommandBody } from '../support/slack-signing.js';
import { type EngineHarness, engineHarness } from '../app/engine-harness.js';
import { EngineDouble } from './engine-double.js';
import { FAKE_BOT_TOKEN, type SlackHarness, startSlackHarness } from './harness.js';

const redisAvailable = requireService('redis', await tcpReachable(REDIS_URL), `no Redis at ${REDIS_URL}`);

function ackText(json: unknown): string {
  return String((json as { text?: unknown } | null)?.text ?? '');
}

describe.skipIf(!redisAvailable)('/wmi hunt on the thin HTTP path in front of Bolt', () => {
  let engine: EngineDouble;
  let harness: SlackHarness;

  beforeAll(async () => {
    engine = new EngineDouble();
    harness = await startSlackHarness(engine);
  });
  afterAll(async () => {
    await harness?.close();
  });
  afterEach(async () => {
    await harness.fake.settle();
    engine.calls.length = 0;
  });

  it('acknowledges each of a burst of concurrent hunts with its own hunt, starting each once', async () => {
    const hosts = Array.from({ length: 30 }, (_, index) => `burst${index}.corp.example`);
    const responses = await Promise.all(hosts.map((host) => harness.command(`hunt ${host}`)));
    expect(engine.callsOf('startHunt')).toHaveLength(30);
    const huntIds = new Set<string>();
    for (const [index, response] of responses.entries()) {
      expect(response.status).toBe(200);
      const huntId = /hunt \*(TH-WMI-\d{8}-\d+)\* queued for `([^`]+)`/.exec(ackText(response.json));
      expect(huntId?.[2]).toBe(hosts[index]);
      expect(engine.hunts.get(huntId![1]!)?.hosts).toEqual([hosts[index]]);
      huntIds.add(huntId![1]!);
    }
    expect(huntIds.size).toBe(30);
  });

  it('remembers the hunt as the channel’s last, so status without an id finds it', async () => {
    const response = await harness.command('hunt last01.corp.example', { channelId: 'CLAST0001' });
    const huntId = /\*(TH-WMI-\d{8}-\d+)\*/.exec(ackText(response.json))![1]!;
    await harness.command('status', { channelId: 'CLAST0001' });
    const reply = await harness.fake.waitFor(() => harness.fake.callsOf('response_url')[0], 5_000, 'status reply');
    expect(JSON.stringify(reply.body)).toContain(huntId);
  });

  it('hands commands that are not hunts to Bolt with the body it already read', async () => {
    const response = await harness.command('help');
    expect(response.status).toBe(200);
    expect(ackText(response.json)).toContain('/wmi hunt');
    expect(engine.callsOf('startHunt')).toHaveLength(0);
  });

  it('refuses a body over the size limit with 413 and starts nothing', async () => {
    const huge = slashCommandBody({ text: `hunt host01 ${'x'.repeat(5 * 1024 * 1024)}` });
    const response = await postSigned(harness.url, buildSignedRequest(huge));
    expect(response.status).toBe(413);
    expect(engine.callsOf('startHunt')).toHaveLength(0);
  });
});

describe.skipIf(!redisAvailable)('/wmi hunt when Redis cannot be reached', () => {
  it('says in the acknowledgement that the hunt was not queued, and starts nothing', async () => {
    const fake = await startFakeSlack();
    const unreachable = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    unreachable.on('error', () => undefined);
    const engine = new EngineDouble();
    engine.redis = unreachable;
    const slack = await createSlackApp({
      engine,
      mode: 'http',
      redis: unreachable,
      config: { botToken: FAKE_BOT_TOKEN, signingSecret: TEST_SIGNING_SECRET, apiUrl: fake.apiUrl, keyPrefix: `test-slack-${randomUUID()}` },
    });
    const server: Server = await new Promise((resolve) => {
      const listening = slack.expressApp!.listen(0, '127.0.0.1', () => resolve(listening));
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
      const response = await postSigned(url, buildSignedRequest(slashCommandBody({ text: 'hunt host01' })));
      expect(response.status).toBe(200);
      expect(ackText(response.json)).toContain('hunt *not* queued');
      expect(ackText(response.json)).toContain('(E_INTERNAL)');
      expect(engine.hunts.size).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await slack.stop();
      await fake.stop();
      unreachable.disconnect();
    }
  });
});

describe.skipIf(!redisAvailable)('the Slack listener ahead of express', () => {
  let engine: EngineDouble;
  let fake: Awaited<ReturnType<typeof startFakeSlack>>;
  let redis: Redis;
  let slack: Awaited<ReturnType<typeof createSlackApp>>;
  let server: Server;
  let url: string;
  const handedOn: string[] = [];
  const answered: number[] = [];

  beforeAll(async () => {
    engine = new EngineDouble();
    fake = await startFakeSlack();
    redis = new Redis(REDIS_URL);
    engine.redis = redis;
    slack = await createSlackApp({
      engine,
      mode: 'http',
      redis,
      config: { botToken: FAKE_BOT_TOKEN, signingSecret: TEST_SIGNING_SECRET, apiUrl: fake.apiUrl, keyPrefix: `test-slack-${randomUUID()}` },
    });
    const express = slack.expressApp!;
    server = createServer(
      slack.listenerAhead!(
        (request, response) => {
          handedOn.push(`${request.method} ${request.url}`);
          express(request, response);
        },
        (status) => answered.push(status),
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await slack?.stop();
    await fake?.stop();
    await redis?.quit();
  });
  afterEach(async () => {
    await fake.settle();
    engine.calls.length = 0;
    handedOn.length = 0;
    answered.length = 0;
  });

  it('acknowledges a signed hunt itself, without express, and reports the status it answered', async () => {
    const response = await postSigned(url, buildSignedRequest(slashCommandBody({ text: 'hunt ahead01.corp.example' })));
    expect(response.status).toBe(200);
    expect(ackText(response.json)).toMatch(/hunt \*TH-WMI-\d{8}-\d+\* queued for `ahead01\.corp\.example`/);
    expect(engine.callsOf('startHunt')).toHaveLength(1);
    expect(handedOn).toEqual([]);
    expect(answered).toEqual([200]);
  });

  it('hands a command that is not a hunt to express (and Bolt) with its body, and does not count it twice', async () => {
    const response = await postSigned(url, buildSignedRequest(slashCommandBody({ text: 'help' })));
    expect(response.status).toBe(200);
    expect(ackText(response.json)).toContain('/wmi hunt');
    expect(handedOn).toEqual(['POST /slack/events']);
    expect(answered).toEqual([]);
  });

  it('hands every other path and method to express untouched', async () => {
    const response = await fetch(url.replace('/slack/events', '/elsewhere'), { method: 'POST', body: 'x' });
    expect(response.status).toBe(404);
    expect(handedOn).toEqual(['POST /elsewhere']);
    expect(engine.callsOf('startHunt')).toHaveLength(0);
  });

  it('refuses a request stamped in the future, and one with a bad signature, starting nothing', async () => {
    const future = buildSignedRequest(slashCommandBody({ text: 'hunt future01.corp.example' }), { timestamp: Math.floor(Date.now() / 1000) + 600 });
    expect((await postSigned(url, future)).status).toBe(401);
    const forged = buildSignedRequest(slashCommandBody({ text: 'hunt forged01.corp.example' }), { secret: 'not-the-signing-secret-at-all' });
    expect((await postSigned(url, forged)).status).toBe(401);
    expect(engine.callsOf('startHunt')).toHaveLength(0);
    expect(handedOn).toEqual([]);
    expect(answered).toEqual([401, 401]);
  });
});

describe.skipIf(!redisAvailable)('/wmi hunt on the real engine: the replay guard claimed by the hunt’s open script', () => {
  let engine: EngineHarness;
  let harness: SlackHarness;

  beforeAll(async () => {
    engine = await engineHarness();
    harness = await startSlackHarness(engine.engine);
  });
  afterAll(async () => {
    await harness?.close();
    await engine?.close();
  });

  it('refuses a replayed request with an empty acknowledgement: one hunt, one host job, one audit entry', async () => {
    const signed = buildSignedRequest(slashCommandBody({ text: 'hunt replayed01.corp.example', triggerId: `trigger-${randomUUID()}`, channelId: 'CREPLAY01' }));
    const first = await postSigned(harness.url, signed);
    const replay = await postSigned(harness.url, signed);
    const huntId = /hunt \*(TH-WMI-\d{8}-\d+)\* queued/.exec(ackText(first.json))?.[1];
    expect(huntId).toBeDefined();
    expect(replay.status).toBe(200);
    expect(ackText(replay.json)).toBe('');
    expect((await engine.queues.hunt.getWaiting()).filter((job) => (job.data as { host: string }).host === 'replayed01.corp.example')).toHaveLength(1);
    expect((await engine.store.audit.list()).filter((entry) => entry.action === 'hunt.started' && entry.huntId === huntId)).toHaveLength(1);
    expect(await harness.redis.get(`${harness.prefix}:slack:last-hunt:CREPLAY01`)).toBe(huntId);
  });

  it('under a burst of requests each sent twice at once, queues each hunt once and acknowledges each once as queued', async () => {
    const hosts = Array.from({ length: 20 }, (_, index) => `twice${index}.corp.example`);
    const signed = hosts.map((host) => buildSignedRequest(slashCommandBody({ text: `hunt ${host}`, triggerId: `trigger-${randomUUID()}` })));
    const acks = await Promise.all(signed.flatMap((request) => [postSigned(harness.url, request), postSigned(harness.url, request)]));
    for (const [index, host] of hosts.entries()) {
      const pair = [acks[2 * index]!, acks[2 * index + 1]!].map((ack) => ackText(ack.json));
      expect(pair.filter((text) => text.includes(`queued for \`${host}\``))).toHaveLength(1);
      expect(pair.filter((text) => text === '')).toHaveLength(1);
    }
    const queued = (await engine.queues.hunt.getWaiting()).map((job) => (job.data as { host: string }).host).filter((host) => host.startsWith('twice'));
    expect(queued.sort()).toEqual([...hosts].sort());
  });

  it('starts a new hunt for the same text under a new trigger id, and remembers it as the channel’s last', async () => {
    const command = () => harness.command('hunt again01.corp.example', { channelId: 'CAGAIN001' });
    const ids = [ackText((await command()).json), ackText((await command()).json)].map((text) => /\*(TH-WMI-\d{8}-\d+)\* queued/.exec(text)?.[1]);
    expect(ids[0]).toBeDefined();
    expect(ids[1]).toBeDefined();
    expect(ids[1]).not.toBe(ids[0]);
    expect(await harness.redis.get(`${harness.prefix}:slack:last-hunt:CAGAIN001`)).toBe(ids[1]);
  });
});
