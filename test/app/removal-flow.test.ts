import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import type { Actor } from '../../src/app/engine.js';
import { maliciousSubscription } from './fake-host.js';
import { engineHarness, eventually, PLAYBOOKS_DIR, type EngineHarness } from './engine-harness.js';
import { redisAvailable } from './redis-harness.js';

const requester: Actor = { kind: 'slack', id: 'U0REQUEST', from: 'C0SOC' };
const approver: Actor = { kind: 'slack', id: 'U0APPROVE', from: 'C0SOC' };
const approverGroups = ['wmi-approvers'];

describe.skipIf(!redisAvailable)('approval and removal', () => {
  let harness: EngineHarness;
  beforeEach(async () => {
    harness = await engineHarness();
  });
  afterEach(async () => harness.close());

  async function huntWithApproval(host = 'victim01') {
    harness.fleet.addHost(host, maliciousSubscription());
    const { huntId } = await harness.engine.startHunt({ hosts: [host], requestedBy: requester });
    const approvals = await eventually(async () => {
      const hunt = await harness.engine.getHunt(huntId);
      if (!hunt?.finishedAt) return null;
      return harness.engine.listApprovals(huntId);
    }, 'the hunt and its approval request');
    return { huntId, approvals };
  }

  it('runs a whole hunt: report, approval gate, removal with backup, restore — every step in the audit trail', async () => {
    await harness.startWorkers();
    const { huntId, approvals } = await huntWithApproval();
    expect(approvals).toHaveLength(1);
    const approval = approvals[0]!;
    expect(approval).toMatchObject({ status: 'pending', host: 'victim01', quorum: 1, twoPersonRule: true, approvers: { users: [], groups: ['wmi-approvers'] } });
    expect(approval.requestedBy).toEqual(requester);
    expect(harness.fleet.objects('victim01')).toHaveLength(3);

    await expect(harness.engine.decide({ approvalId: approval.approvalId, decision: 'approve', actor: requester, actorGroups: approverGroups })).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
    });
    await expect(harness.engine.decide({ approvalId: approval.approvalId, decision: 'approve', actor: { kind: 'slack', id: 'U0RANDOM' } })).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
    });
    const decided = await harness.engine.decide({ approvalId: approval.approvalId, decision: 'approve', actor: approver, actorGroups: approverGroups, reason: 'confirmed Empire' });
    expect(decided.status).toBe('approved');
    const replay = await harness.engine.decide({ approvalId: approval.approvalId, decision: 'approve', actor: approver, actorGroups: approverGroups });
    expect(replay.decisions).toHaveLength(1);

    const removed = await eventually(async () => {
      const current = await harness.engine.getApproval(approval.approvalId);
      return current?.status === 'completed' ? current : null;
    }, 'the removal');
    expect(harness.fleet.objects('victim01')).toEqual([]);
    expect(removed.removal?.verified).toBe(true);
    expect(removed.removal?.results.map((result) => result.status)).toEqual(['removed', 'removed', 'removed']);
    const backupId = removed.removal!.backupId;
    expect(backupId).toMatch(/^backup-[0-9a-f]{64}$/);

    const { jobId } = await harness.engine.restore({ backupId, requestedBy: approver, actorGroupsOf: async () => approverGroups });
    const restored = await eventually(() => harness.engine.getRestoreResult(jobId), 'the restore');
    expect(restored.results.map((result) => result.status)).toEqual(['restored', 'restored', 'restored']);
    expect(harness.fleet.objects('victim01')).toHaveLength(3);

    const trail = await harness.store.audit.list();
    const actions = trail.map((entry) => entry.action);
    expect(actions).toEqual([
      'hunt.started',
      'evidence.stored',
      'evidence.stored',
      'approval.requested',
      'hunt.finished',
      'approval.refused',
      'approval.refused',
      'approval.decided',
      'removal.queued',
      'removal.started',
      'evidence.stored',
      'removal.objects',
      'removal.completed',
      'restore.queued',
      'restore.started',
      'restore.completed',
    ]);
    const byAction = (action: string) => trail.filter((entry) => entry.action === action);
    expect(byAction('hunt.started')[0]).toMatchObject({ actor: requester, huntId });
    expect(byAction('approval.decided')[0]).toMatchObject({ actor: approver, details: { decision: 'approve', reason: 'confirmed Empire', status: 'approved' } });
    expect(byAction('approval.refused').map((entry) => entry.details.reason)).toEqual(['self-approval', 'not-an-approver']);
    const stored = byAction('evidence.stored');
    expect(stored.map((entry) => entry.details.kind)).toEqual(['collection', 'report', 'backup']);
    for (const entry of stored) {
      const sha = Object.values(entry.hashes)[0]!;
      expect(entry.target).toBe(`${entry.details.kind}-${sha}`);
      expect((await harness.store.evidence.getJson(entry.target)).sha256).toBe(sha);
    }
    const requested = byAction('approval.requested')[0]!;
    expect(Object.values(requested.hashes).sort()).toEqual(approval.findings.flatMap((finding) => finding.objects.map((object) => object.contentHash)).sort());
  });

  it('removes nothing when the content hash changed after approval', async () => {
    await harness.startWorkers();
    const { approvals } = await huntWithApproval();
    const consumer = harness.fleet.objects('victim01').find((object) => object.kind === 'consumer')!;
    consumer.properties.CommandLineTemplate = 'cmd.exe /c something-else';
    await harness.engine.decide({ approvalId: approvals[0]!.approvalId, decision: 'approve', actor: approver, actorGroups: approverGroups });
    const finished = await eventually(async () => {
      const current = await harness.engine.getApproval(approvals[0]!.approvalId);
      return current?.removal ? current : null;
    }, 'the removal');
    const consumerResult = finished.removal!.results.find((result) => result.target.kind === 'consumer');
    expect(consumerResult?.status).toBe('skipped-changed');
    expect(harness.fleet.objects('victim01').some((object) => object.kind === 'consumer')).toBe(true);
  });

  it('denies on one deny, takes no decision after it, and queues no removal', async () => {
    const { approvals } = await (async () => {
      await harness.startWorkers();
      return huntWithApproval();
    })();
    const denied = await harness.engine.decide({ approvalId: approvals[0]!.approvalId, decision: 'deny', actor: approver, actorGroups: approverGroups, reason: 'false positive' });
    expect(denied.status).toBe('denied');
    await expect(
      harness.engine.decide({ approvalId: approvals[0]!.approvalId, decision: 'approve', actor: { kind: 'slack', id: 'U0SECOND' }, actorGroups: approverGroups }),
    ).rejects.toMatchObject({ code: ErrorCode.Conflict });
    await expect(harness.engine.decide({ approvalId: approvals[0]!.approvalId, decision: 'approve', actor: approver, actorGroups: approverGroups })).rejects.toMatchObject({
      code: ErrorCode.Conflict,
    });
    expect(await harness.queues.remove.count()).toBe(0);
    expect(harness.fleet.objects('victim01')).toHaveLength(3);
  });

  it('never lets two jobs change the same host at once', async () => {
    harness.fleet.addHost('victim01', [...maliciousSubscription('One'), ...maliciousSubscription('Two')]);
    await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts: ['victim01'], requestedBy: requester });
    await eventually(async () => (await harness.engine.getHunt(huntId))?.finishedAt, 'the hunt');
    const report = (await harness.engine.getReport(huntId))!;
    const subscriptions = report.findings.filter((finding) => !finding.benign && finding.kind === 'subscription');
    expect(subscriptions).toHaveLength(2);
    const separate = await Promise.all(
      subscriptions.map((finding) => harness.engine.requestRemoval({ huntId, findingIds: [finding.id], requestedBy: requester })),
    );
    harness.fleet.script('victim01', { delayMs: 300 });
    for (const [approval] of separate) {
      await harness.engine.decide({ approvalId: approval!.approvalId, decision: 'approve', actor: approver, actorGroups: approverGroups });
    }
    await eventually(async () => {
      const states = await Promise.all(separate.map(([approval]) => harness.engine.getApproval(approval!.approvalId)));
      return states.every((state) => state?.status === 'completed');
    }, 'both removals');
    const removals = harness.fleet.calls.filter((call) => call.op === 'remove');
    expect(removals).toHaveLength(2);
    expect(harness.fleet.maxInFlightPerHost).toBe(1);
    expect(harness.fleet.objects('victim01')).toEqual([]);
  });

  it('asks for removal once for the same objects, however often it is asked', async () => {
    await harness.startWorkers();
    const { huntId, approvals } = await huntWithApproval();
    const again = await harness.engine.requestRemoval({ huntId, findingIds: [], requestedBy: requester });
    expect(again.map((approval) => approval.approvalId)).toEqual(approvals.map((approval) => approval.approvalId));
    await expect(harness.engine.requestRemoval({ huntId, findingIds: ['nope'], requestedBy: requester })).rejects.toMatchObject({ code: ErrorCode.NotFound });
  });

  it('treats an expired request as denied, records the expiry once, and removes nothing', async () => {
    await harness.close();
    let clock = Date.parse('2026-11-29T10:00:00Z');
    harness = await engineHarness({ now: () => new Date(clock) });
    await harness.startWorkers();
    const { approvals } = await huntWithApproval();
    const approvalId = approvals[0]!.approvalId;
    expect(approvals[0]!.expiresAt).toBe('2026-11-29T14:00:00.000Z');
    clock = Date.parse('2026-11-29T14:00:00Z');
    expect((await harness.engine.getApproval(approvalId))?.status).toBe('expired');
    await expect(harness.engine.decide({ approvalId, decision: 'approve', actor: approver, actorGroups: approverGroups })).rejects.toMatchObject({
      code: ErrorCode.Conflict,
      details: { reason: 'expired' },
    });
    await expect(harness.engine.decide({ approvalId, decision: 'approve', actor: { kind: 'api', id: 'other' }, actorGroups: approverGroups })).rejects.toMatchObject({
      code: ErrorCode.Conflict,
    });
    const actions = (await harness.store.audit.list()).map((entry) => entry.action);
    expect(actions.filter((action) => action === 'approval.expired')).toHaveLength(1);
    expect(actions.filter((action) => action === 'approval.refused')).toHaveLength(2);
    expect(await harness.queues.remove.count()).toBe(0);
    expect(harness.fleet.objects('victim01')).toHaveLength(3);
  });
});

