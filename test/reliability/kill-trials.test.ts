import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor, ApprovalRequest } from '../../src/app/engine.js';
import { removalTargets } from '../../src/app/hunt-engine.js';
import { startService, type RunningService } from '../../src/app/service.js';
import { loadConfig } from '../../src/config/config.js';
import type { RemovalBackup } from '../../src/domain/ports.js';
import { objectKey } from '../../src/domain/wmi-object.js';
import { pwshPath, REDIS_URL, requireService, tcpReachable } from '../support/services.js';
import { labEnvironment, LabWorker, readLabRepository, subscription, writeLabRepository, type LabInstance } from './support/lab-worker.js';
import { mulberry32, sleep, waitFor } from './support/random.js';

/**
 * SIGKILL trials: real worker processes running real remove.ps1 in real pwsh against the lab WMI
 * repository, killed (with their pwsh) at random points of approved removals, then replaced, until
 * every approval is done. Afterwards: every approved removal completed exactly once, every removed
 * object has a readable backup, nothing unapproved was removed, and the audit log matches the lab host.
 */
const pwsh = pwshPath();
const redisUp = await tcpReachable(REDIS_URL);
const available =
  requireService('redis', redisUp, `start Redis or set WMI_TEST_REDIS_URL (tried ${REDIS_URL})`) &&
  requireService('pwsh', pwsh !== null, 'install PowerShell 7 (.ci/setup.sh) and put pwsh on PATH');

const TRIALS = Number(process.env.WMI_KILL_TRIALS ?? 50);
/** Independent lanes (own Redis prefix, lab repository and worker) run side by side to halve the wall time. */
const LANES = 2;
const UNAPPROVED = 3;
const SEED = Number(process.env.WMI_KILL_SEED ?? Date.now() % 1_000_000);
const requester: Actor = { kind: 'slack', id: 'U0REQUEST' };
const approver: Actor = { kind: 'slack', id: 'U0APPROVE' };

export interface KillRecord {
  approvalId: string | null;
  phase: string;
  lane: number;
  milestone: string;
  delayMs: number;
  /** From the replacement worker's start to it holding a removal job. */
  takeoverMs: number;
}

interface Lane {
  work: string;
  prefix: string;
  repositoryPath: string;
  settings: { work: string; redisUrl: string; prefix: string; pwsh: string };
  service: RunningService;
  worker: LabWorker | null;
  seeded: LabInstance[];
}

describe.skipIf(!available)('a worker killed with SIGKILL during approved removals (real processes, pwsh, Redis)', () => {
  const lanes: Lane[] = [];
  const trialsPerLane = Math.ceil(TRIALS / LANES);
  const approvalsPerLane = trialsPerLane + 4;

  beforeAll(async () => {
    for (let index = 0; index < LANES; index += 1) {
      const work = mkdtempSync(join(tmpdir(), 'wmi-kill-'));
      const prefix = `rel-kill-${process.pid}-${Date.now()}-${index}`;
      const settings = { work, redisUrl: REDIS_URL, prefix, pwsh: pwsh ?? 'pwsh' };
      const seeded: LabInstance[] = [];
      for (let sub = 0; sub < approvalsPerLane + UNAPPROVED; sub += 1) seeded.push(...subscription(tagOf(sub)));
      const repositoryPath = join(work, 'repository.json');
      writeLabRepository(repositoryPath, seeded);
      const service = await startService(loadConfig(labEnvironment(settings)), { serve: false, worker: false }, { logger: pino({ level: 'silent' }) });
      lanes.push({ work, prefix, repositoryPath, settings, service, worker: null, seeded });
    }
  }, 60_000);

  afterAll(async () => {
    for (const lane of lanes) {
      await lane.worker?.stop();
      const keys = await lane.service.store.redis.keys(`${lane.prefix}*`);
      if (keys.length > 0) await lane.service.store.redis.del(...keys);
      await lane.service.stop();
      rmSync(lane.work, { recursive: true, force: true });
    }
  });

  it(`completes every approved removal exactly once across ${TRIALS}+ kills, with a readable backup of every removed object`, async () => {
    const started = Date.now();
    const kills = await Promise.all(lanes.map((lane, index) => runLane(lane, index, mulberry32(SEED + index), trialsPerLane, approvalsPerLane)));
    const summary = { seed: SEED, lanes: LANES, approvals: approvalsPerLane * LANES, seconds: Math.round((Date.now() - started) / 1000), kills: kills.flat() };
    writeFileSync(join(process.env.WMI_RELIABILITY_OUT ?? lanes[0]!.work, 'kill-trials.json'), JSON.stringify(summary, null, 2));
    expect(summary.kills.filter((kill) => kill.approvalId !== null).length).toBeGreaterThanOrEqual(TRIALS);
    expect(new Set(summary.kills.map((kill) => `${kill.lane}|${kill.approvalId}`)).size, 'each trial kills a different approval').toBe(summary.kills.length);
  }, 600_000);
});

