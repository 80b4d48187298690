import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAllowlist } from '../../src/allowlist/load-allowlist.js';
import { AnalyzeUploadJob } from '../../src/app/analyze-upload-job.js';
import { UploadQueue } from '../../src/app/upload-queue.js';
import { ErrorCode } from '../../src/errors.js';
import { WorkerHost } from '../../src/queue/worker-host.js';
import { SlackFileDownloader, allowedDownloadOrigin } from '../../src/slack/slack-file-downloader.js';
import { createSlackNotifier, createUploadPorts } from '../../src/slack/slack-app.js';
import { engineHarness, type EngineHarness } from '../app/engine-harness.js';
import { redisAvailable } from '../app/redis-harness.js';
import { FakeSlack, startFakeSlack, type FakeSharedFile, type RecordedCall } from '../support/fake-slack.js';
import { REDIS_URL } from '../support/services.js';
import { FAKE_BOT_TOKEN, FAST_RETRIES, startSlackHarness, type SlackHarness } from './harness.js';

/**
 * Event exports uploaded to the bot, through the real path: signed event deliveries into the real
 * Bolt app, the upload queued on real Redis, the analyze-upload job in a real BullMQ worker
 * downloading from the fake Slack file host with the bot token, the real readers and analyzer on the
 * recorded datasets, and the report posted by the real notifier through the notify queue.
 */
const DATASETS = fileURLToPath(new URL('../../../shared/datasets/', import.meta.url));
const EVTX = 'wmic-commandline-consumer.sysmon.evtx';
const XML = 'wmic-commandline-consumer.sysmon.xml';
const JSONL = 'powerlurk-process-start.sysmon.evtx.jsonl';
const REQUESTER = 'UREQUESTER';
const DM = 'DUPLOADS01';
const SOC = 'CSOC0001';
const LIMIT = 256 * 1024;

interface UploadScenario {
  fake: FakeSlack;
  engine: EngineHarness;
  slack: SlackHarness;
  redis: Redis;
  workers: WorkerHost;
}

let open: UploadScenario | null = null;

async function uploadScenario(): Promise<UploadScenario> {
  const fake = await startFakeSlack();
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  const prefix = `test-slack-uploads-${randomUUID()}`;
  const slackConfig = { botToken: FAKE_BOT_TOKEN, apiUrl: fake.apiUrl, keyPrefix: prefix };
  const notifier = createSlackNotifier({ redis, config: slackConfig, clientOptions: FAST_RETRIES });
  const engine = await engineHarness({ notifications: notifier });
  await engine.startWorkers();
  const workers = new WorkerHost({ url: engine.context.url, maxRetriesPerRequest: null }, engine.context.prefix, () => undefined);
  const job = new AnalyzeUploadJob({
    ...createUploadPorts({ redis, config: slackConfig, clientOptions: FAST_RETRIES }),
    store: engine.store,
    engine: engine.engine,
    playbooks: engine.playbooks,
    defaultPlaybook: 'wmi-persistence-hunt',
    allowlist: await loadAllowlist(),
    maxBytes: LIMIT,
    timeoutMs: 60_000,
    concurrency: 1,
    shutdownSignal: workers.shutdownSignal,
  });
  workers.start([job.workerSpec()]);
  await workers.waitUntilReady();
  const slack = await startSlackHarness(engine.engine, { uploadMaxBytes: LIMIT }, { fake, prefix, uploads: new UploadQueue({ store: engine.store, queues: engine.queues }) });
  open = { fake, engine, slack, redis, workers };
  return open;
}

afterEach(async () => {
  if (!open) return;
  const { fake, engine, slack, redis, workers } = open;
  open = null;
  await fake.settle();
  await slack.close();
  await workers.close(0);
  await engine.close();
  await fake.stop();
  await redis.quit();
});

let tsSeq = 0;
function fileShare(files: FakeSharedFile[], where: { channel?: string; channelType?: string; threadTs?: string; parentUserId?: string; user?: string } = {}) {
  tsSeq += 1;
  const ts = `1700000500.${String(tsSeq).padStart(6, '0')}`;
  return {
    type: 'message',
    subtype: 'file_share',
    channel: where.channel ?? DM,
    channel_type: where.channelType ?? 'im',
    user: where.user ?? REQUESTER,
    text: '',
    ts,
    event_ts: ts,
    ...(where.threadTs ? { thread_ts: where.threadTs } : {}),
    ...(where.parentUserId ? { parent_user_id: where.parentUserId } : {}),
    files,
  };
}

function dataset(name: string): Buffer {
  return readFileSync(join(DATASETS, name));
}

