import type { Redis } from 'ioredis';
import type { ApprovalRequest, Engine, HuntRequest, HuntSummary } from '../../src/app/engine.js';
import type { Finding, Report } from '../../src/domain/finding.js';
import { CodedError, ErrorCode } from '../../src/errors.js';

/**
 * An in-memory Engine for the Slack edge's own tests: it records every call and answers from what
 * the test put in it. It does not judge approvals; a test scripts `decideWith` to play the engine's
 * verdict. The keys a hunt request asks to write as it opens (the replay guard's claim, the channel's
 * last hunt) it writes on the Redis the harness attaches, as the real engine does. The scenario tests
 * use the real engine on Redis instead.
 */
export interface EngineCall {
  method: keyof Engine;
  input: unknown;
}

export class EngineDouble implements Engine {
  readonly calls: EngineCall[] = [];
  readonly hunts = new Map<string, HuntSummary>();
  readonly reports = new Map<string, Report>();
  readonly approvals = new Map<string, ApprovalRequest>();
  private sequence = 0;
  startHuntError: Error | null = null;
  /** Where the keys a hunt opens with go (the harness attaches its own). */
  redis: Redis | null = null;
  /** Hunts refused because their replay-guard claim was made before (not in `calls`). */
  replaysRefused = 0;
  decideWith: (approval: ApprovalRequest, input: Parameters<Engine['decide']>[0]) => ApprovalRequest = (approval, input) => ({
    ...approval,
    decisions: [...approval.decisions, { actor: input.actor, decision: input.decision, reason: input.reason ?? null, at: '2026-11-29T12:00:00.000Z' }],
    status: input.decision === 'deny' ? 'denied' : approval.status,
  });

  callsOf(method: keyof Engine): unknown[] {
    return this.calls.filter((call) => call.method === method).map((call) => call.input);
  }

  async startHunt(request: HuntRequest): Promise<{ huntId: string; deduplicated: boolean }> {
    const { once, remember } = request.openedWith ?? {};
    if ((once || remember) && !this.redis) throw new Error('EngineDouble: attach a Redis to write the keys a hunt opens with');
    if (once && (await this.redis!.set(once.key, '1', 'EX', once.ttlSeconds, 'NX')) !== 'OK') {
      // Like the real engine, a replay does nothing: it is counted apart from the calls that act.
      this.replaysRefused += 1;
      throw new CodedError(ErrorCode.Conflict, 'this request was received before; nothing was done', { replayed: true });
    }
    this.calls.push({ method: 'startHunt', input: request });
    if (this.startHuntError) throw this.startHuntError;
    this.sequence += 1;
    const huntId = `TH-WMI-20261129-${String(this.sequence).padStart(3, '0')}`;
    if (remember) await this.redis!.set(remember.key, huntId, 'EX', remember.ttlSeconds);
    this.hunts.set(huntId, {
      huntId,
      status: 'queued',
      playbook: request.playbook ?? 'wmi-persistence-hunt',
      hosts: request.hosts,
      progress: { done: 0, failed: 0, total: request.hosts.length },
      createdAt: '2026-11-29T12:00:00.000Z',
      finishedAt: null,
      requestedBy: request.requestedBy,
      findingsByRisk: { Low: 0, Medium: 0, High: 0, Critical: 0 },
      ...(request.trigger ? { trigger: request.trigger } : {}),
      ...(request.slack ? { slack: request.slack } : {}),
      errors: [],
    });
    return { huntId, deduplicated: false };
  }

  async getHunt(huntId: string): Promise<HuntSummary | null> {
    this.calls.push({ method: 'getHunt', input: huntId });
    return this.hunts.get(huntId) ?? null;
  }

  async getReport(huntId: string): Promise<Report | null> {
    this.calls.push({ method: 'getReport', input: huntId });
    return this.reports.get(huntId) ?? null;
  }

  async requestRemoval(input: Parameters<Engine['requestRemoval']>[0]): Promise<ApprovalRequest[]> {
    this.calls.push({ method: 'requestRemoval', input });
    const report = this.reports.get(input.huntId);
    if (!report) throw new CodedError(ErrorCode.NotFound, `hunt ${input.huntId} not found`, {});
    const findings = report.findings.filter((finding) => (input.findingIds.length === 0 ? !finding.benign : input.findingIds.includes(finding.id)));
    if (findings.length === 0) return [];
    const approval = approvalFor(`AP-${input.huntId}-${this.approvals.size + 1}`, input.huntId, findings, input.requestedBy, input.slack);
    this.approvals.set(approval.approvalId, approval);
    return [approval];
  }

  async getApproval(approvalId: string): Promise<ApprovalRequest | null> {
    this.calls.push({ method: 'getApproval', input: approvalId });
    return this.approvals.get(approvalId) ?? null;
  }

  async decide(input: Parameters<Engine['decide']>[0]): Promise<ApprovalRequest> {
    this.calls.push({ method: 'decide', input });
    const approval = this.approvals.get(input.approvalId);
    if (!approval) throw new CodedError(ErrorCode.NotFound, `approval ${input.approvalId} not found`, {});
    const decided = this.decideWith(approval, input);
    this.approvals.set(decided.approvalId, decided);
    return decided;
  }

  async restore(input: Parameters<Engine['restore']>[0]): Promise<{ jobId: string }> {
    this.calls.push({ method: 'restore', input });
    return { jobId: `restore-${input.backupId}` };
  }
}

export function approvalFor(
  approvalId: string,
  huntId: string,
  findings: Finding[],
  requestedBy: ApprovalRequest['requestedBy'],
  slack?: ApprovalRequest['slack'],
): ApprovalRequest {
  return {
    approvalId,
    huntId,
    host: findings[0]?.host ?? 'host01',
    findings,
    requestedBy,
    requestedAt: '2026-11-29T12:00:00.000Z',
    expiresAt: '2026-11-29T16:00:00.000Z',
    quorum: 1,
    twoPersonRule: true,
    approvers: { users: ['UAPPROVER1'], groups: ['SSECOPS'] },
    status: 'pending',
    decisions: [],
    removal: null,
    ...(slack ? { slack } : {}),
  };
}
