import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../../src/app/service.js';
import { loadConfig } from '../../src/config/config.js';
import { PLAYBOOKS_DIR } from '../app/engine-harness.js';
import { FakeFleet } from '../app/fake-host.js';
import { redisAvailable } from '../app/redis-harness.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { REDIS_URL } from '../support/services.js';
import { TEST_SIGNING_SECRET, buildSignedRequest, postSigned } from '../support/slack-signing.js';
import { FAKE_BOT_TOKEN } from './harness.js';

/**
 * The upload path as the service wires it from the environment: the listener on the serve role's
 * HTTP server, the analyze-upload job on the worker role's queues, the report through notify.
 */
const DATASET = fileURLToPath(new URL('../../../shared/datasets/wmic-commandline-consumer.sysmon.evtx', import.meta.url));

describe.skipIf(!redisAvailable)('uploads through the configured service', () => {
  let service: RunningService | null = null;
  let fake: FakeSlack | null = null;
  let evidenceDir = '';
  afterEach(async () => {
    if (service) {
      await Promise.all(Object.values(service.queues).map((queue) => queue.obliterate({ force: true }).catch(() => undefined)));
      const { redis, keys } = service.store;
      const leftovers = await redis.keys(`${keys.prefix}:*`);
      if (leftovers.length > 0) await redis.del(...leftovers);
      await service.stop();
    }
    service = null;
    await fake?.stop();
    fake = null;
    await rm(evidenceDir, { recursive: true, force: true });
  });

  it('takes an .evtx uploaded in a DM and answers with the hunt report in its thread', async () => {
    fake = await startFakeSlack();
    evidenceDir = await mkdtemp(join(tmpdir(), 'wmi-upload-service-'));
    const config = loadConfig({
      REDIS_URL,
      REDIS_PREFIX: `wmi-test-${randomUUID().slice(0, 8)}`,
      EVIDENCE_DIR: evidenceDir,
      PLAYBOOKS_DIR,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      EXECUTOR_TRANSPORT: 'local',
      SHUTDOWN_GRACE_SECONDS: '1',
      SLACK_BOT_TOKEN: FAKE_BOT_TOKEN,
      SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
      SLACK_UPLOAD_MAX_BYTES: String(1024 * 1024),
    });
    expect(config.slack?.uploadMaxBytes).toBe(1024 * 1024);
    service = await startService(config, { serve: true, worker: true }, { executor: new FakeFleet(), logger: pino({ level: 'silent' }) });
    const file = fake.shareFile('wmic-commandline-consumer.sysmon.evtx', readFileSync(DATASET));
    const ts = '1700000700.000001';
    const body = JSON.stringify({
      token: 'unused',
      team_id: fake.teamId,
      api_app_id: 'AFAKE01',
      type: 'event_callback',
      event_id: 'EvSERVICEUPLOAD1',
      event_time: Math.floor(Date.now() / 1000),
      event: { type: 'message', subtype: 'file_share', channel: 'DSERVICE01', channel_type: 'im', user: 'UREQUESTER', text: '', ts, event_ts: ts, files: [file] },
    });
    const response = await postSigned(`http://127.0.0.1:${service.port}/slack/events`, buildSignedRequest(body, { contentType: 'application/json' }));
    expect(response.status).toBe(200);

    const completion = await fake.waitFor(() => fake!.callsOf('files.completeUploadExternal')[0], 30_000, 'the report files');
    expect(completion.body).toMatchObject({ channel_id: 'DSERVICE01', thread_ts: ts });
    const report = JSON.parse(fake.uploads.map((upload) => upload.content).find((content) => content.trimStart().startsWith('{'))!) as { findings: Array<{ filterName: string | null }> };
    expect(report.findings.map((finding) => finding.filterName)).toContain('BotFilter82');
    expect(fake.downloads).toEqual([{ fileId: file.id, token: FAKE_BOT_TOKEN, status: 200 }]);
  });
});