const MILESTONES = ['removal job taken', 'backup persisted', 'an object removed on the host'] as const;

/** Whether the removal now running got as far as `milestone` (or finished). */
async function reached(lane: Lane, approvals: ApprovalRequest[], milestone: (typeof MILESTONES)[number]): Promise<boolean> {
  if (milestone === 'removal job taken') return true;
  const { store } = lane.service;
  for (const { approvalId } of approvals) {
    const approval = await store.approvals.require(approvalId);
    if (approval.status !== 'executing') continue;
    if (milestone === 'backup persisted') return (await store.approvals.backupOf(approvalId)) !== null;
    const remaining = readLabRepository(lane.repositoryPath).instances;
    return removalTargets(approval.findings).some((target) => !remaining.some((entry) => entry.className === target.className && keyOf(entry) === target.key));
  }
  return true;
}

function tagOf(index: number): string {
  return `S${String(index).padStart(3, '0')}`;
}

async function runLane(lane: Lane, laneIndex: number, random: () => number, trials: number, approvalCount: number): Promise<KillRecord[]> {
  const { engine, store } = lane.service;
  lane.worker = LabWorker.start(lane.settings);
  const stderr = () => lane.worker?.stderr ?? '';

  const { huntId } = await engine.startHunt({ hosts: ['labhost'], requestedBy: requester });
  await waitFor(async () => (await engine.getHunt(huntId))?.finishedAt ?? null, 180_000, () => `the hunt ${huntId} (worker: ${stderr()})`);
  const report = (await engine.getReport(huntId))!;
  const approvals: ApprovalRequest[] = [];
  for (let index = 0; index < approvalCount; index += 1) {
    const finding = report.findings.find((entry) => entry.objects.some((object) => object.key === `RelConsumer_${tagOf(index)}`));
    expect(finding, `finding of subscription ${index}`).toBeDefined();
    const [approval] = await engine.requestRemoval({ huntId, findingIds: [finding!.id], requestedBy: requester });
    approvals.push(approval!);
  }
  for (const approval of approvals) {
    await engine.decide({ approvalId: approval.approvalId, decision: 'approve', actor: approver, actorGroups: ['wmi-approvers'] });
  }

  const kills: KillRecord[] = [];
  const statuses = async () => Promise.all(approvals.map(async ({ approvalId }) => ({ approvalId, status: (await store.approvals.require(approvalId)).status })));
  const finished = async () => (await statuses()).every((entry) => entry.status === 'completed' || entry.status === 'failed');
  const locked = async () => {
    const keys = await store.redis.keys(`${lane.prefix}:q:remove:*:lock`);
    return keys.length > 0;
  };
  const killed = new Set<string>();
  const executing = async () => (await statuses()).find((entry) => entry.status === 'executing')?.approvalId ?? null;
  let takeoverMs = 0;
  while (kills.filter((kill) => kill.approvalId !== null).length < trials && !(await finished())) {
    // A kill counts once the worker is up and holds a removal job (a dead one's lock expired).
    const since = Date.now();
    const running = await Promise.race([lane.worker.ready.then(() => waitFor(locked, 60_000, () => 'a removal to start')), sleep(90_000).then(() => false)]).catch(() => false);
    if (!running) break;
    takeoverMs ||= Date.now() - since;
    // Each trial kills a different approval once; the retry of a killed one is left to finish.
    const current = await executing();
    if (current && killed.has(current)) {
      await waitFor(async () => (await store.approvals.require(current)).status !== 'executing', 120_000, () => `the retry of ${current} (worker: ${stderr()})`);
      continue;
    }
    // Kill points are spread over the removal's phases: a random milestone, then a random delay.
    const milestone = MILESTONES[Math.floor(random() * MILESTONES.length)]!;
    await waitFor(() => reached(lane, approvals, milestone), 30_000, () => milestone).catch(() => null);
    const delayMs = Math.floor(random() * 400);
    await sleep(delayMs);
    await lane.worker.kill();
    const point = await killPoint(lane, approvals);
    if (point.approvalId) killed.add(point.approvalId);
    kills.push({ ...point, lane: laneIndex, milestone, delayMs, takeoverMs });
    takeoverMs = 0;
    lane.worker = LabWorker.start(lane.settings);
  }
  await waitFor(finished, 240_000, () => `every approval to finish (worker: ${stderr()})`);
  await lane.worker.stop();
  await checkInvariants(lane, approvals);
  return kills;
}

