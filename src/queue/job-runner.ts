import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { CodedError, ErrorCode, asCodedError } from '../errors.js';

/**
 * Runs one job's work under an AbortSignal that fires on the job's timeout, on a cancel from
 * BullMQ, or when the worker's shutdown grace runs out; the signal goes down to the PowerShell
 * invocation. It maps outcomes to BullMQ's retry semantics:
 * - transient CodedErrors (timeouts, unreachable hosts) and unknown errors are retried with backoff;
 * - permanent CodedErrors (bad input, access denied, conflicts) become UnrecoverableError;
 * - a shutdown puts the job back in the wait list without spending an attempt.
 */
export class ShutdownAbort extends Error {
  constructor() {
    super('worker is shutting down');
    this.name = 'ShutdownAbort';
  }
}

export interface RunContext {
  signal: AbortSignal;
  /** True on the last attempt BullMQ will make (the job fails for good if this one throws). */
  finalAttempt: boolean;
}

export interface JobRunOptions {
  timeoutMs: number;
  /** Aborted by the worker host when the shutdown grace period is over. */
  shutdownSignal: AbortSignal;
  /** BullMQ's own cancel signal for this job, when it passes one. */
  cancelSignal?: AbortSignal;
  /** Called once when the job fails for good (permanent error or last attempt), before it is marked failed. */
  onFinalFailure?: (error: CodedError) => Promise<void>;
}

export function isFinalAttempt(job: Job, error?: unknown): boolean {
  const permanent = error instanceof CodedError && !error.transient;
  return permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

export async function runJob<T>(job: Job, token: string | undefined, options: JobRunOptions, work: (context: RunContext) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new CodedError(ErrorCode.Timeout, `job ${job.id} timed out after ${options.timeoutMs} ms`, { jobId: job.id })),
    options.timeoutMs,
  );
  const onShutdown = () => controller.abort(new ShutdownAbort());
  const onCancel = () => controller.abort(new CodedError(ErrorCode.Aborted, `job ${job.id} was cancelled`, { jobId: job.id }));
  if (options.shutdownSignal.aborted) onShutdown();
  options.shutdownSignal.addEventListener('abort', onShutdown, { once: true });
  options.cancelSignal?.addEventListener('abort', onCancel, { once: true });
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  aborted.catch(() => undefined);
  try {
    return await Promise.race([work({ signal: controller.signal, finalAttempt: isFinalAttempt(job) }), aborted]);
  } catch (thrown) {
    if (thrown instanceof DelayedError || thrown instanceof WaitingError || thrown instanceof UnrecoverableError) throw thrown;
    if (thrown instanceof ShutdownAbort || controller.signal.reason instanceof ShutdownAbort) {
      if (token) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      throw thrown;
    }
    // Whatever the work threw after an abort (often its own E_ABORTED), the abort's reason is the cause.
    const error = asCodedError(controller.signal.aborted ? controller.signal.reason : thrown);
    if (isFinalAttempt(job, error)) await options.onFinalFailure?.(error);
    if (!error.transient) throw new UnrecoverableError(`${error.code}: ${error.message}`);
    throw new Error(`${error.code}: ${error.message}`, { cause: error });
  } finally {
    clearTimeout(timer);
    options.shutdownSignal.removeEventListener('abort', onShutdown);
    options.cancelSignal?.removeEventListener('abort', onCancel);
  }
}

/** Puts a job back to run later without spending an attempt (e.g. its host is locked by another job). */
export async function postpone(job: Job, token: string | undefined, delayMs: number): Promise<never> {
  if (!token) throw new CodedError(ErrorCode.Conflict, `job ${job.id} cannot be postponed without a lock token`);
  await job.moveToDelayed(Date.now() + delayMs, token);
  throw new DelayedError();
}
