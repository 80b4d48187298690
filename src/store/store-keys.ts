/**
 * Every Redis key the store uses, under one prefix so that deployments (and tests) never collide.
 * BullMQ keeps its own keys under `<prefix>:q:<queue>`.
 */
export class StoreKeys {
  constructor(readonly prefix: string) {}

  private key(...parts: string[]): string {
    return [this.prefix, 's', ...parts].join(':');
  }

  huntSequence(day: string): string {
    return this.key('hunt-seq', day);
  }
  hunt(huntId: string): string {
    return this.key('hunt', huntId);
  }
  huntHosts(huntId: string): string {
    return this.key('hunt', huntId, 'hosts');
  }
  huntFindings(huntId: string): string {
    return this.key('hunt', huntId, 'findings');
  }
  huntErrors(huntId: string): string {
    return this.key('hunt', huntId, 'errors');
  }
  huntApprovals(huntId: string): string {
    return this.key('hunt', huntId, 'approvals');
  }
  huntIndex(): string {
    return this.key('hunts');
  }
  huntIdempotency(key: string): string {
    return this.key('hunt-key', key);
  }
  approval(approvalId: string): string {
    return this.key('approval', approvalId);
  }
  approvalDecisions(approvalId: string): string {
    return this.key('approval', approvalId, 'decisions');
  }
  /** Pending approvals scored by expiry time (ms), for the expiry sweep. */
  approvalExpiries(): string {
    return this.key('approval-expiries');
  }
  backupApproval(backupId: string): string {
    return this.key('backup-approval', backupId);
  }
  approvalIdempotency(digest: string): string {
    return this.key('approval-key', digest);
  }
  alertSeen(source: string, alertId: string): string {
    return this.key('alert', source, alertId);
  }
  alertHostWindow(host: string): string {
    return this.key('alert-host', host);
  }
  hostLock(host: string): string {
    return this.key('host-lock', host);
  }
  baseline(playbook: string, host: string): string {
    return this.key('baseline', playbook, host);
  }
  restoreResult(jobId: string): string {
    return this.key('restore', jobId);
  }
  stats(): string {
    return this.key('stats');
  }
  audit(): string {
    return this.key('audit');
  }
}