/** What must hold however the kills landed: per approval, and for the lab host as a whole. */
async function checkInvariants(lane: Lane, approvals: ApprovalRequest[]): Promise<void> {
  const { store } = lane.service;
  const audit = await store.audit.list({ count: 100_000 });
  const remaining = readLabRepository(lane.repositoryPath).instances;
  const present = (target: { className: string; key: string }) => remaining.some((entry) => entry.className === target.className && keyOf(entry) === target.key);
  const hostCopies = readdirSync(join(lane.work, 'programdata', 'wmi-hunter', 'backups'));
  const approvedKeys = new Set<string>();

  for (const { approvalId } of approvals) {
    const approval = await store.approvals.require(approvalId);
    const targets = removalTargets(approval.findings);
    for (const target of targets) approvedKeys.add(`${target.className}|${target.key}`);
    const entries = (action: string) => audit.filter((entry) => entry.action === action && entry.target === approvalId);
    expect(approval.status, approvalId).toBe('completed');
    expect(entries('removal.completed'), approvalId).toHaveLength(1);
    expect(entries('removal.failed'), approvalId).toHaveLength(0);
    expect(entries('removal.started'), approvalId).toHaveLength(1);
    expect(entries('removal.objects'), approvalId).toHaveLength(1);

    const removal = approval.removal!;
    expect(removal.verified).toBe(true);
    expect(removal.results.every((result) => result.status === 'removed' || result.status === 'removed-earlier'), JSON.stringify(removal.results)).toBe(true);
    const backups = audit.filter((entry) => entry.action === 'evidence.stored' && entry.details.kind === 'backup' && entry.details.approvalId === approvalId);
    expect(backups.map((entry) => entry.target), approvalId).toEqual([removal.backupId]);
    const { document: backup, sha256 } = await store.evidence.getJson<RemovalBackup>(removal.backupId);
    expect(entries('removal.completed')[0]!.hashes.backup).toBe(sha256);
    expect(backup.objects.map((object) => `${object.kind}|${object.key}|${object.contentHash}`).sort()).toEqual(
      targets.map((target) => `${target.kind}|${target.key}|${target.contentHash}`).sort(),
    );
    expect(backup.mof).toContain('instance of CommandLineEventConsumer');
    for (const target of targets) expect(present(target), `${approvalId} ${target.key} still on the host`).toBe(false);
    expect(hostCopies.some((name) => name.startsWith(`${approvalId}-`)), `host-side copy of ${approvalId}`).toBe(true);
  }

  const removed = lane.seeded.filter((instance) => !remaining.some((entry) => entry.className === instance.className && keyOf(entry) === keyOf(instance)));
  expect(removed.filter((instance) => !approvedKeys.has(`${instance.className}|${keyOf(instance)}`))).toEqual([]);
  expect(remaining).toHaveLength(UNAPPROVED * 3);
}

function keyOf(instance: LabInstance): string {
  return objectKey(instance.className === '__FilterToConsumerBinding' ? 'binding' : 'filter', instance.properties as never);
}

/** Where the kill landed, read after it (nothing changes once the worker and its pwsh are dead). */
async function killPoint(lane: Lane, approvals: ApprovalRequest[]): Promise<Pick<KillRecord, 'approvalId' | 'phase'>> {
  const { service, repositoryPath } = lane;
  for (const { approvalId } of approvals) {
    const approval = await service.store.approvals.require(approvalId);
    if (approval.status !== 'executing') continue;
    const remaining = readLabRepository(repositoryPath).instances;
    const targets = removalTargets(approval.findings);
    const left = targets.filter((target) => remaining.some((entry) => entry.className === target.className && keyOf(entry) === target.key)).length;
    const backupId = await service.store.approvals.backupOf(approvalId);
    const phase =
      approval.removal !== null
        ? 'result recorded, status not yet completed'
        : !backupId
          ? left === targets.length
            ? 'before the backup was persisted'
            : 'objects gone before the backup was persisted (defect)'
          : left === targets.length
            ? 'backup persisted, nothing removed yet'
            : left > 0
              ? 'backup persisted, partly removed'
              : 'all removed, result not yet recorded';
    return { approvalId, phase };
  }
  return { approvalId: null, phase: 'between removals' };
}
