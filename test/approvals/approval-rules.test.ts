import { describe, expect, it } from 'vitest';
import { effectiveStatus, evaluateDecision } from '../../src/approvals/approval-rules.js';
import type { Actor, ApprovalRequest } from '../../src/app/engine.js';
import { CodedError, ErrorCode } from '../../src/errors.js';

const requester: Actor = { kind: 'slack', id: 'U0REQ' };
const alice: Actor = { kind: 'slack', id: 'U0ALICE' };
const bob: Actor = { kind: 'slack', id: 'U0BOB' };
const at = new Date('2026-11-29T10:00:00Z');

function approval(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    approvalId: 'AP-20261129-001-abc',
    huntId: 'TH-WMI-20261129-001',
    host: 'host01',
    findings: [],
    requestedBy: requester,
    requestedAt: '2026-11-29T09:00:00.000Z',
    expiresAt: '2026-11-29T13:00:00.000Z',
    quorum: 1,
    twoPersonRule: true,
    approvers: { users: ['U0ALICE', 'U0BOB', 'U0REQ'], groups: ['soc-leads'] },
    status: 'pending',
    decisions: [],
    removal: null,
    ...overrides,
  };
}

function refusal(run: () => unknown): CodedError {
  try {
    run();
  } catch (error) {
    if (error instanceof CodedError) return error;
  }
  throw new Error('expected a CodedError');
}

describe('evaluateDecision', () => {
  it('approves when a named approver reaches the quorum of one', () => {
    const outcome = evaluateDecision(approval(), { actor: alice, decision: 'approve', reason: null, actorGroups: [], at });
    expect(outcome).toMatchObject({ kind: 'recorded', status: 'approved', decision: { actor: alice, decision: 'approve', at: at.toISOString() } });
  });

  it('accepts an approver by group, case-insensitively', () => {
    const outcome = evaluateDecision(approval(), { actor: { kind: 'api', id: 'carol' }, decision: 'approve', reason: null, actorGroups: ['SOC-Leads'], at });
    expect(outcome).toMatchObject({ status: 'approved' });
  });

  it('needs quorum distinct approvers', () => {
    const request = approval({ quorum: 2 });
    const first = evaluateDecision(request, { actor: alice, decision: 'approve', reason: null, actorGroups: [], at });
    expect(first).toMatchObject({ kind: 'recorded', status: 'pending' });
    const afterFirst = approval({ quorum: 2, decisions: [first.kind === 'recorded' ? first.decision : (undefined as never)] });
    expect(evaluateDecision(afterFirst, { actor: alice, decision: 'approve', reason: null, actorGroups: [], at })).toEqual({ kind: 'replayed', status: 'pending' });
    expect(evaluateDecision(afterFirst, { actor: bob, decision: 'approve', reason: null, actorGroups: [], at })).toMatchObject({ status: 'approved' });
  });

  it('denies on a single deny', () => {
    expect(evaluateDecision(approval({ quorum: 3 }), { actor: bob, decision: 'deny', reason: 'benign', actorGroups: [], at })).toMatchObject({ status: 'denied' });
  });

  it('refuses the requester under the two-person rule but lets them deny, and allows them without the rule', () => {
    const error = refusal(() => evaluateDecision(approval(), { actor: requester, decision: 'approve', reason: null, actorGroups: [], at }));
    expect(error.code).toBe(ErrorCode.Forbidden);
    expect(error.details.reason).toBe('self-approval');
    expect(evaluateDecision(approval(), { actor: requester, decision: 'deny', reason: null, actorGroups: [], at })).toMatchObject({ status: 'denied' });
    expect(evaluateDecision(approval({ twoPersonRule: false }), { actor: requester, decision: 'approve', reason: null, actorGroups: [], at })).toMatchObject({ status: 'approved' });
  });

  it('refuses someone who is neither a named user nor in a named group', () => {
    const error = refusal(() => evaluateDecision(approval(), { actor: { kind: 'slack', id: 'U0EVE' }, decision: 'approve', reason: null, actorGroups: ['helpdesk'], at }));
    expect(error).toMatchObject({ code: ErrorCode.Forbidden, details: { reason: 'not-an-approver' } });
  });

  it('treats expiry as deny: no decision is taken at or after expiresAt', () => {
    const request = approval();
    expect(effectiveStatus(request, new Date('2026-11-29T12:59:59.999Z'))).toBe('pending');
    expect(effectiveStatus(request, new Date('2026-11-29T13:00:00Z'))).toBe('expired');
    const error = refusal(() => evaluateDecision(request, { actor: alice, decision: 'approve', reason: null, actorGroups: [], at: new Date('2026-11-29T13:00:00Z') }));
    expect(error).toMatchObject({ code: ErrorCode.Conflict, details: { reason: 'expired' } });
  });

  it('replays a repeated decision idempotently and refuses a changed one', () => {
    const decided = approval({ status: 'approved', decisions: [{ actor: alice, decision: 'approve', reason: null, at: at.toISOString() }] });
    expect(evaluateDecision(decided, { actor: alice, decision: 'approve', reason: null, actorGroups: [], at })).toEqual({ kind: 'replayed', status: 'approved' });
    expect(refusal(() => evaluateDecision(decided, { actor: alice, decision: 'deny', reason: null, actorGroups: [], at })).code).toBe(ErrorCode.Conflict);
    expect(refusal(() => evaluateDecision(decided, { actor: bob, decision: 'deny', reason: null, actorGroups: [], at })).code).toBe(ErrorCode.Conflict);
  });
});
