import type { ApprovalRequest, HuntSummary, SlackThread } from './engine.js';
import type { Report } from '../domain/finding.js';
import type { RestoreResult } from '../domain/ports.js';

/**
 * Where the notify queue delivers: implemented by the Slack notifier (src/slack/slack-notifier.ts);
 * every method must be safe to call again, since notify jobs retry.
 */
export interface HuntNotifications {
  huntUpdated(hunt: HuntSummary): Promise<void>;
  huntCompleted(hunt: HuntSummary, report: Report): Promise<void>;
  approvalUpdated(approval: ApprovalRequest): Promise<void>;
  removalFinished(approval: ApprovalRequest): Promise<void>;
  restoreFinished(input: { jobId: string; backupId: string; result: RestoreResult; slack?: SlackThread }): Promise<void>;
}
