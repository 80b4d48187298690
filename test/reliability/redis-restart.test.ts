import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/app/engine.js';
import { startService, type RunningService } from '../../src/app/service.js';
import { loadConfig } from '../../src/config/config.js';
import { FakeFleet, maliciousSubscription } from '../app/fake-host.js';
import { requireService } from '../support/services.js';
import { recordFigures } from './support/figures.js';
import { REPO_ROOT } from './support/lab-worker.js';
import { sleep, waitFor } from './support/random.js';

/**
 * Redis (AOF on) restarted in the middle of a fleet hunt of 1,000 simulated hosts, with approvals
 * pending: afterwards no job and no approval is lost and the hunt completes, every host recorded once.
 */
const redisServer = process.env.WMI_TEST_REDIS_SERVER ?? 'redis-server';
const available = requireService('redis-server binary', spawnSync(redisServer, ['--version']).status === 0, 'a throw-away Redis with AOF is started and restarted');
const HOSTS = Number(process.env.WMI_RESTART_HOSTS ?? 1_000);
const MALICIOUS_EVERY = 100;
const requester: Actor = { kind: 'slack', id: 'U0REQUEST' };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe.skipIf(!available)('Redis restarted mid fleet hunt', () => {
  const work = mkdtempSync(join(tmpdir(), 'wmi-redis-restart-'));
  let port = 0;
  let redis: ChildProcess | null = null;
  let service: RunningService | null = null;

  const startRedis = async () => {
    redis = spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--dir', work, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
    await waitFor(async () => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.includes('PONG'), 20_000, () => 'redis to listen');
  };
  const stopRedis = async () => {
    const child = redis;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };

  beforeAll(async () => {
    port = await freePort();
    await startRedis();
  });
  afterAll(async () => {
    await service?.stop();
    await stopRedis();
    rmSync(work, { recursive: true, force: true });
  });

  it(`loses no job and no approval, and completes a ${HOSTS}-host hunt`, async () => {
    const fleet = new FakeFleet();
    const hosts = Array.from({ length: HOSTS }, (_, index) => `fleet${String(index).padStart(4, '0')}`);
    hosts.forEach((host, index) => fleet.addHost(host, index % MALICIOUS_EVERY === 0 ? maliciousSubscription(`Implant${index}`) : []).script(host, { delayMs: 15 }));
    fleet.addHost('before01', maliciousSubscription('Earlier'));
    const config = loadConfig({
      NODE_ENV: 'test',
      REDIS_URL: `redis://127.0.0.1:${port}`,
      REDIS_PREFIX: 'restart',
      EVIDENCE_DIR: join(work, 'evidence'),
      PLAYBOOKS_DIR: join(REPO_ROOT, 'playbooks'),
      WORKER_CONCURRENCY: '16',
      JOB_BACKOFF_MS: '200',
      JOB_ATTEMPTS: '5',
      HUNT_LOOKBACK_HOURS: '0',
      EXECUTOR_TRANSPORT: 'local',
    });
    service = await startService(config, { serve: false, worker: true }, { executor: fleet, logger: pino({ level: 'silent' }) });
    const { engine, store } = service;

    const earlier = await engine.startHunt({ hosts: ['before01'], requestedBy: requester });
    await waitFor(async () => (await engine.getHunt(earlier.huntId))?.finishedAt ?? null, 30_000, () => 'the first hunt');
    const [pending] = await engine.listApprovals(earlier.huntId);
    expect(pending).toMatchObject({ status: 'pending' });

    const { huntId } = await engine.startHunt({ hosts, requestedBy: requester });
    await waitFor(async () => ((await engine.getHunt(huntId))?.progress?.done ?? 0) >= HOSTS / 4 || null, 120_000, () => 'a quarter of the hosts');
    const doneBefore = (await engine.getHunt(huntId))?.progress?.done ?? 0;
    await stopRedis();
    await sleep(1_500);
    await startRedis();

    const finished = await waitFor(async () => {
      const hunt = await engine.getHunt(huntId).catch(() => null);
      return hunt?.finishedAt ? hunt : null;
    }, 300_000, () => 'the hunt to finish after the restart');
    expect(finished.status).toBe('completed');
    const results = await store.hunts.getHostResults(huntId);
    expect(results).toHaveLength(HOSTS);
    expect(new Set(results.map((result) => result.host)).size).toBe(HOSTS);
    expect(results.every((result) => result.outcome === 'done')).toBe(true);
    const approvals = await engine.listApprovals(huntId);
    expect(approvals).toHaveLength(HOSTS / MALICIOUS_EVERY);
    expect(await engine.getApproval(pending!.approvalId)).toMatchObject({ status: 'pending', findings: pending!.findings });
    const audit = await store.audit.list({ count: 100_000 });
    expect(audit.filter((entry) => entry.action === 'hunt.finished' && entry.target === huntId)).toHaveLength(1);
    recordFigures('redis-restart', { hosts: HOSTS, doneBeforeRestart: doneBefore, approvals: approvals.length + 1, status: finished.status });
  }, 420_000);
});
