/**
 * Fleet fan-out: one hunt of N hosts (default 1,000 then 10,000) through the real service — the
 * composition root startService (worker role), its BullMQ queues and workers, the store, evidence,
 * analysis and tracing — on a throw-away redis-server, with a HostExecutor that answers every
 * collect after a fixed 100 ms (support/fixed-latency-executor.ts) at a concurrency of 200. The
 * latency-bound ideal is N / 200 x 0.1 s; wall time runs from startHunt to the hunt's finish.
 * Per-host overhead = (wall - ideal) x concurrency / N: what the service adds to each host's slot.
 * The instrument polls only the hunt's `finishedAt` and status fields (one small Redis read every 25 ms) rather
 * than the whole summary, whose host list a 10,000-host hunt would re-parse 40 times a second on
 * the service's own CPU; the summary is read once at the end.
 *
 * FANOUT_PLAYBOOK runs the hunt under another playbook than the default (e.g. the scheduled sweep,
 * wmi-subscription-sweep, whose report keeps per-host baselines); the figures of record use the default.
 *
 *   npx tsx bench/fanout.ts           (FANOUT_HOSTS=1000,10000  FANOUT_CONCURRENCY=200  FANOUT_LATENCY_MS=100  FANOUT_PLAYBOOK=)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startService } from '../src/app/service.js';
import { loadConfig } from '../src/config/config.js';
import { emitResult, isEntryPoint, REPO_ROOT } from './support/child.js';
import { FixedLatencyExecutor } from './support/fixed-latency-executor.js';
import { startRedis } from './support/redis-server.js';
import { msSince, peakRssMb, round } from './support/stats.js';

export interface FanoutRun {
  hosts: number;
  concurrency: number;
  latencyMs: number;
  idealSeconds: number;
  wallSeconds: number;
  ratioToIdeal: number;
  perHostOverheadMs: number;
  /** From startHunt until the first collect began (enqueueing the fleet, workers picking up). */
  firstCollectAfterMs: number;
  /** From the last collect's answer until the hunt was finished (fan-in, finalize, report). */
  finishAfterLastAnswerMs: number;
  maxConcurrentCollects: number;
  /** CPU the service process (workers, queues, store, analysis) used during the hunt. */
  serviceCpuSeconds: number;
  /** CPU redis-server used during the hunt (INFO cpu). */
  redisCpuSeconds: number;
  status: string;
  hostsDone: number;
  hostsFailed: number;
}

export interface FanoutBenchResult {
  runs: FanoutRun[];
  /** The largest run's figures. */
  idealSeconds: number;
  wallSeconds: number;
  ratioToIdeal: number;
  perHostOverheadMs: number;
  overheadGrowth: { fromHosts: number; toHosts: number; perHostOverheadMs: [number, number] } | null;
  peakRssMb: number;
  redisVersion: string;
  target: { ratioToIdealAtMost: number; met: boolean };
}

export async function runFanoutBench(options: { hosts?: number[]; concurrency?: number; latencyMs?: number } = {}): Promise<FanoutBenchResult> {
  const sizes = options.hosts ?? (process.env.FANOUT_HOSTS ?? '1000,10000').split(',').map(Number);
  const concurrency = options.concurrency ?? Number(process.env.FANOUT_CONCURRENCY ?? 200);
  const latencyMs = options.latencyMs ?? Number(process.env.FANOUT_LATENCY_MS ?? 100);
  const redis = await startRedis();
  const evidenceDir = await mkdtemp(join(tmpdir(), 'wmi-hunter-bench-evidence-'));
  const runs: FanoutRun[] = [];
  try {
    for (const [index, hosts] of sizes.entries()) {
      const config = loadConfig({
        REDIS_URL: redis.url,
        REDIS_PREFIX: `bench-fanout-${index}`,
        EVIDENCE_DIR: join(evidenceDir, String(index)),
        PLAYBOOKS_DIR: join(REPO_ROOT, 'playbooks'),
        EXECUTOR_TRANSPORT: 'local',
        WORKER_CONCURRENCY: String(concurrency),
        QUEUE_GLOBAL_CONCURRENCY: String(concurrency),
        SHUTDOWN_GRACE_SECONDS: '1',
        LOG_LEVEL: 'silent',
      });
      const executor = new FixedLatencyExecutor(latencyMs);
      const service = await startService(config, { serve: false, worker: true }, { executor, logger: pino({ level: 'silent' }) });
      try {
        runs.push(await huntOnce(service, executor, hosts, concurrency, latencyMs, () => redisCpuSeconds(service.store.redis)));
      } finally {
        await service.stop();
      }
    }
  } finally {
    await redis.stop();
    await rm(evidenceDir, { recursive: true, force: true });
  }
  const largest = runs.reduce((a, b) => (b.hosts > a.hosts ? b : a));
  const smallest = runs.reduce((a, b) => (b.hosts < a.hosts ? b : a));
  return {
    runs,
    idealSeconds: largest.idealSeconds,
    wallSeconds: largest.wallSeconds,
    ratioToIdeal: largest.ratioToIdeal,
    perHostOverheadMs: largest.perHostOverheadMs,
    overheadGrowth: runs.length > 1 ? { fromHosts: smallest.hosts, toHosts: largest.hosts, perHostOverheadMs: [smallest.perHostOverheadMs, largest.perHostOverheadMs] } : null,
    peakRssMb: peakRssMb(),
    redisVersion: redis.version,
    target: { ratioToIdealAtMost: 1.1, met: largest.ratioToIdeal <= 1.1 },
  };
}

