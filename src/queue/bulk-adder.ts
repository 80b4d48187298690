import type { JobsOptions, Queue } from 'bullmq';

export interface BulkJob {
  name: string;
  data: unknown;
  opts: JobsOptions;
}

/**
 * Adds the jobs of callers that arrive in the same event-loop turn to one queue in one `addBulk`
 * (one pipeline, one write, one read), instead of a pipeline per caller: under a burst of hunts
 * started together that is a fraction of the CPU per job. Each caller's promise settles only once
 * its own jobs are in Redis. When a shared bulk fails, every caller's jobs are added again on their
 * own, so one caller's failure (or a lost reply) is not reported to the others: job ids are
 * deterministic, and adding a job whose id is already in the queue changes nothing.
 */
export class BulkAdder {
  private pending: Array<{ jobs: BulkJob[]; settle: (error?: unknown) => void }> = [];

  constructor(private readonly queue: Queue) {}

  add(jobs: BulkJob[]): Promise<void> {
    if (jobs.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ jobs, settle: (error) => (error === undefined ? resolve() : reject(error)) });
    });
  }

  private flush(): void {
    const callers = this.pending;
    this.pending = [];
    this.addAll(callers.flatMap((caller) => caller.jobs)).then(
      () => {
        for (const caller of callers) caller.settle();
      },
      (error: unknown) => {
        if (callers.length === 1) {
          callers[0]!.settle(error);
          return;
        }
        for (const caller of callers) this.addAll(caller.jobs).then(() => caller.settle(), (own: unknown) => caller.settle(own ?? error));
      },
    );
  }

  /** A lone job goes by `add`, which runs its script directly rather than through a pipeline. */
  private async addAll(jobs: BulkJob[]): Promise<void> {
    if (jobs.length === 1) await this.queue.add(jobs[0]!.name, jobs[0]!.data, jobs[0]!.opts);
    else await this.queue.addBulk(jobs);
  }
}
