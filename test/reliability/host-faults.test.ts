import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/app/engine.js';
import { CodedError, ErrorCode } from '../../src/errors.js';
import { eventually, type EngineHarness } from '../app/engine-harness.js';
import { maliciousSubscription } from '../app/fake-host.js';
import { redisAvailable } from '../app/redis-harness.js';
import { bearer, httpHarness } from '../http/http-harness.js';

/**
 * Host faults at the job level (the executor's own handling of hung, crashed and garbage-printing
 * pwsh, and of refused or unreachable SSH hosts, is tested against real pwsh and the SSH lab host in
 * test/powershell/script-runner.test.ts and test/transport/ssh-lab.test.ts): a clear error in the
 * API, a retry only where it can help, and no half-done removal left unrecorded.
 */
const requester: Actor = { kind: 'slack', id: 'U0REQUEST' };
const approver: Actor = { kind: 'slack', id: 'U0APPROVE' };

describe.skipIf(!redisAvailable)('host faults: clear errors, useful retries, nothing half-done unrecorded', () => {
  let harness: EngineHarness;
  let app: Awaited<ReturnType<typeof httpHarness>>['app'];
  beforeEach(async () => {
    ({ harness, app } = await httpHarness({ attempts: 3 }));
    await harness.startWorkers();
  });
  afterEach(async () => harness.close());

  const finishedHunt = async (hosts: string[]) => {
    const { huntId } = await harness.engine.startHunt({ hosts, requestedBy: requester });
    await eventually(async () => (await harness.engine.getHunt(huntId))?.finishedAt, 'the hunt');
    return huntId;
  };
  const collects = (host: string) => harness.fleet.calls.filter((call) => call.op === 'collect' && call.host === host).length;

  it('retries an unreachable host and a timeout, never refused authentication or access; the API names each failure by code', async () => {
    harness.fleet.addHost('blip01', maliciousSubscription()).script('blip01', { collectFailures: [new CodedError(ErrorCode.HostUnreachable, 'blip01: no route')] });
    harness.fleet.addHost('slow01').script('slow01', { collectFailures: [new CodedError(ErrorCode.Timeout, 'slow01: timed out')] });
    harness.fleet.addHost('auth01').script('auth01', { collectFailures: [new CodedError(ErrorCode.AuthenticationFailed, 'auth01: key refused')] });
    harness.fleet.addHost('deny01').script('deny01', { collectFailures: [new CodedError(ErrorCode.AccessDenied, 'deny01: access denied')] });
    harness.fleet.addHost('junk01').script('junk01', { collectFailures: [new CodedError(ErrorCode.BadOutput, 'junk01: collect printed garbage')] });
    const huntId = await finishedHunt(['blip01', 'slow01', 'auth01', 'deny01', 'junk01']);
    expect([collects('blip01'), collects('slow01'), collects('auth01'), collects('deny01'), collects('junk01')]).toEqual([2, 2, 1, 1, 1]);
    const response = await request(app).get(`/v1/hunts/${huntId}`).set(bearer('viewer'));
    expect(response.status).toBe(200);
    const body = JSON.stringify(response.body);
    for (const code of [ErrorCode.AuthenticationFailed, ErrorCode.AccessDenied, ErrorCode.BadOutput]) expect(body).toContain(code);
    expect(response.body).toMatchObject({ status: 'partial', progress: { done: 2, failed: 3, total: 5 } });
  });

  it('records a removal whose shell died half-way: which objects are gone, which remain, with the backup kept first', async () => {
    harness.fleet.addHost('victim01', maliciousSubscription());
    const huntId = await finishedHunt(['victim01']);
    const [approval] = await harness.engine.listApprovals(huntId);
    harness.fleet.script('victim01', { removeCrashes: 1 });
    await harness.engine.decide({ approvalId: approval!.approvalId, decision: 'approve', actor: approver, actorGroups: ['wmi-approvers'] });
    const failed = await eventually(async () => {
      const current = await harness.engine.getApproval(approval!.approvalId);
      return current?.status === 'failed' ? current : null;
    }, 'the failed removal');
    expect(harness.fleet.objects('victim01')).toHaveLength(2);
    expect(failed.removal?.results.map((result) => result.status).sort()).toEqual(['failed', 'failed', 'removed']);
    expect(failed.removal?.verified).toBe(false);
    const { document: backup } = await harness.store.evidence.getJson<{ objects: unknown[] }>(failed.removal!.backupId);
    expect(backup.objects).toHaveLength(3);
    const trail = (await harness.store.audit.list()).filter((entry) => entry.target === approval!.approvalId || entry.details.approvalId === approval!.approvalId);
    const actions = trail.map((entry) => entry.action);
    expect(actions.indexOf('evidence.stored')).toBeLessThan(actions.indexOf('removal.failed'));
    expect(trail.find((entry) => entry.action === 'removal.failed')?.details).toMatchObject({ code: ErrorCode.ScriptError, removedBeforeFailure: 1, backupId: failed.removal!.backupId });
    const api = await request(app).get(`/v1/approvals/${approval!.approvalId}`).set(bearer('viewer'));
    expect(api.body).toMatchObject({ status: 'failed', removal: { verified: false } });
  });
});
