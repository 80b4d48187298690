import type { Actor, ApprovalDecision, ApprovalRequest, ApprovalStatus } from '../app/engine.js';
import { CodedError, ErrorCode } from '../errors.js';

/**
 * The approval rules, pure: who may decide, when a request is approved, denied or expired. The
 * store applies the outcome atomically and the engine audits it; refusals are CodedErrors
 * (E_FORBIDDEN for who, E_CONFLICT for when) so every edge reports them the same way.
 *
 * - An approver is named by user id or belongs to a named group.
 * - Approval needs `quorum` distinct approvers; one deny denies.
 * - Under the two-person rule the requester cannot approve their own request.
 * - Past `expiresAt` a pending request is expired, which means denied.
 * - The same actor repeating the same decision (a double click, a replayed request) changes
 *   nothing and is not an error; the same actor changing their decision is a conflict.
 */
export interface DecisionInput {
  actor: Actor;
  decision: 'approve' | 'deny';
  reason: string | null;
  actorGroups: string[];
  at: Date;
}

export type DecisionOutcome =
  | { kind: 'recorded'; decision: ApprovalDecision; status: ApprovalStatus }
  | { kind: 'replayed'; status: ApprovalStatus };

export function actorKey(actor: Pick<Actor, 'kind' | 'id'>): string {
  return `${actor.kind}:${actor.id}`;
}

/** A pending request past its expiry is expired; every other status stands as recorded. */
export function effectiveStatus(approval: Pick<ApprovalRequest, 'status' | 'expiresAt'>, now: Date): ApprovalStatus {
  return approval.status === 'pending' && now.getTime() >= Date.parse(approval.expiresAt) ? 'expired' : approval.status;
}

export function isApprover(approval: Pick<ApprovalRequest, 'approvers'>, actor: Actor, actorGroups: string[]): boolean {
  const groups = new Set(actorGroups.map((group) => group.toLowerCase()));
  return (
    approval.approvers.users.includes(actor.id) || approval.approvers.groups.some((group) => groups.has(group.toLowerCase()))
  );
}

export function evaluateDecision(approval: ApprovalRequest, input: DecisionInput): DecisionOutcome {
  const key = actorKey(input.actor);
  const earlier = approval.decisions.find((decision) => actorKey(decision.actor) === key);
  const status = effectiveStatus(approval, input.at);
  if (earlier) {
    if (earlier.decision === input.decision) return { kind: 'replayed', status };
    throw new CodedError(ErrorCode.Conflict, `${input.actor.id} already decided "${earlier.decision}" on ${approval.approvalId}`, {
      approvalId: approval.approvalId,
      reason: 'changed-decision',
    });
  }
  if (!isApprover(approval, input.actor, input.actorGroups)) {
    throw new CodedError(ErrorCode.Forbidden, `${input.actor.id} is not an approver of ${approval.approvalId}`, {
      approvalId: approval.approvalId,
      reason: 'not-an-approver',
    });
  }
  if (approval.twoPersonRule && input.decision === 'approve' && actorKey(approval.requestedBy) === key) {
    throw new CodedError(ErrorCode.Forbidden, `two-person rule: ${input.actor.id} requested ${approval.approvalId} and cannot approve it`, {
      approvalId: approval.approvalId,
      reason: 'self-approval',
    });
  }
  if (status !== 'pending') {
    throw new CodedError(ErrorCode.Conflict, `${approval.approvalId} is ${status}; no more decisions are taken`, {
      approvalId: approval.approvalId,
      reason: status,
    });
  }
  const decision: ApprovalDecision = {
    actor: input.actor,
    decision: input.decision,
    reason: input.reason,
    at: input.at.toISOString(),
  };
  if (input.decision === 'deny') return { kind: 'recorded', decision, status: 'denied' };
  const approvers = new Set(approval.decisions.filter((entry) => entry.decision === 'approve').map((entry) => actorKey(entry.actor)));
  approvers.add(key);
  return { kind: 'recorded', decision, status: approvers.size >= approval.quorum ? 'approved' : 'pending' };
}
