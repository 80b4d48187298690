import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/app/engine.js';
import { withoutSharedObjects } from '../../src/app/hunt-engine.js';
import type { Finding } from '../../src/domain/finding.js';
import { maliciousSubscription, type FakeObject } from './fake-host.js';
import { engineHarness, eventually, type EngineHarness } from './engine-harness.js';
import { redisAvailable } from './redis-harness.js';

const requester: Actor = { kind: 'slack', id: 'U0REQUEST', from: 'C0SOC' };
const approver: Actor = { kind: 'slack', id: 'U0APPROVE', from: 'C0SOC' };
const namespace = 'root\\subscription';

/** Windows' own SCM subscription, and an impostor consumer bound to the same (genuine) filter. */
function scmDefaultWithImpostorBinding(): FakeObject[] {
  return [
    {
      kind: 'filter',
      namespace,
      className: '__EventFilter',
      properties: { Name: 'SCM Event Log Filter', Query: 'select * from MSFT_SCMEventLogEvent', QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2' },
    },
    {
      kind: 'consumer',
      namespace,
      className: 'NTEventLogEventConsumer',
      properties: { Name: 'SCM Event Log Consumer', SourceName: 'Service Control Manager', EventType: 1, Category: 0, NameOfUserSIDProperty: 'sid' },
    },
    {
      kind: 'binding',
      namespace,
      className: '__FilterToConsumerBinding',
      properties: { Filter: '__EventFilter.Name="SCM Event Log Filter"', Consumer: 'NTEventLogEventConsumer.Name="SCM Event Log Consumer"' },
    },
    {
      kind: 'consumer',
      namespace,
      className: 'CommandLineEventConsumer',
      properties: { Name: 'SCM Event8 Log Consumer', CommandLineTemplate: 'C:\\Users\\Public\\svch0st.exe -k netsvcs' },
    },
    {
      kind: 'binding',
      namespace,
      className: '__FilterToConsumerBinding',
      properties: { Filter: '__EventFilter.Name="SCM Event Log Filter"', Consumer: 'CommandLineEventConsumer.Name="SCM Event8 Log Consumer"' },
    },
  ];
}

describe('objects shared with findings that are not removed', () => {
  it('are left out of the selected findings, per host', () => {
    const object = (kind: 'filter' | 'consumer' | 'binding', key: string) => ({
      kind,
      namespace,
      className: kind,
      key,
      contentHash: key,
      source: 'collection' as const,
      deletedAt: null,
    });
    const finding = (id: string, host: string, keys: string[]) => ({ id, host, objects: keys.map((key) => object(key.startsWith('f') ? 'filter' : 'consumer', key)) }) as unknown as Finding;
    const bad = finding('bad', 'h1', ['f-shared', 'c-bad']);
    const good = finding('good', 'h1', ['f-shared', 'c-good']);
    const elsewhere = finding('other', 'h2', ['f-own', 'c-bad']);
    const [kept] = withoutSharedObjects([bad], [bad, good, elsewhere]);
    expect(kept!.objects.map((entry) => entry.key)).toEqual(['c-bad']);
    expect(withoutSharedObjects([bad], [bad])[0]!.objects).toHaveLength(2);
  });
});

describe.skipIf(!redisAvailable)('removing an impostor bound to a Windows default filter', () => {
  let harness: EngineHarness;
  beforeEach(async () => {
    harness = await engineHarness();
  });
  afterEach(async () => harness.close());

  it('removes the impostor consumer and its binding, and keeps the filter the default subscription still uses', async () => {
    await harness.startWorkers();
    harness.fleet.addHost('victim02', scmDefaultWithImpostorBinding());
    const { huntId } = await harness.engine.startHunt({ hosts: ['victim02'], requestedBy: requester });
    const approvals = await eventually(async () => {
      const hunt = await harness.engine.getHunt(huntId);
      return hunt?.finishedAt ? harness.engine.listApprovals(huntId) : null;
    }, 'the hunt and its approval request');
    expect(approvals).toHaveLength(1);
    const approval = approvals[0]!;
    const objectsToRemove = approval.findings.flatMap((finding) => finding.objects.map((object) => `${object.kind}:${object.key}`));
    expect(objectsToRemove.sort()).toEqual(['binding:__EventFilter.Name="SCM Event Log Filter"|CommandLineEventConsumer.Name="SCM Event8 Log Consumer"', 'consumer:SCM Event8 Log Consumer']);

    await harness.engine.decide({ approvalId: approval.approvalId, decision: 'approve', actor: approver, actorGroups: ['wmi-approvers'] });
    await eventually(async () => ((await harness.engine.getApproval(approval.approvalId))?.status === 'completed' ? true : null), 'the removal');
    const left = harness.fleet.objects('victim02').map((object) => String(object.properties.Name ?? object.properties.Consumer));
    expect(left.sort()).toEqual(['NTEventLogEventConsumer.Name="SCM Event Log Consumer"', 'SCM Event Log Consumer', 'SCM Event Log Filter']);
  });
});

describe.skipIf(!redisAvailable)('a host that reports another name than the one it is reached by', () => {
  let harness: EngineHarness;
  beforeEach(async () => {
    harness = await engineHarness();
  });
  afterEach(async () => harness.close());

  it('keeps the hunted name on its findings, so the approved removal reaches the same host', async () => {
    await harness.startWorkers();
    harness.fleet.addHost('victim03.corp.example', maliciousSubscription()).script('victim03.corp.example', { computerName: 'VICTIM03' });
    const { huntId } = await harness.engine.startHunt({ hosts: ['victim03.corp.example'], requestedBy: requester });
    const approvals = await eventually(async () => {
      const hunt = await harness.engine.getHunt(huntId);
      return hunt?.finishedAt ? harness.engine.listApprovals(huntId) : null;
    }, 'the hunt and its approval request');
    expect(approvals.map((approval) => approval.host)).toEqual(['victim03.corp.example']);
    await harness.engine.decide({ approvalId: approvals[0]!.approvalId, decision: 'approve', actor: approver, actorGroups: ['wmi-approvers'] });
    await eventually(async () => ((await harness.engine.getApproval(approvals[0]!.approvalId))?.status === 'completed' ? true : null), 'the removal');
    expect(harness.fleet.objects('victim03.corp.example')).toEqual([]);
  });
});
