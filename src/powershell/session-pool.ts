import { CodedError, ErrorCode } from '../errors.js';
import type { PwshSession } from './pwsh-session.js';

export interface SessionPoolOptions {
  /** Most sessions alive at once; further callers wait their turn. */
  size: number;
  /** A session is disposed after this many invocations, so no shell lives (and grows) forever. */
  maxInvocationsPerSession: number;
  startSession: () => Promise<PwshSession>;
}

export interface SessionPoolStats {
  idle: number;
  busy: number;
  waiting: number;
  started: number;
  disposed: number;
}

interface Waiter {
  resolve: () => void;
  reject: (error: CodedError) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * A bounded pool of pwsh sessions reused across jobs. A session that failed in any way (timeout,
 * crash, script error) is disposed rather than reused.
 */
export class SessionPool {
  private readonly idle: PwshSession[] = [];
  private readonly waiters: Waiter[] = [];
  private busy = 0;
  private started = 0;
  private disposed = 0;
  private closed = false;

  constructor(private readonly options: SessionPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new CodedError(ErrorCode.Config, 'session pool size must be a positive integer');
    if (!Number.isInteger(options.maxInvocationsPerSession) || options.maxInvocationsPerSession < 1) {
      throw new CodedError(ErrorCode.Config, 'maxInvocationsPerSession must be a positive integer');
    }
  }

  /** Runs `work` on a session; `healthy` = false (or a throw) retires the session afterwards. */
  async use<T>(work: (session: PwshSession) => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.takeSlot(signal);
    let session: PwshSession | undefined;
    let reusable = false;
    try {
      session = await this.takeSession();
      const result = await work(session);
      reusable = true;
      return result;
    } finally {
      this.giveBack(session, reusable);
    }
  }

  stats(): SessionPoolStats {
    return { idle: this.idle.length, busy: this.busy, waiting: this.waiters.length, started: this.started, disposed: this.disposed };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(new CodedError(ErrorCode.Aborted, 'the session pool was closed'));
    const sessions = this.idle.splice(0);
    this.disposed += sessions.length;
    await Promise.all(sessions.map((session) => session.dispose()));
  }

  private takeSlot(signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new CodedError(ErrorCode.Aborted, 'the session pool is closed'));
    if (signal?.aborted) return Promise.reject(new CodedError(ErrorCode.Aborted, 'aborted before a session was free'));
    if (this.busy < this.options.size) {
      this.busy += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(new CodedError(ErrorCode.Aborted, 'aborted while waiting for a session'));
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private async takeSession(): Promise<PwshSession> {
    while (this.idle.length > 0) {
      const session = this.idle.pop()!;
      if (session.alive) return session;
      this.disposed += 1;
    }
    const session = await this.options.startSession();
    this.started += 1;
    return session;
  }

  private giveBack(session: PwshSession | undefined, reusable: boolean): void {
    if (session) {
      const keep = reusable && !this.closed && session.alive && session.invocations < this.options.maxInvocationsPerSession;
      if (keep) this.idle.push(session);
      else {
        this.disposed += 1;
        void session.dispose();
      }
    }
    const next = this.waiters.shift();
    if (next) {
      next.signal?.removeEventListener('abort', next.onAbort);
      next.resolve();
    } else {
      this.busy -= 1;
    }
  }
}
