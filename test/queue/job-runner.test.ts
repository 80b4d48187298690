import { Queue, Worker, type Job } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CodedError, ErrorCode } from '../../src/errors.js';
import { runJob } from '../../src/queue/job-runner.js';
import { bullPrefix, createQueues, defaultJobOptions, closeQueues } from '../../src/queue/queues.js';
import { jobIds } from '../../src/queue/queue-names.js';
import { eventually } from '../app/engine-harness.js';
import { redisAvailable, redisTestContext, type RedisTestContext } from '../app/redis-harness.js';

describe('queue defaults', () => {
  it('retry transient failures with exponential backoff and jitter', () => {
    expect(defaultJobOptions({ prefix: 'p', attempts: 4, backoffMs: 1000, backoffJitter: 0.5 })).toMatchObject({
      attempts: 4,
      backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
    });
  });

  it('make job ids deterministic and free of the ":" BullMQ refuses', () => {
    expect(jobIds.host('TH-WMI-20261129-001', 'WS01.corp.example')).toBe('host-TH-WMI-20261129-001-ws01.corp.example');
    expect(Object.values(jobIds).map((make) => (make as (a: string, b: string) => string)('TH-WMI-20261129-001', 'x')).join('')).not.toContain(':');
  });
});

describe.skipIf(!redisAvailable)('runJob on a real queue', () => {
  let context: RedisTestContext;
  let queue: Queue;
  let worker: Worker | null = null;
  beforeEach(async () => {
    context = await redisTestContext();
    queue = createQueues({ url: context.url, maxRetriesPerRequest: null }, { prefix: context.prefix, attempts: 3, backoffMs: 10, backoffJitter: 0.5 }).hunt;
  });
  afterEach(async () => {
    await worker?.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await context.cleanup();
  });

  function work(handler: (job: Job, signal: AbortSignal) => Promise<unknown>, timeoutMs = 5_000, finalFailures: string[] = []) {
    worker = new Worker(
      'hunt',
      (job, token) =>
        runJob(job, token, { timeoutMs, shutdownSignal: new AbortController().signal, onFinalFailure: async (error) => void finalFailures.push(error.code) }, ({ signal }) => handler(job, signal)),
      { connection: { url: context.url, maxRetriesPerRequest: null }, prefix: bullPrefix(context.prefix) },
    );
  }

  const settled = (jobId: string) =>
    eventually(async () => {
      const state = await queue.getJobState(jobId);
      // Read the job after its state is final, so its fields are the final ones too.
      return state === 'completed' || state === 'failed' ? { job: (await queue.getJob(jobId))!, state } : null;
    }, `job ${jobId}`);

  it('retries transient errors until an attempt succeeds', async () => {
    let calls = 0;
    work(async () => {
      calls += 1;
      if (calls < 3) throw new CodedError(ErrorCode.HostUnreachable, 'no route');
      return 'ok';
    });
    await queue.add('host', {}, { jobId: 'j1' });
    const { job, state } = await settled('j1');
    expect(state).toBe('completed');
    expect(calls).toBe(3);
    expect(job.returnvalue).toBe('ok');
  });

  it('fails permanent errors at once as unrecoverable, telling the final-failure hook', async () => {
    let calls = 0;
    const finals: string[] = [];
    work(async () => {
      calls += 1;
      throw new CodedError(ErrorCode.AccessDenied, 'Access is denied');
    }, 5_000, finals);
    await queue.add('host', {}, { jobId: 'j2' });
    const { job, state } = await settled('j2');
    expect(state).toBe('failed');
    expect(calls).toBe(1);
    expect(job.failedReason).toBe('E_ACCESS_DENIED: Access is denied');
    expect(finals).toEqual([ErrorCode.AccessDenied]);
  });

  it('aborts the work at the timeout through its signal, and gives up after the last attempt', async () => {
    const aborted: unknown[] = [];
    const finals: string[] = [];
    work(
      (_job, signal) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => {
            aborted.push(signal.reason);
            reject(signal.reason);
          });
        }),
      50,
      finals,
    );
    await queue.add('host', {}, { jobId: 'j3' });
    const { job, state } = await settled('j3');
    expect(state).toBe('failed');
    expect(aborted).toHaveLength(3);
    expect(aborted.every((reason) => reason instanceof CodedError && reason.code === ErrorCode.Timeout)).toBe(true);
    expect(job.attemptsMade).toBe(3);
    expect(finals).toEqual([ErrorCode.Timeout]);
  });

  it('closes every queue it created', async () => {
    const queues = createQueues({ url: context.url, maxRetriesPerRequest: null }, { prefix: `${context.prefix}-x`, attempts: 1, backoffMs: 10, backoffJitter: 0 });
    await Promise.all(Object.values(queues).map((entry) => entry.waitUntilReady()));
    await closeQueues(queues);
    expect(Object.values(queues).every((entry) => entry.closing !== undefined)).toBe(true);
  });
});
