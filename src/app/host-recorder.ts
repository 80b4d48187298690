import type { Finding } from '../domain/finding.js';
import type { AuditEntryInput } from '../store/audit-log.js';
import type { HostResult } from '../store/hunt-store.js';

/** What one host of a hunt came to: its result, its findings and the audit entry of its evidence. */
export interface HostOutcome {
  result: HostResult;
  findings: Finding[];
  audit: AuditEntryInput | null;
}

/**
 * Gathers a job's finished hosts and writes them in as few writes as the pace allows: the first
 * outcome starts a write, and the outcomes that finish while it is in flight go together in the
 * next. A failed write is kept and thrown to the job (its hosts stay unrecorded, so the job's retry
 * does them again); `settle` waits for every outcome added so far to be written, and writes at
 * least once so that a job with nothing new still learns whether the hunt is complete.
 */
export class HostRecorder {
  private pending: HostOutcome[] = [];
  /** The write loop in progress, when `draining`. */
  private writing: Promise<void> = Promise.resolve();
  private draining = false;
  private failure: unknown = null;
  private written = false;

  constructor(private readonly write: (outcomes: HostOutcome[]) => Promise<void>) {}

  add(outcome: HostOutcome): void {
    this.pending.push(outcome);
    if (!this.draining && this.failure === null) this.writing = this.drain();
  }

  throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }

  async settle(): Promise<void> {
    if (!this.written && !this.draining && this.failure === null) this.writing = this.drain(true);
    while (this.draining) await this.writing;
    this.throwIfFailed();
  }

  private async drain(evenIfEmpty = false): Promise<void> {
    this.draining = true;
    try {
      while ((this.pending.length > 0 || evenIfEmpty) && this.failure === null) {
        evenIfEmpty = false;
        const outcomes = this.pending;
        this.pending = [];
        await this.write(outcomes);
        this.written = true;
      }
    } catch (error) {
      this.failure = error;
    } finally {
      this.draining = false;
    }
  }
}
