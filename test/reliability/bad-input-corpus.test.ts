import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineHarness } from '../app/engine-harness.js';
import { redisAvailable } from '../app/redis-harness.js';
import { parseCollection, type Collection } from '../../src/domain/collection.js';
import { assertValidHostName } from '../../src/domain/host.js';
import { contentHashOf } from '../../src/domain/wmi-object.js';
import { asCodedError } from '../../src/errors.js';
import { parseAlert } from '../../src/http/alert-parsers.js';
import { partsFromEventXml } from '../../src/ingest/event-xml-reader.js';
import { eventRecordFromJson, RecordShapeError } from '../../src/ingest/flat-record.js';
import { eventRecordFromParts } from '../../src/ingest/windows-event.js';
import { lintPlaybookText } from '../../src/playbooks/playbook-lint.js';
import { createPowerShellHostExecutor } from '../../src/powershell/powershell-host-executor.js';
import { parseCommand } from '../../src/slack/command-grammar.js';
import { httpHarness, SECRETS, signed } from '../http/http-harness.js';
import { pwshPath, requireService } from '../support/services.js';
import { ACTION_APPROVE } from '../../src/slack/approval-blocks.js';
import { EngineDouble } from '../slack/engine-double.js';
import { buttonClick, denySubmission, startSlackHarness, type SlackHarness } from '../slack/harness.js';
import { TEST_SIGNING_SECRET, buildSignedRequest, interactionBody, postSigned, signSlackBody, slashCommandBody, type SignedRequest } from '../support/slack-signing.js';
import { buildCorpus, type CorpusCase, type SlackRequestCase } from './corpus/bad-input-corpus.js';
import { recordFigures } from './support/figures.js';
import { REPO_ROOT, writeLabRepository } from './support/lab-worker.js';

/**
 * Runs every case of the bad-input corpus (corpus/bad-input-corpus.ts) through its real entry
 * point and checks its expected outcome; afterwards no payload may have created its marker file.
 */
const pwsh = pwshPath();
const pwshAvailable = requireService('pwsh', pwsh !== null, 'install PowerShell 7 (.ci/setup.sh) and put pwsh on PATH');
const corpus = buildCorpus();
const markers = mkdtempSync(join(tmpdir(), 'wmi-corpus-markers-'));
const MARKER = join(markers, 'pwned');
const armed = (text: string) => text.replaceAll('{{MARKER}}', MARKER);
const sample = JSON.parse(readFileSync(join(REPO_ROOT, 'samples', 'collections', 'apt29-activescript-startup.json'), 'utf8')) as Record<string, unknown>;

type Outcome = { error: string } | { inert: true } | { status: number } | { ok: true } | { validatedTokens: true } | { actedOnce: true };

/** Every text a parsed command carries is a strict identifier (host name, hunt id, finding id, number). */
function onlyValidatedTokens(value: unknown): boolean {
  if (typeof value === 'string') return /^[A-Za-z0-9._:@*-]*$/.test(value);
  if (Array.isArray(value)) return value.every(onlyValidatedTokens);
  if (value && typeof value === 'object') return Object.values(value).every(onlyValidatedTokens);
  return true;
}

function outcomeOf(run: () => unknown): Outcome {
  try {
    run();
    return { ok: true };
  } catch (error) {
    return { error: asCodedError(error).code };
  }
}

function checkCase(testCase: CorpusCase, outcome: Outcome): void {
  const expected = testCase.expected;
  if ('error' in expected && expected.orValidatedTokens && 'validatedTokens' in outcome) return;
  if ('error' in expected) {
    expect('error' in outcome && expected.error.includes(outcome.error), `${testCase.id}: ${JSON.stringify(outcome)}`).toBe(true);
  } else if ('status' in expected) {
    expect(outcome, testCase.id).toEqual({ status: expected.status });
  } else if ('actedOnce' in expected) {
    expect(outcome, testCase.id).toEqual({ actedOnce: true });
  } else {
    expect(outcome, testCase.id).toEqual({ inert: true });
  }
}

function collectionWith(field: string, payload: string): Collection {
  const consumers = sample.consumers as Array<Record<string, unknown>>;
  const first = consumers[0]!;
  const properties = { ...(first.properties as Record<string, unknown>), [field]: payload };
  const consumer = { ...first, properties, contentHash: contentHashOf(String(first.namespace), String(first.className), properties as never) };
  return parseCollection({ ...sample, consumers: [consumer], bindings: [] });
}