async function huntOnce(
  service: Awaited<ReturnType<typeof startService>>,
  executor: FixedLatencyExecutor,
  hostCount: number,
  concurrency: number,
  latencyMs: number,
  redisCpu: () => Promise<number>,
): Promise<FanoutRun> {
  const hosts = Array.from({ length: hostCount }, (_, index) => `bench-host-${String(index).padStart(5, '0')}`);
  const redisCpuBefore = await redisCpu();
  const cpuBefore = process.cpuUsage();
  const began = process.hrtime.bigint();
  const startedAt = performance.now();
  const playbook = process.env.FANOUT_PLAYBOOK;
  const { huntId } = await service.engine.startHunt({ hosts, ...(playbook ? { playbook } : {}), requestedBy: { kind: 'cli', id: 'bench' } });
  const deadline = Date.now() + Math.max(120_000, hostCount * 20);
  // Finished once its final status is set (finish() writes finishedAt, then the status).
  const finished = async () => {
    const [finishedAt, status] = await service.store.redis.hmget(service.store.keys.hunt(huntId), 'finishedAt', 'status');
    return finishedAt !== null && status !== 'queued' && status !== 'running';
  };
  for (;;) {
    if (await finished()) {
      const wallMs = msSince(began);
      const cpu = process.cpuUsage(cpuBefore);
      const redisCpuSeconds = (await redisCpu()) - redisCpuBefore;
      const summary = (await service.engine.getHunt(huntId))!;
      const idealSeconds = (hostCount / concurrency) * (latencyMs / 1000);
      const wallSeconds = wallMs / 1000;
      return {
        hosts: hostCount,
        concurrency,
        latencyMs,
        idealSeconds: round(idealSeconds, 3),
        wallSeconds: round(wallSeconds, 3),
        ratioToIdeal: round(wallSeconds / idealSeconds, 3),
        perHostOverheadMs: round(((wallSeconds - idealSeconds) * 1000 * concurrency) / hostCount, 2),
        firstCollectAfterMs: round((executor.firstCallAt ?? startedAt) - startedAt, 1),
        finishAfterLastAnswerMs: round(performance.now() - (executor.lastAnswerAt ?? startedAt), 1),
        maxConcurrentCollects: executor.maxInFlight,
        serviceCpuSeconds: round((cpu.user + cpu.system) / 1e6, 2),
        redisCpuSeconds: round(redisCpuSeconds, 2),
        status: summary.status,
        hostsDone: summary.progress.done,
        hostsFailed: summary.progress.failed,
      };
    }
    if (Date.now() > deadline) throw new Error(`hunt ${huntId} of ${hostCount} hosts did not finish: ${JSON.stringify((await service.engine.getHunt(huntId))?.progress)}`);
    // Every 25 ms is at most 0.5% late on 5 s.
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** user + sys CPU seconds of redis-server so far. */
async function redisCpuSeconds(redis: { info(section: string): Promise<string> }): Promise<number> {
  const info = await redis.info('cpu');
  const value = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return value('used_cpu_user') + value('used_cpu_sys');
}

if (isEntryPoint(import.meta.url)) {
  const result = await runFanoutBench();
  emitResult(result);
}
