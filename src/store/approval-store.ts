import type { Redis } from 'ioredis';
import type { ApprovalDecision, ApprovalRequest, ApprovalStatus } from '../app/engine.js';
import { CodedError, ErrorCode } from '../errors.js';
import { LuaScript } from './lua-script.js';
import type { StoreKeys } from './store-keys.js';

/**
 * Approval requests in Redis. The request itself (objects, hashes, approvers, quorum, expiry) is
 * written once; decisions are appended to a list; the status moves only by compare-and-set in one
 * Lua script, so two approvers clicking at once can neither lose a decision nor approve twice.
 */
type StoredRequest = Omit<ApprovalRequest, 'status' | 'decisions' | 'removal'>;

const MAX_OPTIMISTIC_RETRIES = 20;
const appendDecisionScript = new LuaScript('append-decision.lua');
const transitionStatusScript = new LuaScript('transition-status.lua');

export class ApprovalStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: StoreKeys,
  ) {}

  /**
   * Creates the request unless one with the same idempotency digest exists (the same objects of the
   * same hunt and host), in which case the existing one is returned with `created: false`.
   */
  async createOnce(request: StoredRequest, digest: string): Promise<{ approvalId: string; created: boolean }> {
    const claimed = await this.redis.set(this.keys.approvalIdempotency(digest), request.approvalId, 'NX');
    if (claimed !== 'OK') {
      const existing = await this.redis.get(this.keys.approvalIdempotency(digest));
      if (existing) return { approvalId: existing, created: false };
    }
    await this.redis
      .multi()
      .hset(this.keys.approval(request.approvalId), { request: JSON.stringify(request), status: 'pending' })
      .sadd(this.keys.huntApprovals(request.huntId), request.approvalId)
      .zadd(this.keys.approvalExpiries(), Date.parse(request.expiresAt), request.approvalId)
      .exec();
    return { approvalId: request.approvalId, created: true };
  }

  async get(approvalId: string): Promise<ApprovalRequest | null> {
    const [fields, decisions] = await Promise.all([
      this.redis.hgetall(this.keys.approval(approvalId)),
      this.redis.lrange(this.keys.approvalDecisions(approvalId), 0, -1),
    ]);
    return fields.request ? toApproval(fields, decisions) : null;
  }

  async require(approvalId: string): Promise<ApprovalRequest> {
    const approval = await this.get(approvalId);
    if (!approval) throw new CodedError(ErrorCode.NotFound, `approval ${approvalId} not found`, { approvalId });
    return approval;
  }

  async listForHunt(huntId: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.huntApprovals(huntId))).sort();
  }

  /**
   * Reads the request, lets `decide` judge it, and appends the decision and new status atomically;
   * if another decision landed in between, judges again on the new state.
   */
  async applyDecision(
    approvalId: string,
    decide: (approval: ApprovalRequest) => { decision: ApprovalDecision; status: ApprovalStatus } | null,
  ): Promise<ApprovalRequest> {
    for (let attempt = 0; attempt < MAX_OPTIMISTIC_RETRIES; attempt += 1) {
      const approval = await this.require(approvalId);
      const change = decide(approval);
      if (!change) return approval;
      const appended = await appendDecisionScript.run(
        this.redis,
        [this.keys.approval(approvalId), this.keys.approvalDecisions(approvalId)],
        [approval.status, approval.decisions.length, JSON.stringify(change.decision), change.status],
      );
      if (appended === 1) return { ...approval, decisions: [...approval.decisions, change.decision], status: change.status };
    }
    throw new CodedError(ErrorCode.Conflict, `approval ${approvalId} is being decided concurrently; try again`, { approvalId });
  }

  /** Approvals whose expiry time has passed and that the sweep has not yet looked at. */
  async dueForExpiry(now: Date, limit = 500): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.approvalExpiries(), '-inf', now.getTime(), 'LIMIT', 0, limit);
  }

  async expiryChecked(approvalId: string): Promise<void> {
    await this.redis.zrem(this.keys.approvalExpiries(), approvalId);
  }

  /** Compare-and-set of the status; false when the status was not one of `from`. */
  async transition(approvalId: string, from: ApprovalStatus[], to: ApprovalStatus): Promise<boolean> {
    return (await transitionStatusScript.run(this.redis, [this.keys.approval(approvalId)], [to, ...from])) === 1;
  }

  /**
   * Records the removal backup of this approval once; returns the one recorded (the caller's, or
   * the one an earlier attempt recorded first), so every attempt removes against the same backup.
   */
  async claimBackup(approvalId: string, backupId: string): Promise<string> {
    const key = this.keys.approval(approvalId);
    const claimed = (await this.redis.hsetnx(key, 'backupId', backupId)) === 1 ? backupId : ((await this.redis.hget(key, 'backupId')) ?? backupId);
    await this.redis.set(this.keys.backupApproval(claimed), approvalId, 'NX');
    return claimed;
  }

  /** The approval whose removal took this backup (a restore is authorized by its approvers). */
  async approvalOfBackup(backupId: string): Promise<string | null> {
    return this.redis.get(this.keys.backupApproval(backupId));
  }

  async backupOf(approvalId: string): Promise<string | null> {
    return this.redis.hget(this.keys.approval(approvalId), 'backupId');
  }

  /** The removal result is written once, by the removal job that ran it. */
  async setRemoval(approvalId: string, removal: NonNullable<ApprovalRequest['removal']>): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.approval(approvalId), 'removal', JSON.stringify(removal))) === 1;
  }
}

function toApproval(fields: Record<string, string>, decisions: string[]): ApprovalRequest {
  const request = JSON.parse(fields.request!) as StoredRequest;
  return {
    ...request,
    status: (fields.status ?? 'pending') as ApprovalStatus,
    decisions: decisions.map((entry) => JSON.parse(entry) as ApprovalDecision),
    removal: fields.removal ? (JSON.parse(fields.removal) as ApprovalRequest['removal']) : null,
  };
}
