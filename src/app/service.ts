import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IRouter, RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { HostExecutor } from '../domain/ports.js';
import { createHttpApp } from '../http/http-app.js';
import { ServiceMetrics } from '../http/metrics.js';
import { createQueueDashboard } from '../http/queue-dashboard.js';
import { PlaybookRegistry } from '../playbooks/playbook-registry.js';
import { fanOutPlan, type FanOutPlan } from '../queue/fan-out.js';
import { closeQueues, createQueues, type Queues } from '../queue/queues.js';
import { WorkerHost } from '../queue/worker-host.js';
import { loadAllowlist } from '../allowlist/load-allowlist.js';
import { createSlackApp, createSlackNotifier, createUploadPorts, type SlackApp } from '../slack/slack-app.js';
import { createPowerShellHostExecutor } from '../powershell/powershell-host-executor.js';
import { checkRedisDurability, createRedis } from '../store/redis-connection.js';
import { createStore, type Store } from '../store/store.js';
import { DomainAnalysis, type HuntAnalysis } from './analysis.js';
import { AnalyzeUploadJob } from './analyze-upload-job.js';
import { HuntEngine } from './hunt-engine.js';
import { JobHandlers } from './job-handlers.js';
import type { HuntNotifications } from './notifications.js';
import { UploadQueue } from './upload-queue.js';

/**
 * The composition root: one process runs the `serve` role (HTTP API, SIEM webhooks, Slack), the
 * `worker` role (jobs; the host operations), or both. Workers can run on a Windows jump host
 * against the same Redis (for WinRM/JEA) while `serve` runs in a Linux container. Everything
 * external is checked before the process says it is up: configuration (by the caller), Redis and
 * its eviction policy, the playbooks.
 */
export interface ServiceRoles {
  serve: boolean;
  worker: boolean;
}

export interface ServiceOverrides {
  logger?: Logger;
  /** A HostExecutor other than PowerShell (tests use an in-memory fleet). */
  executor?: HostExecutor;
  analysis?: HuntAnalysis;
  /** Where notify jobs go when Slack is not configured (tests). */
  notifications?: HuntNotifications;
  extraRouters?: Array<{ path: string; router: IRouter | RequestHandler }>;
}

export interface RunningService {
  engine: HuntEngine;
  store: Store;
  queues: Queues;
  /** The HTTP port actually bound (serve role), e.g. when HTTP_PORT is 0. */
  port: number | null;
  stop(): Promise<void>;
}

const QUEUE_DASHBOARD_PATH = '/admin/queues';