describe('the bad-input corpus through the real entry points', () => {
  afterAll(() => {
    expect(readdirSync(markers), 'a payload created its marker: something executed').toEqual([]);
    rmSync(markers, { recursive: true, force: true });
    const byEntry: Record<string, number> = {};
    for (const testCase of corpus) byEntry[testCase.entry] = (byEntry[testCase.entry] ?? 0) + 1;
    recordFigures('bad-input-corpus', { cases: corpus.length, byEntry });
  });

  it('has at least 500 cases', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(500);
  });

  it('in-process parsers: every case gets its clear error or stays inert data', () => {
    const mismatches: string[] = [];
    const check = (testCase: CorpusCase, outcome: Outcome) => {
      try {
        checkCase(testCase, outcome);
      } catch {
        mismatches.push(`${testCase.id}: ${JSON.stringify(outcome)}`);
      }
    };
    for (const testCase of corpus) {
      const { input } = testCase;
      switch (testCase.entry) {
        case 'host-name':
          check(testCase, outcomeOf(() => assertValidHostName(armed(input.payload!))));
          break;
        case 'slack-command':
        {
          let parsed: unknown = null;
          const outcome = outcomeOf(() => (parsed = parseCommand(input.template!.replace('{p}', armed(input.payload!)))));
          check(testCase, 'ok' in outcome ? (onlyValidatedTokens(parsed) ? { validatedTokens: true } : outcome) : outcome);
        }
          break;
        case 'alert': {
          const payload = armed(input.payload!);
          const outcome = outcomeOf(() => {
            const alert = parseAlert('generic', { alertId: 'corpus-1', host: 'host01', [input.field!]: payload });
            if (alert.rule !== payload) throw new Error(`the rule came back changed: ${JSON.stringify(alert.rule)}`);
          });
          check(testCase, 'ok' in outcome ? { inert: true } : outcome);
          break;
        }
        case 'collection':
          if (input.payload !== undefined) {
            const payload = armed(input.payload);
            const outcome = outcomeOf(() => {
              const collection = collectionWith(input.field!, payload);
              if (collection.consumers[0]!.properties[input.field!] !== payload) throw new Error('the value came back changed');
            });
            check(testCase, 'ok' in outcome ? { inert: true } : outcome);
          } else {
            check(testCase, outcomeOf(() => parseCollection((input.document as (valid: Record<string, unknown>) => unknown)(sample))));
          }
          break;
        case 'playbook': {
          const result = lintPlaybookText(armed(input.text!), 'wmi-persistence-hunt.yaml');
          check(testCase, result.playbook === null && result.problems.length > 0 ? { error: 'lint' } : { ok: true });
          break;
        }
        case 'event-json': {
          const document = JSON.parse(armed(JSON.stringify(input.document ?? null))) as unknown;
          let outcome: Outcome;
          try {
            eventRecordFromJson(document);
            outcome = { ok: true };
          } catch (error) {
            outcome = error instanceof RecordShapeError ? { error: 'record-shape' } : { error: asCodedError(error).code };
          }
          check(testCase, outcome);
          break;
        }
        case 'event-xml': {
          let outcome: Outcome;
          try {
            eventRecordFromParts(partsFromEventXml(armed(input.text!)));
            outcome = { ok: true };
          } catch (error) {
            outcome = error instanceof TypeError || error instanceof RangeError ? { error: `crash: ${String(error)}` } : { error: 'xml' };
          }
          check(testCase, outcome);
          break;
        }
        default:
          break;
      }
    }
    expect(mismatches).toEqual([]);
  });

  describe.skipIf(!redisAvailable)('HTTP: forged, stale, replayed, oversized, malformed', () => {
    let harness: EngineHarness;
    let app: Awaited<ReturnType<typeof httpHarness>>['app'];
    beforeAll(async () => {
      ({ harness, app } = await httpHarness());
    });
    afterAll(async () => harness?.close());

    it('answers each with its status and starts no hunt from a refused request', async () => {
      for (const testCase of corpus.filter((entry) => entry.entry === 'http')) {
        const spec = testCase.input.request!;
        const body = armed(spec.body);
        let headers: Record<string, string> = { 'content-type': spec.contentType ?? 'application/json' };
        if (spec.signature === 'valid' || spec.signature === 'replayed') headers = signed('generic', body);
        if (spec.signature === 'forged') headers = { ...signed('generic', body), 'x-wmi-hunter-signature': signed('generic', `${body} `)['x-wmi-hunter-signature'] };
        if (spec.signature === 'stale') headers = signed('generic', body, Math.floor(Date.now() / 1000) - 3_600);
        if (spec.token === 'forged') headers.authorization = `Bearer ${'f'.repeat(32)}`;
        if (spec.signature === 'replayed') await request(app).post(spec.path).set(headers).send(body);
        const response = await request(app).post(spec.path).set(headers).send(body);
        checkCase(testCase, { status: response.status });
      }
      expect(Object.keys(SECRETS)).toContain('generic');
      expect(await harness.queues.hunt.count()).toBe(1);
    });
  });

  describe.skipIf(!redisAvailable)('Slack: forged, stale, future, unsigned, tampered and replayed requests to the Bolt HTTP receiver', () => {
    let engine: EngineDouble;
    let slack: SlackHarness;
    const cases = corpus.filter((entry) => entry.entry === 'slack-http');
    beforeAll(async () => {
      engine = new EngineDouble();
      slack = await startSlackHarness(engine);
    });
    afterAll(async () => slack?.close());

    const bodyOf = (kind: SlackRequestCase['kind']): { body: string; contentType: SignedRequest['contentType'] } => {
      const unique = randomUUID();
      switch (kind) {
        case 'command':
          return { body: slashCommandBody({ text: 'hunt host01', triggerId: `trigger-${unique}`, responseUrl: slack.fake.responseUrl(unique) }), contentType: 'application/x-www-form-urlencoded' };
        case 'approve-click':
          return { body: interactionBody(buttonClick({ actionId: ACTION_APPROVE, value: 'AP-TH-WMI-20261129-001-1', userId: 'UAPPROVER1' })), contentType: 'application/x-www-form-urlencoded' };
        case 'mention': {
          const event = { type: 'app_mention', user: 'UREQUESTER', text: '<@UBOTFAKE01> hunt host01', ts: '1700000700.000100', channel: 'CSOC0001' };
          const envelope = { token: 'unused', team_id: 'TFAKE01', api_app_id: 'AFAKE01', type: 'event_callback', event_id: `Ev${unique.replace(/-/g, '').slice(0, 10)}`, event_time: 1_700_000_700, event };
          return { body: JSON.stringify(envelope), contentType: 'application/json' };
        }
        case 'deny-submission':
          return { body: interactionBody(denySubmission({ userId: 'UAPPROVER1', privateMetadata: '{"approvalId":"AP-TH-WMI-20261129-001-1"}', reason: 'ours' })), contentType: 'application/x-www-form-urlencoded' };
      }
    };

    /** Sends the request as the attack makes it; only `replayed` is ever signed right. */
    const send = async ({ kind, attack }: SlackRequestCase): Promise<number> => {
      const { body, contentType } = bodyOf(kind);
      const now = Math.floor(Date.now() / 1000);
      const valid = buildSignedRequest(body, { contentType });
      const headers = (request: SignedRequest) => ({ 'content-type': contentType, 'x-slack-request-timestamp': String(request.timestamp), 'x-slack-signature': request.signature });
      const post = async (sent: Record<string, string>, sentBody = body) => (await fetch(slack.url, { method: 'POST', headers: sent, body: sentBody })).status;
      switch (attack) {
        case 'forged-signature':
          return post({ ...headers(valid), 'x-slack-signature': `v0=${createHash('sha256').update(body).digest('hex')}` });
        case 'wrong-secret':
          return (await postSigned(slack.url, buildSignedRequest(body, { contentType, secret: `${TEST_SIGNING_SECRET}-not` }))).status;
        case 'stale-6-minutes':
          return (await postSigned(slack.url, buildSignedRequest(body, { contentType, timestamp: now - 6 * 60 }))).status;
        case 'stale-1-day':
          return (await postSigned(slack.url, buildSignedRequest(body, { contentType, timestamp: now - 86_400 }))).status;
        case 'future-10-minutes':
          return (await postSigned(slack.url, buildSignedRequest(body, { contentType, timestamp: now + 10 * 60 }))).status;
        case 'future-1-day':
          return (await postSigned(slack.url, buildSignedRequest(body, { contentType, timestamp: now + 86_400 }))).status;
        case 'missing-signature':
          return post({ 'content-type': contentType, 'x-slack-request-timestamp': String(valid.timestamp) });
        case 'missing-timestamp':
          return post({ 'content-type': contentType, 'x-slack-signature': valid.signature });
        case 'missing-both':
          return post({ 'content-type': contentType });
        case 'tampered-body':
          return post(headers(valid), body.replace('hunt', 'restore').replace('UAPPROVER1', 'UATTACKER1').replace('ours', 'theirs'));
        case 'signed-for-other-timestamp':
          return post({ ...headers(valid), 'x-slack-request-timestamp': String(valid.timestamp - 1) });
        case 'wrong-version-prefix':
          return post({ ...headers(valid), 'x-slack-signature': valid.signature.replace(/^v0=/, 'v1=') });
        case 'truncated-signature':
          return post({ ...headers(valid), 'x-slack-signature': valid.signature.slice(0, -2) });
        case 'timestamp-not-a-number': {
          const { signature } = signSlackBody(body);
          return post({ 'content-type': contentType, 'x-slack-request-timestamp': 'now', 'x-slack-signature': signature });
        }
        case 'replayed': {
          const effects = () => engine.calls.length + slack.fake.calls.length;
          const before = effects();
          expect((await postSigned(slack.url, valid)).status, `${kind}: the original`).toBe(200);
          await slack.fake.waitFor(() => effects() > before, 5_000, `${kind}: the original's effect`);
          await slack.fake.settle();
          const acted = effects();
          const replay = await postSigned(slack.url, valid);
          await slack.fake.settle();
          return replay.status === 200 && effects() === acted ? -1 : replay.status;
        }
      }
    };

    it('refuses every forged, stale, future, unsigned or tampered request with 401 and reaches neither the engine nor Slack', async () => {
      const refused = cases.filter((entry) => entry.input.slack!.attack !== 'replayed');
      expect(refused.length).toBeGreaterThanOrEqual(50);
      for (const testCase of refused) checkCase(testCase, { status: await send(testCase.input.slack!) });
      await slack.fake.settle();
      expect(engine.calls).toEqual([]);
      expect(slack.fake.calls.filter((call) => call.method !== 'auth.test')).toEqual([]);
    });

    it('acts once on a replayed, correctly signed request of every kind', async () => {
      for (const testCase of cases.filter((entry) => entry.input.slack!.attack === 'replayed')) {
        const status = await send(testCase.input.slack!);
        checkCase(testCase, status === -1 ? { actedOnce: true } : { status });
      }
      expect(engine.callsOf('startHunt')).toHaveLength(2);
    });
  });

  describe.skipIf(!pwshAvailable)('PowerShell: hostile names as data in real pwsh (local transport, lab WMI emulation)', () => {
    const work = mkdtempSync(join(tmpdir(), 'wmi-corpus-pwsh-'));
    const repository = join(work, 'repository.json');
    const cases = corpus.filter((entry) => entry.entry === 'powershell');
    const names = cases.filter((entry) => entry.input.field === 'Name').map((entry) => armed(entry.input.payload!));
    const { executor, close } = createPowerShellHostExecutor({
      transportFor: () => ({ kind: 'local' }),
      pwshPath: pwsh ?? 'pwsh',
      poolSize: 1,
      env: { ...process.env, PSModulePath: [join(REPO_ROOT, 'test', 'lab'), process.env.PSModulePath ?? ''].join(delimiter), WMI_LAB_REPO: repository, ProgramData: work },
    });
    afterAll(async () => {
      await close();
      rmSync(work, { recursive: true, force: true });
    });

    it('collects instances named by every payload and returns the names unchanged', async () => {
      writeLabRepository(
        repository,
        names.map((name) => ({ namespace: 'root\\subscription', className: 'CommandLineEventConsumer', properties: { Name: name, CommandLineTemplate: name } })),
      );
      const collection = await executor.collect({ host: 'labhost', lookbackHours: 0, maxEvents: 0 }, new AbortController().signal);
      for (const testCase of cases.filter((entry) => entry.input.field === 'Name')) {
        const name = armed(testCase.input.payload!);
        const found = collection.consumers.find((consumer) => consumer.properties.Name === name);
        checkCase(testCase, found && found.properties.CommandLineTemplate === name ? { inert: true } : { ok: true });
      }
    }, 120_000);

    it('backs up nothing and removes nothing for removal targets named by every payload', async () => {
      const keyed = cases.filter((entry) => entry.input.field === 'key');
      const targets = keyed.map((entry) => ({ kind: 'filter' as const, namespace: 'root\\subscription', className: '__EventFilter', key: armed(entry.input.payload!), contentHash: '0'.repeat(64) }));
      const before = readFileSync(repository, 'utf8');
      const result = await executor.backup({ host: 'labhost', approvalId: 'AP-corpus', targets }, new AbortController().signal);
      keyed.forEach((testCase, index) => {
        const outcome = result.results[index];
        checkCase(testCase, outcome?.status === 'skipped-missing' && outcome.target.key === targets[index]!.key ? { inert: true } : { ok: true });
      });
      expect(result.backup.objects).toEqual([]);
      expect(readFileSync(repository, 'utf8')).toBe(before);
    }, 120_000);
  });
});
