import { setMaxListeners } from 'node:events';
import { Worker, type ConnectionOptions, type Job, type Processor } from 'bullmq';
import { bullPrefix } from './queues.js';
import type { QueueName } from './queue-names.js';

/**
 * The workers of one process. Shutdown (SIGTERM) stops taking new jobs, lets running jobs finish
 * for the grace period, then aborts the rest, which put themselves back in the wait list (see
 * job-runner.ts): a job is never lost and never counted as failed because of a restart.
 */
export interface WorkerSpec {
  queue: QueueName;
  concurrency: number;
  processor: (job: Job, token: string | undefined, cancelSignal?: AbortSignal) => Promise<unknown>;
}

/** How a dead worker's jobs are taken over: its lock expires after `lockMs`, then another worker retries. */
export interface StallPolicy {
  lockMs: number;
  /** Take-overs a job survives; more and it fails (a job that kills its worker each time). */
  maxStalled: number;
}

const DEFAULT_STALL_POLICY: StallPolicy = { lockMs: 30_000, maxStalled: 5 };

export class WorkerHost {
  private readonly workers: Worker[] = [];
  private readonly shutdownController = new AbortController();
  private closing: Promise<void> | null = null;

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly prefix: string,
    private readonly onError: (error: Error, queue: QueueName) => void,
    /** Told of every job that finished (completed, or failed for this attempt), with its run time. */
    private readonly onJobFinished?: (queue: QueueName, outcome: 'completed' | 'failed', seconds: number) => void,
    private readonly stallPolicy: StallPolicy = DEFAULT_STALL_POLICY,
  ) {
    // Every running job listens on the one shutdown signal; hundreds at once is the design, not a leak.
    setMaxListeners(0, this.shutdownController.signal);
  }

  /** Aborted when the shutdown grace period is over; jobs pass it to runJob. */
  get shutdownSignal(): AbortSignal {
    return this.shutdownController.signal;
  }

  start(specs: WorkerSpec[]): void {
    for (const spec of specs) {
      const worker = new Worker(spec.queue, spec.processor as Processor, {
        connection: this.connection,
        prefix: bullPrefix(this.prefix),
        concurrency: spec.concurrency,
        autorun: true,
        lockDuration: this.stallPolicy.lockMs,
        stalledInterval: this.stallPolicy.lockMs,
        maxStalledCount: this.stallPolicy.maxStalled,
      });
      worker.on('error', (error) => this.onError(error, spec.queue));
      const report = (job: Job | undefined, outcome: 'completed' | 'failed') => {
        if (job?.processedOn && job.finishedOn) this.onJobFinished?.(spec.queue, outcome, (job.finishedOn - job.processedOn) / 1000);
      };
      worker.on('completed', (job) => report(job, 'completed'));
      worker.on('failed', (job) => report(job, 'failed'));
      this.workers.push(worker);
    }
  }

  async waitUntilReady(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.waitUntilReady()));
  }

  running(): boolean {
    return this.workers.some((worker) => worker.isRunning());
  }

  async close(graceMs: number): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      const timer = setTimeout(() => this.shutdownController.abort(), graceMs);
      try {
        await Promise.all(this.workers.map((worker) => worker.close()));
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.closing;
  }
}
