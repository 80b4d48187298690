import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Actor, ApprovalRequest } from '../../src/app/engine.js';
import type { HuntNotifications } from '../../src/app/notifications.js';
import { jobIds } from '../../src/queue/queue-names.js';
import { ErrorCode } from '../../src/errors.js';
import { eventually, type EngineHarness } from '../app/engine-harness.js';
import { maliciousSubscription } from '../app/fake-host.js';
import { redisAvailable } from '../app/redis-harness.js';
import { bearer, httpHarness } from '../http/http-harness.js';
import { recordFigures } from './support/figures.js';

/**
 * Who may do what: non-approvers, the requester under the two-person rule, expired approvals,
 * replayed clicks, restores by non-approvers, API tokens of the wrong role. Every refusal must be
 * refused (100%) and audited (one entry per refusal), and change nothing.
 */
const requester: Actor = { kind: 'slack', id: 'U0REQUEST' };
const approver: Actor = { kind: 'slack', id: 'U0APPROVE' };
const groups = ['wmi-approvers'];
const HOUR = 3_600_000;

describe.skipIf(!redisAvailable)('authorization: every refusal refused and audited', () => {
  let harness: EngineHarness;
  let app: Awaited<ReturnType<typeof httpHarness>>['app'];
  let clock = Date.now();
  const cards: ApprovalRequest[] = [];
  const notifications: HuntNotifications = {
    huntUpdated: async () => undefined,
    huntCompleted: async () => undefined,
    approvalUpdated: async (approval) => void cards.push(approval),
    removalFinished: async () => undefined,
    restoreFinished: async () => undefined,
  };

  beforeEach(async () => {
    clock = Date.now();
    cards.length = 0;
    ({ harness, app } = await httpHarness({ now: () => new Date(clock), notifications }));
    await harness.startWorkers();
  });
  afterEach(async () => harness.close());

  async function pendingApproval(host = 'victim01'): Promise<ApprovalRequest> {
    harness.fleet.addHost(host, maliciousSubscription());
    const { huntId } = await harness.engine.startHunt({ hosts: [host], requestedBy: requester });
    const approvals = await eventually(async () => ((await harness.engine.getHunt(huntId))?.finishedAt ? harness.engine.listApprovals(huntId) : null), 'the approval request');
    return approvals[0]!;
  }

  const audited = async (action: string, target?: string) => (await harness.store.audit.list()).filter((entry) => entry.action === action && (!target || entry.target === target));

  it('refuses every non-approver, and the requester under the two-person rule, auditing each refusal', async () => {
    const approval = await pendingApproval();
    const outsiders = Array.from({ length: 25 }, (_, index): Actor => ({ kind: 'slack', id: `U0OUTSIDER${index}` }));
    const attempts: Array<Promise<unknown>> = [];
    for (const actor of outsiders) {
      attempts.push(harness.engine.decide({ approvalId: approval.approvalId, decision: 'approve', actor, actorGroups: ['other-group'] }));
      attempts.push(harness.engine.decide({ approvalId: approval.approvalId, decision: 'deny', actor }));
    }
    attempts.push(harness.engine.decide({ approvalId: approval.approvalId, decision: 'approve', actor: requester, actorGroups: groups }));
    const outcomes = await Promise.allSettled(attempts);
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected' && (outcome.reason as { code?: string }).code === ErrorCode.Forbidden);
    expect(refused).toHaveLength(attempts.length);
    expect(await audited('approval.refused', approval.approvalId)).toHaveLength(attempts.length);
    const after = await harness.engine.getApproval(approval.approvalId);
    expect(after).toMatchObject({ status: 'pending', decisions: [] });
    expect(await harness.queues.remove.getJob(jobIds.remove(approval.approvalId))).toBeUndefined();
    recordFigures('authorization', { nonApproverAndRequesterDecisions: attempts.length, refused: refused.length });
  });

  it('expires a pending approval without a click: the card is updated and the expiry audited once; a late click is refused', async () => {
    const approval = await pendingApproval();
    clock += 30 * 24 * HOUR;
    expect(await harness.engine.expireApprovals()).toEqual([approval.approvalId]);
    expect(await harness.engine.expireApprovals()).toEqual([]);
    expect((await harness.store.approvals.require(approval.approvalId)).status).toBe('expired');
    await eventually(async () => cards.some((card) => card.approvalId === approval.approvalId && card.status === 'expired'), 'the card updated as expired');
    await expect(harness.engine.decide({ approvalId: approval.approvalId, decision: 'approve', actor: approver, actorGroups: groups })).rejects.toMatchObject({
      code: ErrorCode.Conflict,
    });
    expect(await audited('approval.expired', approval.approvalId)).toHaveLength(1);
    expect(await audited('approval.refused', approval.approvalId)).toHaveLength(1);
    expect(await harness.queues.remove.getJob(jobIds.remove(approval.approvalId))).toBeUndefined();
  });

  it('the expiry sweep runs as a repeatable job on the workers', async () => {
    const approval = await pendingApproval();
    clock += 30 * 24 * HOUR;
    await harness.queues.hunt.add('expire-approvals', {});
    await eventually(async () => (await harness.store.approvals.require(approval.approvalId)).status === 'expired', 'the sweep job');
    expect(await audited('approval.expired', approval.approvalId)).toHaveLength(1);
  });

  it('counts a replayed click once: one decision, one removal job; a contrary replay is refused and audited', async () => {
    const approval = await pendingApproval();
    const clicks = [];
    for (let replay = 0; replay < 10; replay += 1) {
      clicks.push(await harness.engine.decide({ approvalId: approval.approvalId, decision: 'approve', actor: approver, actorGroups: groups }));
    }
    expect(clicks.every((result) => result.decisions.length === 1)).toBe(true);
    expect(await audited('approval.decided', approval.approvalId)).toHaveLength(1);
    expect(await audited('removal.queued', approval.approvalId)).toHaveLength(1);
    await expect(harness.engine.decide({ approvalId: approval.approvalId, decision: 'deny', actor: approver, actorGroups: groups })).rejects.toMatchObject({
      code: expect.stringMatching(/^E_(FORBIDDEN|CONFLICT)$/),
    });
    expect(await audited('approval.refused', approval.approvalId)).toHaveLength(1);
  });

  it('lets only an approver restore a backup: Slack non-approvers and API tokens without the role or group are refused and audited', async () => {
    const approval = await pendingApproval();
    await harness.engine.decide({ approvalId: approval.approvalId, decision: 'approve', actor: approver, actorGroups: groups });
    const done = await eventually(async () => {
      const current = await harness.engine.getApproval(approval.approvalId);
      return current?.status === 'completed' ? current : null;
    }, 'the removal');
    const backupId = done.removal!.backupId;

    const outsiders = Array.from({ length: 10 }, (_, index): Actor => ({ kind: 'slack', id: `U0NOTAPPROVER${index}` }));
    for (const actor of [...outsiders, requester]) {
      await expect(harness.engine.restore({ backupId, requestedBy: actor, actorGroupsOf: async () => [] })).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    }
    expect(await audited('restore.refused', backupId)).toHaveLength(outsiders.length + 1);
    expect(await audited('restore.queued', backupId)).toHaveLength(0);

    for (const role of ['viewer', 'responder'] as const) {
      expect((await request(app).post('/v1/restores').set(bearer(role)).send({ backupId })).status).toBe(403);
    }
    expect(await audited('api.refused', '/v1/restores')).toHaveLength(2);

    const bySlackApprover = await harness.engine.restore({ backupId, requestedBy: approver, actorGroupsOf: async (wanted) => wanted.filter((group) => groups.includes(group)) });
    expect(bySlackApprover.jobId).toBe(jobIds.restore(backupId));
    expect((await request(app).post('/v1/restores').set(bearer('approver')).send({ backupId })).status).toBe(202);
    expect((await request(app).post('/v1/restores').set(bearer('admin')).send({ backupId })).status).toBe(202);
    expect(await audited('restore.queued', backupId)).toHaveLength(3);
  });

  it('refuses API tokens of the wrong role on every guarded route, auditing each refusal', async () => {
    const approval = await pendingApproval();
    const huntId = approval.huntId;
    const routes: Array<{ method: 'get' | 'post'; path: string; body?: object; allowed: string[] }> = [
      { method: 'post', path: '/v1/hunts', body: { hosts: ['host01'] }, allowed: ['responder', 'admin'] },
      { method: 'post', path: `/v1/hunts/${huntId}/removal-requests`, body: { findingIds: [] }, allowed: ['responder', 'admin'] },
      { method: 'post', path: `/v1/approvals/${approval.approvalId}/decisions`, body: { decision: 'deny' }, allowed: ['approver', 'admin'] },
      { method: 'post', path: '/v1/restores', body: { backupId: `backup-${'0'.repeat(64)}` }, allowed: ['approver', 'admin'] },
      { method: 'get', path: '/v1/audit', allowed: ['admin'] },
    ];
    let refusals = 0;
    for (const route of routes) {
      for (const role of ['viewer', 'responder', 'approver'] as const) {
        if (route.allowed.includes(role)) continue;
        const call = route.method === 'get' ? request(app).get(route.path) : request(app).post(route.path).send(route.body ?? {});
        const response = await call.set(bearer(role));
        expect(response.status, `${role} ${route.method} ${route.path}`).toBe(403);
        expect(response.body.error?.code ?? response.body.code).toBe(ErrorCode.Forbidden);
        refusals += 1;
      }
    }
    expect(await audited('api.refused')).toHaveLength(refusals);
    expect((await harness.engine.getApproval(approval.approvalId))?.status).toBe('pending');
    recordFigures('authorization-api', { wrongRoleRequests: refusals, refused: refusals });
  });
});
