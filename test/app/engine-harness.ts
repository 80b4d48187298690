import { fileURLToPath } from 'node:url';
import { DomainAnalysis, type HuntAnalysis } from '../../src/app/analysis.js';
import { HuntEngine, type EngineSettings } from '../../src/app/hunt-engine.js';
import { JobHandlers, type JobHandlerDeps } from '../../src/app/job-handlers.js';
import type { HuntNotifications } from '../../src/app/notifications.js';
import { PlaybookRegistry } from '../../src/playbooks/playbook-registry.js';
import { closeQueues, createQueues, type Queues } from '../../src/queue/queues.js';
import { WorkerHost } from '../../src/queue/worker-host.js';
import { createStore, type Store } from '../../src/store/store.js';
import { FakeFleet } from './fake-host.js';
import { redisTestContext, type RedisTestContext } from './redis-harness.js';

export const PLAYBOOKS_DIR = fileURLToPath(new URL('../../playbooks', import.meta.url));

export interface EngineHarness {
  context: RedisTestContext;
  store: Store;
  queues: Queues;
  engine: HuntEngine;
  fleet: FakeFleet;
  playbooks: PlaybookRegistry;
  handlers: JobHandlers;
  /** The job handlers of each started worker host (each stands for a worker process). */
  workerHandlers: JobHandlers[];
  startWorkers(): Promise<WorkerHost>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  settings?: Partial<EngineSettings>;
  timeoutsMs?: Partial<JobHandlerDeps['timeoutsMs']>;
  attempts?: number;
  notifications?: HuntNotifications;
  playbooksDir?: string;
  sweepHosts?: string[];
  concurrency?: Partial<JobHandlerDeps['concurrency']>;
  hostsAtOncePerJob?: number;
  recordedHuntsMaxChars?: number;
  now?: () => Date;
  analysis?: (real: DomainAnalysis) => HuntAnalysis;
}

export async function engineHarness(options: HarnessOptions = {}): Promise<EngineHarness> {
  const context = await redisTestContext();
  const store = createStore(context.redis, { prefix: context.prefix, evidenceDir: context.evidenceDir });
  const connection = { url: context.url, maxRetriesPerRequest: null };
  const queues = createQueues(connection, { prefix: context.prefix, attempts: options.attempts ?? 2, backoffMs: 20, backoffJitter: 0.5 });
  const playbooks = await PlaybookRegistry.load(options.playbooksDir ?? PLAYBOOKS_DIR);
  const engine = new HuntEngine({
    ...(options.now ? { now: options.now } : {}),
    store,
    queues,
    playbooks,
    settings: {
      defaultPlaybook: 'wmi-persistence-hunt',
      lookbackHours: 24,
      maxEvents: 1000,
      alertHostWindowSeconds: 3600,
      approvalTtlMinutes: 60,
      notifications: options.notifications !== undefined,
      ...options.settings,
    },
  });
  const fleet = new FakeFleet();
  const realAnalysis = await DomainAnalysis.withDefaultAllowlist();
  const analysis = options.analysis ? options.analysis(realAnalysis) : realAnalysis;
  const hosts: WorkerHost[] = [];
  let handlers: JobHandlers | null = null;
  const makeHandlers = (shutdownSignal: AbortSignal) =>
    new JobHandlers({
      store,
      queues,
      playbooks,
      engine,
      executor: fleet,
      analysis,
      notifications: options.notifications ?? null,
      timeoutsMs: { hunt: 5_000, remove: 5_000, restore: 5_000, ...options.timeoutsMs },
      concurrency: { hunt: 4, remove: 2, restore: 1, notify: 2, ...options.concurrency },
      shutdownSignal,
      sweepHosts: options.sweepHosts ?? [],
      hostBusyDelayMs: 50,
      ...(options.hostsAtOncePerJob ? { hostsAtOncePerJob: options.hostsAtOncePerJob } : {}),
      ...(options.recordedHuntsMaxChars !== undefined ? { recordedHuntsMaxChars: options.recordedHuntsMaxChars } : {}),
    });
  const workerHandlers: JobHandlers[] = [];
  handlers = makeHandlers(new AbortController().signal);
  return {
    context,
    store,
    queues,
    engine,
    fleet,
    playbooks,
    handlers,
    workerHandlers,
    async startWorkers() {
      const host = new WorkerHost(connection, context.prefix, () => undefined);
      const hostHandlers = makeHandlers(host.shutdownSignal);
      workerHandlers.push(hostHandlers);
      host.start(hostHandlers.workerSpecs());
      await host.waitUntilReady();
      hosts.push(host);
      return host;
    },
    async close() {
      await Promise.all(hosts.map((host) => host.close(0)));
      await Promise.all(Object.values(queues).map((queue) => queue.obliterate({ force: true }).catch(() => undefined)));
      await closeQueues(queues);
      await context.cleanup();
    },
  };
}

/** Polls until the check returns a value (not a timing assertion: it only bounds how long to wait). */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, what: string, limitMs = 20_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
