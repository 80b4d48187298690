import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CodedError, ErrorCode } from '../../src/errors.js';
import { createSlackNotifier } from '../../src/slack/slack-app.js';
import { engineHarness, eventually, type EngineHarness } from '../app/engine-harness.js';
import { maliciousSubscription } from '../app/fake-host.js';
import { redisAvailable } from '../app/redis-harness.js';
import { FakeSlack, startFakeSlack, type RecordedCall } from '../support/fake-slack.js';
import { REDIS_URL } from '../support/services.js';
import { FAKE_BOT_TOKEN, FAST_RETRIES, type SlackHarness, startSlackHarness } from '../slack/harness.js';

/**
 * Host faults as the analyst sees them in Slack: a /wmi hunt over hosts that fail in each way goes
 * through the real Bolt app, the real engine and BullMQ workers on Redis and a scripted fake fleet;
 * the hunt message the fake Slack finally holds names every failed host with a plain explanation.
 */
const CHANNEL = 'CSOC0001';

const FAULTS: Array<{ host: string; error: CodedError; explanation: RegExp }> = [
  { host: 'blip01', error: new CodedError(ErrorCode.HostUnreachable, 'blip01: no route to host'), explanation: /could not be reached/ },
  { host: 'auth01', error: new CodedError(ErrorCode.AuthenticationFailed, 'auth01: key refused'), explanation: /refused our credentials/ },
  { host: 'slow01', error: new CodedError(ErrorCode.Timeout, 'slow01: timed out'), explanation: /did not answer in time/ },
  { host: 'deny01', error: new CodedError(ErrorCode.AccessDenied, 'deny01: access denied'), explanation: /denied access to WMI/ },
  { host: 'junk01', error: new CodedError(ErrorCode.BadOutput, 'junk01: collect printed garbage\n{"raw":"<!channel>"}'), explanation: /not a valid collection/ },
  { host: 'crash01', error: new CodedError(ErrorCode.ScriptError, 'crash01: pwsh exited with 139\n    at ScriptRunner.run (runner.ts:1:1)'), explanation: /PowerShell crashed/ },
];

function blocksOf(call: RecordedCall): string {
  return JSON.stringify(call.body.blocks ?? '');
}

describe.skipIf(!redisAvailable)('host faults reach Slack as a clear, inert explanation per host', () => {
  let fake: FakeSlack;
  let redis: Redis;
  let engine: EngineHarness;
  let slack: SlackHarness;

  beforeEach(async () => {
    fake = await startFakeSlack();
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
    const prefix = `test-host-faults-slack-${randomUUID()}`;
    const notifier = createSlackNotifier({ redis, config: { botToken: FAKE_BOT_TOKEN, apiUrl: fake.apiUrl, keyPrefix: prefix }, clientOptions: FAST_RETRIES });
    engine = await engineHarness({ notifications: notifier, attempts: 2 });
    engine.fleet.addHost('victim01', maliciousSubscription());
    for (const fault of FAULTS) engine.fleet.addHost(fault.host).script(fault.host, { collectFailures: [fault.error, fault.error] });
    await engine.startWorkers();
    slack = await startSlackHarness(engine.engine, {}, { fake, prefix });
  });
  afterEach(async () => {
    await fake.settle();
    await slack.close();
    await engine.close();
    await fake.stop();
    await redis.quit();
  });

  it('names unreachable, refused, timed-out, denied, garbage-printing and crashed hosts with what went wrong, no stack, no raw output', async () => {
    const hosts = ['victim01', ...FAULTS.map((fault) => fault.host)];
    const response = await slack.command(`hunt ${hosts.join(',')}`, { userId: 'UREQUESTER', channelId: CHANNEL });
    const huntId = /TH-WMI-\d{8}-\d{3,}/.exec(String((response.json as { text?: string }).text))?.[0];
    expect(huntId, JSON.stringify(response)).toBeDefined();
    await eventually(async () => (await engine.engine.getHunt(huntId!))?.finishedAt, 'the hunt');
    const final = await fake.waitFor(
      () =>
        [...fake.callsOf('chat.postMessage'), ...fake.callsOf('chat.update')]
          .filter((call) => blocksOf(call).includes(huntId!) && blocksOf(call).includes('partial'))
          .find((call) => FAULTS.every((fault) => blocksOf(call).includes(`\`${fault.host}\``))),
      15_000,
      'the hunt message listing every failed host',
    );
    expect(final.body.channel).toBe(CHANNEL);
    const lines = blocksOf(final).split('\\n');
    for (const fault of FAULTS) {
      const line = lines.find((candidate) => candidate.includes(`\`${fault.host}\``) && candidate.includes(fault.error.code));
      expect(line, fault.host).toMatch(fault.explanation);
    }
    const shown = blocksOf(final);
    expect(shown).not.toContain('at ScriptRunner.run');
    expect(shown).not.toContain('{\\"raw\\"');
    expect(shown).not.toContain('<!channel>');
    expect(shown).toContain('hosts done 7/7, 6 failed');
  });
});