describe.skipIf(!redisAvailable)('concurrent decisions', () => {
  let harness: EngineHarness;
  afterEach(async () => harness.close());

  it('counts a quorum of two exactly once when approvers and double clicks arrive together', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wmi-playbooks-'));
    for (const name of await readdir(PLAYBOOKS_DIR)) {
      const text = await readFile(join(PLAYBOOKS_DIR, name), 'utf8');
      await writeFile(join(dir, name), name === 'wmi-persistence-hunt.yaml' ? text.replace('quorum: 1', 'quorum: 2') : text);
    }
    harness = await engineHarness({ playbooksDir: dir });
    harness.fleet.addHost('victim01', maliciousSubscription());
    await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts: ['victim01'], requestedBy: requester });
    const [approval] = await eventually(async () => {
      const list = await harness.engine.listApprovals(huntId);
      return list.length > 0 ? list : null;
    }, 'the approval request');
    const second: Actor = { kind: 'api', id: 'anna' };
    const clicks = [approver, approver, second, second, approver].map((actor) =>
      harness.engine.decide({ approvalId: approval!.approvalId, decision: 'approve', actor, actorGroups: approverGroups }),
    );
    await Promise.all(clicks);
    const decided = await harness.engine.getApproval(approval!.approvalId);
    expect(decided?.decisions.map((decision) => decision.actor.id).sort()).toEqual(['U0APPROVE', 'anna']);
    await eventually(async () => (await harness.engine.getApproval(approval!.approvalId))?.status === 'completed', 'the removal');
    expect(harness.fleet.calls.filter((call) => call.op === 'remove')).toHaveLength(1);
    const actions = (await harness.store.audit.list()).map((entry) => entry.action);
    expect(actions.filter((action) => action === 'approval.decided')).toHaveLength(2);
    expect(actions.filter((action) => action === 'removal.queued')).toHaveLength(1);
  });
});
