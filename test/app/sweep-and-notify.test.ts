import { afterEach, describe, expect, it } from 'vitest';
import type { HuntNotifications } from '../../src/app/notifications.js';
import { maliciousSubscription } from './fake-host.js';
import { engineHarness, eventually, type EngineHarness } from './engine-harness.js';
import { redisAvailable } from './redis-harness.js';

class RecordingNotifications implements HuntNotifications {
  readonly events: string[] = [];
  async huntUpdated(hunt: Parameters<HuntNotifications['huntUpdated']>[0]) {
    this.events.push(`hunt-updated:${hunt.huntId}:${hunt.status}`);
  }
  async huntCompleted(hunt: Parameters<HuntNotifications['huntCompleted']>[0], report: Parameters<HuntNotifications['huntCompleted']>[1]) {
    this.events.push(`hunt-completed:${hunt.huntId}:${report.findings.length}`);
  }
  async approvalUpdated(approval: Parameters<HuntNotifications['approvalUpdated']>[0]) {
    this.events.push(`approval-updated:${approval.status}`);
  }
  async removalFinished(approval: Parameters<HuntNotifications['removalFinished']>[0]) {
    this.events.push(`removal-finished:${approval.status}`);
  }
  async restoreFinished() {
    this.events.push('restore-finished');
  }
}

describe.skipIf(!redisAvailable)('sweeps and notifications', () => {
  let harness: EngineHarness;
  afterEach(async () => harness.close());

  async function sweep(): Promise<string> {
    const { huntId } = await harness.engine.startHunt({ hosts: ['host01'], playbook: 'wmi-subscription-sweep', requestedBy: { kind: 'system', id: 'schedule' } });
    await eventually(async () => (await harness.engine.getHunt(huntId))?.finishedAt, 'the sweep');
    return huntId;
  }

  it('reports only subscriptions new since the previous sweep of the same host, and notifies only then', async () => {
    const notifications = new RecordingNotifications();
    harness = await engineHarness({ notifications });
    harness.fleet.addHost('host01', maliciousSubscription('First'));
    await harness.startWorkers();

    const first = await sweep();
    const firstReport = await harness.engine.getReport(first);
    expect(firstReport?.findings.filter((finding) => !finding.benign).map((finding) => finding.consumerName)).toEqual(['First']);

    const second = await sweep();
    expect((await harness.engine.getReport(second))?.findings).toEqual([]);

    harness.fleet.objects('host01').push(...maliciousSubscription('Second'));
    const third = await sweep();
    expect((await harness.engine.getReport(third))?.findings.map((finding) => finding.consumerName)).toEqual(['Second']);

    await eventually(async () => notifications.events.filter((event) => event.startsWith('hunt-completed')).length === 2, 'the report notifications');
    expect(notifications.events.filter((event) => event.startsWith('hunt-completed'))).toEqual([`hunt-completed:${first}:1`, `hunt-completed:${third}:1`]);
  });

  it('delivers hunt progress, report and approval cards through the notify queue', async () => {
    const notifications = new RecordingNotifications();
    harness = await engineHarness({ notifications });
    harness.fleet.addHost('victim01', maliciousSubscription());
    await harness.startWorkers();
    const { huntId } = await harness.engine.startHunt({ hosts: ['victim01'], requestedBy: { kind: 'slack', id: 'U0REQ' }, slack: { channel: 'C0SOC' } });
    await eventually(async () => notifications.events.includes('approval-updated:pending') && notifications.events.some((event) => event.startsWith('hunt-completed')), 'the cards');
    expect(notifications.events).toContain(`hunt-completed:${huntId}:1`);
    expect(notifications.events.filter((event) => event.startsWith('hunt-updated')).length).toBeGreaterThan(0);
  });
});

describe.skipIf(!redisAvailable)('scheduled sweeps', () => {
  let harness: EngineHarness;
  afterEach(async () => harness.close());

  it('registers one scheduler per sweep playbook and runs the sweep over SWEEP_HOSTS', async () => {
    harness = await engineHarness({ sweepHosts: ['host01', 'host02'] });
    harness.fleet.addHost('host01').addHost('host02', maliciousSubscription());
    await harness.startWorkers();
    expect(await harness.handlers.syncSchedules()).toEqual(['wmi-subscription-sweep']);
    expect(await harness.handlers.syncSchedules()).toEqual(['wmi-subscription-sweep']);
    const schedulers = await harness.queues.hunt.getJobSchedulers();
    expect(schedulers.map((scheduler) => [scheduler.key, scheduler.every]).sort()).toEqual([
      ['approval-expiry', 60_000],
      ['sweep-wmi-subscription-sweep', 86_400_000],
    ]);
    const hunt = await eventually(async () => {
      const ids = await harness.store.redis.zrange(harness.store.keys.huntIndex(), '0', '-1');
      const hunts = await Promise.all(ids.map((id) => harness.engine.getHunt(id)));
      return hunts.find((entry) => entry?.finishedAt) ?? null;
    }, 'the first sweep');
    expect(hunt).toMatchObject({ playbook: 'wmi-subscription-sweep', hosts: ['host01', 'host02'], status: 'completed', requestedBy: { kind: 'system', id: 'schedule:wmi-subscription-sweep' } });
  });

  it('schedules no sweep without SWEEP_HOSTS, only the approval expiry check', async () => {
    harness = await engineHarness();
    expect(await harness.handlers.syncSchedules()).toEqual([]);
    expect((await harness.queues.hunt.getJobSchedulers()).map((scheduler) => scheduler.key)).toEqual(['approval-expiry']);
  });
});
