import type { Finding, Report, RiskLevel } from '../domain/finding.js';
import type { RemovalResult, RestoreResult } from '../domain/ports.js';

/**
 * The application service the edges (HTTP API, Slack, CLI) call. Edges validate, call one of these
 * methods, and return; the work happens in queued jobs. Implemented in src/app (on src/queue and
 * src/store); the edges' unit tests may use an in-memory double, their integration tests the real one.
 */
export interface Actor {
  kind: 'slack' | 'api' | 'cli' | 'siem' | 'system';
  /** Slack user id, API token id, SIEM source name ... */
  id: string;
  displayName?: string;
  /** Where the request came from: IP address, Slack channel, webhook source. */
  from?: string;
}

export interface SlackThread {
  channel: string;
  threadTs?: string;
  messageTs?: string;
}

export interface HuntRequest {
  hosts: string[];
  lookbackHours?: number;
  playbook?: string;
  /** Values for the playbook's declared parameters (checked against their types). */
  params?: Record<string, unknown>;
  /**
   * The same key within 24 h returns the hunt it started (`deduplicated: true`) instead of a new one:
   * a Slack trigger id, an HTTP Idempotency-Key, an alert id.
   */
  idempotencyKey?: string;
  requestedBy: Actor;
  /** The alert that started the hunt, when one did. */
  trigger?: { source: string; alertId: string; summary: string; rule?: string };
  /** Where progress and the report go. */
  slack?: SlackThread;
  /**
   * The caller's own keys, written in the same atomic step that opens the hunt so they cost no round
   * trip of their own (a Slack delivery's replay guard, the channel's last hunt). `once` is claimed
   * only if absent: when it was claimed before, nothing at all is written and startHunt throws
   * E_CONFLICT with details `{ replayed: true }`. `remember` is set to the hunt id (the earlier
   * hunt's for a duplicate). Not for alert-started hunts, which open in steps (E_BAD_INPUT).
   */
  openedWith?: { once?: ExpiringKey; remember?: ExpiringKey };
}

export interface ExpiringKey {
  key: string;
  ttlSeconds: number;
}

export type HuntStatus = 'queued' | 'running' | 'completed' | 'partial' | 'failed';

export interface HuntSummary {
  huntId: string;
  status: HuntStatus;
  playbook: string;
  hosts: string[];
  progress: { done: number; failed: number; total: number };
  createdAt: string;
  finishedAt: string | null;
  requestedBy: Actor;
  findingsByRisk: Record<RiskLevel, number>;
  trigger?: HuntRequest['trigger'];
  slack?: SlackThread;
  errors: Array<{ host: string; code: string; message: string }>;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'executing' | 'completed' | 'failed';

export interface ApprovalDecision {
  actor: Actor;
  decision: 'approve' | 'deny';
  reason: string | null;
  at: string;
}

export interface ApprovalRequest {
  approvalId: string;
  huntId: string;
  host: string;
  /** The exact findings (with their objects and content hashes) to be removed. */
  findings: Finding[];
  requestedBy: Actor;
  requestedAt: string;
  expiresAt: string;
  quorum: number;
  twoPersonRule: boolean;
  approvers: { users: string[]; groups: string[] };
  status: ApprovalStatus;
  decisions: ApprovalDecision[];
  removal: (RemovalResult & { backupId: string }) | null;
  slack?: SlackThread;
  /** The playbook whose approval gate and removal steps apply. */
  playbook?: string;
}

export interface RestoreInput {
  backupId: string;
  requestedBy: Actor;
  slack?: SlackThread;
  /** Which of these approver groups the actor is in (Slack user groups, API token groups). */
  actorGroupsOf?: (groups: readonly string[]) => Promise<string[]>;
  /** An API admin token may restore any backup. */
  admin?: boolean;
}

export interface Engine {
  startHunt(request: HuntRequest): Promise<{ huntId: string; deduplicated: boolean }>;
  getHunt(huntId: string): Promise<HuntSummary | null>;
  getReport(huntId: string): Promise<Report | null>;
  /** Asks for approval to remove these findings of a completed hunt (all High+ non-benign when empty). */
  requestRemoval(input: { huntId: string; findingIds: string[]; requestedBy: Actor; slack?: SlackThread }): Promise<ApprovalRequest[]>;
  getApproval(approvalId: string): Promise<ApprovalRequest | null>;
  /**
   * Records a decision. Refusals (not an approver, the requester under the two-person rule, expired,
   * already decided by this actor) are CodedErrors with E_FORBIDDEN / E_CONFLICT and are audited too.
   */
  decide(input: { approvalId: string; decision: 'approve' | 'deny'; actor: Actor; reason?: string; actorGroups?: string[] }): Promise<ApprovalRequest>;
  /**
   * Queues a restore. Only an approver may: an approver named by the approval whose removal took the
   * backup (by user, or by a group `actorGroupsOf` says the actor is in), or an API admin. Refusals
   * are E_FORBIDDEN and audited.
   */
  restore(input: RestoreInput): Promise<{ jobId: string }>;
  getRestoreResult?(jobId: string): Promise<RestoreResult | null>;
  /** The approval requests of a hunt, oldest first. */
  listApprovals?(huntId: string): Promise<ApprovalRequest[]>;
}