export async function startService(config: Config, roles: ServiceRoles, overrides: ServiceOverrides = {}): Promise<RunningService> {
  const logger = overrides.logger ?? pino({ level: config.logLevel, base: { service: 'wmi-hunter' } });
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => logger.warn({ err: error }, 'error while stopping'));
    }
  };
  try {
    const redis = createRedis(config.redis.url, 'client', (error) => logger.warn({ err: error }, 'redis connection error'));
    cleanups.push(() => redis.quit());
    await redis.ping();
    await checkRedisDurability(redis, config.redis.evictionCheck, (message, details) => logger.warn(details, message));

    const playbooks = await PlaybookRegistry.load(config.playbooksDir);
    playbooks.get(config.defaultPlaybook);
    const store = createStore(redis, { prefix: config.redis.prefix, evidenceDir: config.evidenceDir });
    const connection = { url: config.redis.url, maxRetriesPerRequest: null };
    const queues = createQueues(connection, {
      prefix: config.redis.prefix,
      attempts: config.jobs.attempts,
      backoffMs: config.jobs.backoffMs,
      backoffJitter: config.jobs.backoffJitter,
    });
    cleanups.push(() => closeQueues(queues));

    const fanOut = fanOutPlan({ workerConcurrency: config.jobs.workerConcurrency, globalConcurrency: config.jobs.globalConcurrency });
    const notifications = overrides.notifications ?? (config.slack ? createSlackNotifier({ config: slackAppConfig(config), redis }) : null);
    const engine = new HuntEngine({
      store,
      queues,
      playbooks,
      settings: {
        defaultPlaybook: config.defaultPlaybook,
        lookbackHours: config.hunt.lookbackHours,
        maxEvents: config.hunt.maxEvents,
        alertHostWindowSeconds: config.webhooks.hostWindowMinutes * 60,
        approvalTtlMinutes: config.hunt.approvalTtlMinutes,
        notifications: notifications !== null,
        hostJobsAtOnce: fanOut.jobsAtOnce,
      },
    });
    const metrics = new ServiceMetrics(queues, store.stats);

    if (roles.worker) {
      await startWorkers(config, { logger, store, queues, playbooks, engine, notifications, metrics, overrides, cleanups, fanOut });
    }
    let port: number | null = null;
    if (roles.serve || config.jobs.metricsPort > 0) {
      port = await startHttp(config, roles, { logger, store, queues, playbooks, engine, metrics, redis, overrides, cleanups });
    }
    logger.info({ roles, port, playbooks: playbooks.names(), slack: config.slack?.mode ?? 'off' }, 'wmi-hunter started');
    return { engine, store, queues, port, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface Parts {
  logger: Logger;
  store: Store;
  queues: Queues;
  playbooks: PlaybookRegistry;
  engine: HuntEngine;
  metrics: ServiceMetrics;
  overrides: ServiceOverrides;
  cleanups: Array<() => Promise<unknown>>;
}

async function startWorkers(config: Config, parts: Parts & { notifications: HuntNotifications | null; fanOut: FanOutPlan }): Promise<void> {
  const { logger, queues, cleanups } = parts;
  let executor = parts.overrides.executor;
  if (!executor) {
    const powershell = createPowerShellHostExecutor({
      transportFor: () => config.executor.transport,
      pwshPath: config.executor.pwshPath,
      poolSize: config.executor.sessions,
      limits: { collectTimeoutMs: config.jobs.timeoutsMs.hunt, removeTimeoutMs: config.jobs.timeoutsMs.remove, restoreTimeoutMs: config.jobs.timeoutsMs.restore },
    });
    executor = powershell.executor;
    cleanups.push(powershell.close);
    // Jobs are taken only once a PowerShell session is up: a wrong PWSH_PATH fails the boot, not the
    // first removal, and a replacement worker does not start a job it then waits seconds to run.
    await powershell.pool.use(async () => undefined);
  }
  // The global limit counts jobs; each job works on at most hostsAtOncePerJob hosts, so hosts at once stay within QUEUE_GLOBAL_CONCURRENCY.
  await queues.hunt.setGlobalConcurrency(parts.fanOut.jobsAtOnce);
  const workerHost = new WorkerHost(
    { url: config.redis.url, maxRetriesPerRequest: null },
    config.redis.prefix,
    (error, queue) => logger.error({ err: error, queue }, 'worker error'),
    (queue, outcome, seconds) => parts.metrics.jobDuration.observe({ queue, outcome }, seconds),
    { lockMs: config.jobs.lockMs, maxStalled: config.jobs.maxStalled },
  );
  const concurrency = config.jobs.workerConcurrency;
  const handlers = new JobHandlers({
    store: parts.store,
    queues,
    playbooks: parts.playbooks,
    engine: parts.engine,
    executor,
    analysis: parts.overrides.analysis ?? (await DomainAnalysis.withDefaultAllowlist(config.allowlistFiles)),
    notifications: parts.notifications,
    timeoutsMs: config.jobs.timeoutsMs,
    concurrency: { hunt: concurrency, remove: Math.max(1, Math.ceil(concurrency / 4)), restore: 1, notify: concurrency },
    hostsAtOncePerJob: parts.fanOut.hostsAtOncePerJob,
    shutdownSignal: workerHost.shutdownSignal,
    sweepHosts: config.hunt.sweepHosts,
    ...(config.slack
      ? {
          uploads: new AnalyzeUploadJob({
            ...createUploadPorts({ config: slackAppConfig(config), redis: parts.store.redis }),
            store: parts.store,
            engine: parts.engine,
            playbooks: parts.playbooks,
            defaultPlaybook: config.defaultPlaybook,
            allowlist: await loadAllowlist({ files: config.allowlistFiles }),
            maxBytes: config.slack.uploadMaxBytes,
            timeoutMs: config.jobs.timeoutsMs.hunt,
            concurrency: Math.max(1, Math.ceil(concurrency / 4)),
            shutdownSignal: workerHost.shutdownSignal,
          }),
        }
      : {}),
  });
  workerHost.start(handlers.workerSpecs());
  cleanups.push(() => workerHost.close(config.jobs.shutdownGraceMs));
  await workerHost.waitUntilReady();
  const scheduled = await handlers.syncSchedules();
  if (scheduled.length > 0) logger.info({ playbooks: scheduled, hosts: config.hunt.sweepHosts.length }, 'sweeps scheduled');
}

async function startHttp(config: Config, roles: ServiceRoles, parts: Parts & { redis: Redis }): Promise<number> {
  const { logger, cleanups } = parts;
  let slack: SlackApp | null = null;
  if (roles.serve && config.slack) {
    slack = await createSlackApp({
      engine: parts.engine,
      config: slackAppConfig(config),
      mode: config.slack.mode,
      redis: parts.redis,
      uploads: new UploadQueue({ store: parts.store, queues: parts.queues }),
    });
    cleanups.push(() => slack!.stop());
  }
  const extraRouters = [...(parts.overrides.extraRouters ?? []), ...(slack?.router ? [{ path: '/', router: slack.router }] : [])];
  const app = roles.serve
    ? createHttpApp({
        engine: parts.engine,
        playbooks: parts.playbooks,
        alertGuard: parts.store.alerts,
        audit: parts.store.audit,
        metrics: parts.metrics,
        settings: {
          bodyLimit: config.http.bodyLimit,
          trustProxy: config.http.trustProxy,
          apiTokens: config.http.apiTokens,
          webhookSecrets: config.webhooks.secrets,
          maxSkewSeconds: config.webhooks.maxSkewSeconds,
          alertDedupTtlSeconds: config.webhooks.dedupTtlHours * 3600,
          defaultPlaybook: config.defaultPlaybook,
        },
        readiness: { redis: async () => (await parts.redis.ping()) === 'PONG', workers: () => parts.queues.hunt.getWorkersCount() },
        queueDashboard: createQueueDashboard(parts.queues, QUEUE_DASHBOARD_PATH),
        extraRouters,
        log: (error, message) => logger.error({ err: error }, message),
      })
    : null;
  // Slack's `/wmi hunt` commands are taken ahead of express; everything else goes through it.
  const listener =
    app && slack?.listenerAhead ? slack.listenerAhead(app, (status) => parts.metrics.httpRequests.inc({ route: '/slack/events', status: String(status) })) : app;
  const server: Server = listener
    ? createServer(listener)
    : createServer((request, response) => {
        if (request.url === '/metrics') {
          void parts.metrics.registry.metrics().then((text) => response.writeHead(200, { 'content-type': parts.metrics.registry.contentType }).end(text));
        } else {
          response.writeHead(request.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(request.url === '/healthz' ? { status: 'ok' } : { error: { code: 'E_NOT_FOUND', message: 'not found' } }));
        }
      });
  const port = app ? config.http.port : config.jobs.metricsPort;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, config.http.host, () => resolve());
  });
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  if (slack) await slack.start();
  return (server.address() as AddressInfo).port;
}

function slackAppConfig(config: Config) {
  const slack = config.slack!;
  return {
    botToken: slack.botToken,
    ...(slack.signingSecret ? { signingSecret: slack.signingSecret } : {}),
    ...(slack.appToken ? { appToken: slack.appToken } : {}),
    ...(slack.defaultChannel ? { alertChannel: slack.defaultChannel } : {}),
    ...(slack.apiUrl ? { apiUrl: slack.apiUrl } : {}),
    keyPrefix: `${config.redis.prefix}:slack`,
    uploadMaxBytes: slack.uploadMaxBytes,
    hostGroups: config.hostGroups,
  };
}

/** Stops the service on SIGTERM / SIGINT: running jobs finish or go back to the queue. */
export function stopOnSignals(service: RunningService, logger: Pick<Logger, 'info' | 'error'>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping: running jobs finish or return to the queue');
      service
        .stop()
        .catch((error: unknown) => logger.error({ err: error }, 'stop failed'))
        .finally(() => {
          process.off('SIGTERM', handler);
          process.off('SIGINT', handler);
          resolve();
        });
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}