function text(call: RecordedCall): string {
  return `${String(call.body.text ?? '')} ${JSON.stringify(call.body.blocks ?? '')}`;
}

function postsIn(fake: FakeSlack, channel: string, threadTs: string): RecordedCall[] {
  return fake.callsOf('chat.postMessage').filter((call) => call.body.channel === channel && call.body.thread_ts === threadTs);
}

async function uploadJobs(s: UploadScenario): Promise<number> {
  const counts = await s.engine.queues.upload.getJobCounts();
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

describe.skipIf(!redisAvailable)('event exports uploaded to the bot in Slack', () => {
  it('analyzes an .evtx, an event XML and a JSON lines export together and posts the hunt report in the upload thread', async () => {
    const s = await uploadScenario();
    const contents = [dataset(EVTX), dataset(XML), dataset(JSONL)];
    const files = [s.fake.shareFile(EVTX, contents[0]!), s.fake.shareFile(XML, contents[1]!), s.fake.shareFile(JSONL, contents[2]!)];
    const event = fileShare(files);
    expect((await s.slack.event(event)).status).toBe(200);

    const receipt = await s.fake.waitFor(() => postsIn(s.fake, DM, event.ts).find((call) => text(call).includes('Analyzing 3 uploaded file(s)')), 15_000, 'the receipt');
    expect(text(receipt)).toContain(EVTX);
    const completion = await s.fake.waitFor(() => s.fake.callsOf('files.completeUploadExternal')[0], 30_000, 'the report files');
    expect(completion.body).toMatchObject({ channel_id: DM, thread_ts: event.ts });
    const json = s.fake.uploads.map((upload) => upload.content).find((content) => content.trimStart().startsWith('{'))!;
    const report = JSON.parse(json) as { huntId: string; findings: Array<{ filterName: string | null; consumerName: string | null; host: string }> };
    expect(report.huntId).toMatch(/^TH-WMI-\d{8}-\d{3,}$/);
    expect(report.findings.map((finding) => finding.filterName)).toEqual(expect.arrayContaining(['BotFilter82', 'Evil']));
    expect(report.findings.map((finding) => finding.consumerName)).toEqual(expect.arrayContaining(['BotConsumer23']));
    expect(s.fake.uploads.map((upload) => upload.content).find((content) => content.startsWith('#'))).toContain(`# WMI persistence hunt ${report.huntId}`);

    const summary = [...s.fake.callsOf('chat.postMessage'), ...s.fake.callsOf('chat.update')].find((call) => text(call).includes(`WMI hunt ${report.huntId}`) && text(call).includes('BotFilter82'));
    expect(summary?.body.channel).toBe(DM);
    expect(text(summary!)).toContain('Uploaded files');
    const hunt = await s.engine.engine.getHunt(report.huntId);
    expect(hunt).toMatchObject({ status: 'completed', requestedBy: { kind: 'slack', id: REQUESTER }, trigger: { source: 'upload' }, slack: { channel: DM, threadTs: event.ts } });

    expect(s.fake.downloads.map((download) => [download.fileId, download.token, download.status]).sort()).toEqual(
      files.map((file) => [file.id, FAKE_BOT_TOKEN, 200]).sort(),
    );
    const started = (await s.engine.store.audit.list({ huntId: report.huntId })).find((entry) => entry.action === 'hunt.started')!;
    expect(started.actor).toMatchObject({ kind: 'slack', id: REQUESTER });
    expect(Object.values(started.hashes).sort()).toEqual(contents.map((content) => createHash('sha256').update(content).digest('hex')).sort());
    expect(started.details).toMatchObject({ source: 'upload', files: expect.arrayContaining([expect.objectContaining({ name: EVTX, bytes: contents[0]!.length })]) });
  });

  it('refuses a file over the size limit in the thread and queues nothing', async () => {
    const s = await uploadScenario();
    const event = fileShare([s.fake.shareFile('huge.evtx', dataset(EVTX), { declaredSize: LIMIT + 1 }), s.fake.shareFile(JSONL, dataset(JSONL))]);
    await s.slack.event(event);
    const refusal = await s.fake.waitFor(() => postsIn(s.fake, DM, event.ts)[0], 15_000, 'the refusal');
    expect(text(refusal)).toContain('huge.evtx');
    expect(text(refusal)).toContain('over the upload limit of 256 KB');
    expect(text(refusal)).toContain('nothing was queued');
    await s.fake.settle();
    expect(await uploadJobs(s)).toBe(0);
    expect(s.fake.downloads).toHaveLength(0);
  });

  it('cuts a download off when the bytes run past the limit whatever size Slack declared', async () => {
    const s = await uploadScenario();
    const event = fileShare([s.fake.shareFile('grows.jsonl', Buffer.alloc(LIMIT + 4096, 0x7b), { declaredSize: 1000 })]);
    await s.slack.event(event);
    const notice = await s.fake.waitFor(() => postsIn(s.fake, DM, event.ts).find((call) => text(call).includes('Nothing was analyzed')), 20_000, 'the notice');
    expect(text(notice)).toContain('grows.jsonl: the file is over the upload limit of 256 KB');
    expect(s.fake.callsOf('files.completeUploadExternal')).toHaveLength(0);
  });

  it('answers "cannot read" for random bytes with an event-log name and for a picture', async () => {
    const s = await uploadScenario();
    const bytes = fileShare([s.fake.shareFile('export.evtx', randomBytes(4096))]);
    await s.slack.event(bytes);
    const notice = await s.fake.waitFor(() => postsIn(s.fake, DM, bytes.ts).find((call) => text(call).includes('Nothing was analyzed')), 20_000, 'the cannot-read notice');
    expect(text(notice)).toContain('export.evtx: cannot read it');

    const picture = fileShare([s.fake.shareFile('screenshot.png', Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'))]);
    await s.slack.event(picture);
    const refusal = await s.fake.waitFor(() => postsIn(s.fake, DM, picture.ts)[0], 15_000, 'the picture refusal');
    expect(text(refusal)).toContain('screenshot.png: cannot read this kind of file');
    await s.fake.settle();
    expect(s.fake.callsOf('files.completeUploadExternal')).toHaveLength(0);
    expect(await uploadJobs(s)).toBe(1);
  });

  it('tells partial input with the file and position of each unreadable record, and still reports the rest', async () => {
    const s = await uploadScenario();
    const lines = dataset(JSONL).toString('utf8').trimEnd().split('\n');
    const broken = [lines[0], '{"Event": {"System": ', ...lines.slice(1)].join('\n');
    const event = fileShare([s.fake.shareFile('broken.jsonl', broken)]);
    await s.slack.event(event);
    const notice = await s.fake.waitFor(() => postsIn(s.fake, DM, event.ts).find((call) => text(call).includes('the report is partial')), 20_000, 'the partial notice');
    expect(text(notice)).toContain('unreadable record in broken.jsonl at line 2');
    await s.fake.waitFor(() => s.fake.callsOf('files.completeUploadExternal')[0], 20_000, 'the report files');
    const report = JSON.parse(s.fake.uploads.map((upload) => upload.content).find((content) => content.trimStart().startsWith('{'))!) as { partial: boolean; findings: Array<{ filterName: string | null }> };
    expect(report.partial).toBe(true);
    expect(report.findings.map((finding) => finding.filterName)).toContain('Evil');
  });

  it('reads two uploaded files of the same name, each under its own name in the job', async () => {
    const s = await uploadScenario();
    const event = fileShare([s.fake.shareFile('export.jsonl', dataset(JSONL)), s.fake.shareFile('export.jsonl', dataset(XML))]);
    await s.slack.event(event);
    await s.fake.waitFor(() => s.fake.callsOf('files.completeUploadExternal')[0], 20_000, 'the report files');
    const report = JSON.parse(s.fake.uploads.map((upload) => upload.content).find((content) => content.trimStart().startsWith('{'))!) as { partial: boolean; findings: Array<{ filterName: string | null }> };
    expect(report.partial).toBe(false);
    expect(report.findings.map((finding) => finding.filterName)).toEqual(expect.arrayContaining(['Evil', 'BotFilter82']));
  });

  it('starts one job for a re-delivered event and for the same files shared again', async () => {
    const s = await uploadScenario();
    const event = fileShare([s.fake.shareFile(JSONL, dataset(JSONL))]);
    await s.slack.event(event, 'EvUPLOADSAME1');
    await s.slack.event(event, 'EvUPLOADSAME1');
    await s.slack.event({ ...event, ts: '1700000999.000001', event_ts: '1700000999.000001' }, 'EvUPLOADSAME2');
    await s.fake.waitFor(() => s.fake.callsOf('files.completeUploadExternal')[0], 20_000, 'the report files');
    await s.fake.settle(300);
    expect(await uploadJobs(s)).toBe(1);
    expect(s.fake.callsOf('files.completeUploadExternal')).toHaveLength(1);
    expect(postsIn(s.fake, DM, event.ts).filter((call) => text(call).includes('Analyzing 1 uploaded file(s)'))).toHaveLength(1);
    expect(text(postsIn(s.fake, DM, '1700000999.000001')[0]!)).toContain('already handed over');
    expect(s.fake.downloads).toHaveLength(1);
  });

  it('takes uploads in the thread of a message the bot posted, and ignores files shared elsewhere in channels and its own report files', async () => {
    const s = await uploadScenario();
    const elsewhere = fileShare([s.fake.shareFile(JSONL, dataset(JSONL))], { channel: SOC, channelType: 'channel' });
    await s.slack.event(elsewhere);
    const ownReport = { ...fileShare([s.fake.shareFile('TH-WMI-20261129-001.json', '{}')], { channel: SOC, channelType: 'channel', threadTs: '1700000100.000002', parentUserId: s.fake.botUserId, user: s.fake.botUserId }), bot_id: s.fake.botId };
    await s.slack.event(ownReport);
    const huntThread = '1700000100.000001';
    const inThread = fileShare([s.fake.shareFile(JSONL, dataset(JSONL))], { channel: SOC, channelType: 'channel', threadTs: huntThread, parentUserId: s.fake.botUserId });
    await s.slack.event(inThread);
    const completion = await s.fake.waitFor(() => s.fake.callsOf('files.completeUploadExternal')[0], 20_000, 'the report files');
    expect(completion.body).toMatchObject({ channel_id: SOC, thread_ts: huntThread });
    await s.fake.settle();
    expect(postsIn(s.fake, SOC, elsewhere.ts)).toHaveLength(0);
    expect(postsIn(s.fake, SOC, '1700000100.000002')).toHaveLength(0);
    expect(await uploadJobs(s)).toBe(1);
  });

  it('refuses a download URL on another host before any request, at the listener and in the downloader', async () => {
    const s = await uploadScenario();
    const elsewhere = await startFakeSlack();
    try {
      const foreign = elsewhere.shareFile(JSONL, dataset(JSONL));
      const event = fileShare([foreign]);
      await s.slack.event(event);
      const refusal = await s.fake.waitFor(() => postsIn(s.fake, DM, event.ts)[0], 15_000, 'the refusal');
      expect(text(refusal)).toContain('not on the Slack file host');
      expect(await uploadJobs(s)).toBe(0);

      const downloader = new SlackFileDownloader({ botToken: FAKE_BOT_TOKEN, allowedOrigin: allowedDownloadOrigin(s.fake.apiUrl) });
      const folder = await mkdtemp(join(tmpdir(), 'wmi-upload-test-'));
      try {
        const file = { id: foreign.id, name: foreign.name, size: foreign.size, downloadUrl: foreign.url_private_download };
        await expect(downloader.download(file, join(folder, 'x'), { maxBytes: LIMIT, signal: new AbortController().signal })).rejects.toMatchObject({ code: ErrorCode.Forbidden });
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
      expect(elsewhere.downloads).toHaveLength(0);
    } finally {
      await elsewhere.stop();
    }
  });

  it('is refused by the file host without the bot token, and downloads with it', async () => {
    const s = await uploadScenario();
    const file = s.fake.shareFile(JSONL, dataset(JSONL));
    const anonymous = await fetch(file.url_private_download);
    expect(anonymous.status).toBe(401);
    expect(s.fake.downloads).toEqual([{ fileId: file.id, token: null, status: 401 }]);

    const downloader = new SlackFileDownloader({ botToken: FAKE_BOT_TOKEN, allowedOrigin: allowedDownloadOrigin(s.fake.apiUrl) });
    const folder = await mkdtemp(join(tmpdir(), 'wmi-upload-test-'));
    try {
      const saved = await downloader.download({ id: file.id, name: file.name, size: file.size, downloadUrl: file.url_private_download }, join(folder, 'saved.jsonl'), {
        maxBytes: LIMIT,
        signal: new AbortController().signal,
      });
      expect(saved.sha256).toBe(createHash('sha256').update(dataset(JSONL)).digest('hex'));
      expect(await readFile(join(folder, 'saved.jsonl'))).toEqual(dataset(JSONL));
      expect(s.fake.downloads.at(-1)).toEqual({ fileId: file.id, token: FAKE_BOT_TOKEN, status: 200 });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('the allowed download origin', () => {
  it("is Slack's file host unless the Web API URL points elsewhere", () => {
    expect(allowedDownloadOrigin(undefined)).toBe('https://files.slack.com');
    expect(allowedDownloadOrigin('https://slack.com/api/')).toBe('https://files.slack.com');
    expect(allowedDownloadOrigin('http://127.0.0.1:4567/api/')).toBe('http://127.0.0.1:4567');
  });
});
