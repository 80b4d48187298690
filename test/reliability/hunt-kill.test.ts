import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../../src/app/service.js';
import { loadConfig } from '../../src/config/config.js';
import { REDIS_URL, requireService, tcpReachable } from '../support/services.js';
import { fleetHosts } from './support/fleet.js';
import { REPO_ROOT } from './support/lab-worker.js';
import { waitFor } from './support/random.js';

/**
 * A worker process killed with SIGKILL in the middle of a fleet hunt, while its batches of hosts are
 * running: a replacement worker takes the stalled batches over once their locks expire, and the hunt
 * completes with every host recorded exactly once and its progress counting each host once.
 */
const redisUp = await tcpReachable(REDIS_URL);
const available = requireService('redis', redisUp, `start Redis or set WMI_TEST_REDIS_URL (tried ${REDIS_URL})`);
const HOSTS = 240;

describe.skipIf(!available)('a worker killed with SIGKILL mid fleet hunt (real processes, Redis)', () => {
  const work = mkdtempSync(join(tmpdir(), 'wmi-hunt-kill-'));
  const prefix = `hunt-kill-${randomUUID().slice(0, 8)}`;
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    REDIS_URL,
    REDIS_PREFIX: prefix,
    REDIS_EVICTION_CHECK: 'warn',
    EVIDENCE_DIR: join(work, 'evidence'),
    PLAYBOOKS_DIR: join(REPO_ROOT, 'playbooks'),
    EXECUTOR_TRANSPORT: 'local',
    WORKER_CONCURRENCY: '20',
    QUEUE_GLOBAL_CONCURRENCY: '20',
    JOB_LOCK_SECONDS: '1',
    JOB_MAX_STALLED: '100',
    SHUTDOWN_GRACE_SECONDS: '1',
    FLEET_SIZE: String(HOSTS),
    FLEET_DELAY_MS: '150',
  };
  const children: ChildProcess[] = [];
  let service: RunningService | null = null;

  const startWorker = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/reliability/support/fleet-worker.ts')], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? work, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        seen = (seen + chunk.toString('utf8')).slice(-4_000);
        if (seen.includes('wmi-hunter started')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the fleet worker exited with ${code} before it started`)));
    });
    return child;
  };

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    if (service) {
      await Promise.all(Object.values(service.queues).map((queue) => queue.obliterate({ force: true }).catch(() => undefined)));
      const keys = await service.store.redis.keys(`${prefix}:*`);
      if (keys.length > 0) await service.store.redis.del(...keys);
      await service.stop();
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('loses no host and counts none twice when the worker dies with batches running', async () => {
    service = await startService(loadConfig(env), { serve: false, worker: false }, { logger: pino({ level: 'silent' }) });
    const engine = service.engine;
    const first = await startWorker();
    const { huntId } = await engine.startHunt({ hosts: fleetHosts(HOSTS), requestedBy: { kind: 'cli', id: 'kill-test' } });
    // Killed once some hosts are recorded and others are still at work in its batches.
    await waitFor(async () => ((await engine.getHunt(huntId))?.progress.done ?? 0) >= 40, 60_000, () => 'the first hosts to be recorded');
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const atKill = (await engine.getHunt(huntId))!.progress;
    expect(atKill.done).toBeLessThan(HOSTS);

    await startWorker();
    const hunt = await waitFor(async () => {
      const current = await engine.getHunt(huntId);
      return current?.finishedAt ? current : null;
    }, 120_000, () => 'the hunt to finish on the replacement worker');
    expect(hunt.status).toBe('completed');
    expect(hunt.progress).toEqual({ done: HOSTS, failed: 0, total: HOSTS });
    const results = await service.store.hunts.getHostResults(huntId);
    expect(results.map((result) => result.host).sort()).toEqual(fleetHosts(HOSTS));
    expect(results.every((result) => result.outcome === 'done')).toBe(true);
    const report = await engine.getReport(huntId);
    expect(report?.hosts).toHaveLength(HOSTS);
    const audit = await service.store.audit.list({ huntId });
    expect(audit.filter((entry) => entry.action === 'hunt.finished')).toHaveLength(1);
  }, 180_000);
});
