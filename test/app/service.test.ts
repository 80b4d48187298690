import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startService, type RunningService } from '../../src/app/service.js';
import { REDIS_URL } from '../support/services.js';
import { maliciousSubscription, FakeFleet } from './fake-host.js';
import { eventually, PLAYBOOKS_DIR } from './engine-harness.js';
import { redisAvailable } from './redis-harness.js';

const token = 'service-test-admin-token-0123456789';

describe.skipIf(!redisAvailable)('wmi-hunter serve + worker in one process', () => {
  let service: RunningService | null = null;
  let evidenceDir = '';
  afterEach(async () => {
    if (service) {
      await Promise.all(Object.values(service.queues).map((queue) => queue.obliterate({ force: true }).catch(() => undefined)));
      const { redis, keys } = service.store;
      const leftovers = await redis.keys(`${keys.prefix}:*`);
      await service.stop();
      if (leftovers.length > 0) {
        const { Redis } = await import('ioredis');
        const cleaner = new Redis(REDIS_URL);
        await cleaner.del(...leftovers);
        cleaner.disconnect();
      }
    }
    service = null;
    await rm(evidenceDir, { recursive: true, force: true });
  });

  it('boots from the environment, serves the API, runs the hunt on its workers, and stops cleanly', async () => {
    evidenceDir = await mkdtemp(join(tmpdir(), 'wmi-service-'));
    const config = loadConfig({
      REDIS_URL,
      REDIS_PREFIX: `wmi-test-${randomUUID().slice(0, 8)}`,
      EVIDENCE_DIR: evidenceDir,
      PLAYBOOKS_DIR,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      EXECUTOR_TRANSPORT: 'local',
      SHUTDOWN_GRACE_SECONDS: '1',
      API_TOKENS: JSON.stringify([{ id: 'ops', token, roles: ['admin'] }]),
    });
    const fleet = new FakeFleet().addHost('victim01', maliciousSubscription());
    service = await startService(config, { serve: true, worker: true }, { executor: fleet, logger: pino({ level: 'silent' }) });
    const base = `http://127.0.0.1:${service.port}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const started = await fetch(`${base}/v1/hunts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ hosts: ['victim01'] }),
    });
    expect(started.status).toBe(202);
    const { huntId } = (await started.json()) as { huntId: string };
    const hunt = await eventually(async () => {
      const response = await fetch(`${base}/v1/hunts/${huntId}`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await response.json()) as { finishedAt: string | null; status: string };
      return body.finishedAt ? body : null;
    }, 'the hunt');
    expect(hunt.status).toBe('completed');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/wmi_hunter_job_duration_seconds_count\{queue="hunt",outcome="completed"\} [1-9]/);
  });

  it('refuses to boot with a playbook directory that fails the lint', async () => {
    evidenceDir = await mkdtemp(join(tmpdir(), 'wmi-service-'));
    const config = loadConfig({ REDIS_URL, REDIS_PREFIX: `wmi-test-${randomUUID().slice(0, 8)}`, EVIDENCE_DIR: evidenceDir, PLAYBOOKS_DIR: evidenceDir, EXECUTOR_TRANSPORT: 'local' });
    await expect(startService(config, { serve: true, worker: false }, { logger: pino({ level: 'silent' }) })).rejects.toMatchObject({ code: 'E_SCHEMA' });
  });
});
