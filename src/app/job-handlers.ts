import { setMaxListeners } from 'node:events';
import type { Job } from 'bullmq';
import type { Collection } from '../domain/collection.js';
import type { Finding } from '../domain/finding.js';
import type { HostExecutor, RemovalBackup, RemovalResult, RemovalTarget } from '../domain/ports.js';
import type { HostSummary } from '../domain/report/build-report.js';
import { CodedError, ErrorCode, asCodedError } from '../errors.js';
import { atOrAbove, resolveValue, stepsOfPhase, type PlaybookRegistry } from '../playbooks/playbook-registry.js';
import type { Step } from '../playbooks/playbook-schema.js';
import { runSteps, type StepState } from '../playbooks/step-runner.js';
import { postpone, runJob, type RunContext } from '../queue/job-runner.js';
import {
  jobIds,
  type FinalizeJobData,
  type HostBatchJobData,
  type HostJobData,
  type NotifyJobData,
  type RemoveJobData,
  type RestoreJobData,
  type SweepJobData,
} from '../queue/queue-names.js';
import { HostSlots } from '../queue/host-slots.js';
import type { Queues } from '../queue/queues.js';
import type { WorkerSpec } from '../queue/worker-host.js';
import type { AuditEntryInput } from '../store/audit-log.js';
import type { HostResult, HuntMeta } from '../store/hunt-store.js';
import type { Store } from '../store/store.js';
import type { HuntAnalysis } from './analysis.js';
import { HostRecorder, type HostOutcome } from './host-recorder.js';
import { RecordedHunts } from './recorded-hunts.js';
import type { ApprovalRequest, HuntStatus } from './engine.js';
import { HuntEngine, SYSTEM_ACTOR, removalTargets, withoutSharedObjects } from './hunt-engine.js';
import type { HuntNotifications } from './notifications.js';

/**
 * What each job does. Host jobs (a batch of hosts, or one) run the playbook's host phase (collect,
 * analyze, trace) on each host and fan in through one atomic count per write of finished hosts; the
 * write that completes the hunt queues the finalize job, which runs the hunt phase
 * (report, request-approval, notify). An approval queues the remove job (removal phase: remove,
 * verify, restore, notify). Every step's evidence is stored and its hash audited.
 */
export interface JobHandlerDeps {
  store: Store;
  queues: Queues;
  playbooks: PlaybookRegistry;
  engine: HuntEngine;
  executor: HostExecutor;
  analysis: HuntAnalysis;
  notifications: HuntNotifications | null;
  timeoutsMs: { hunt: number; remove: number; restore: number };
  /** `hunt` is hosts at once in this process (its host slots); the hunt queue's jobs share them. */
  concurrency: { hunt: number; remove: number; restore: number; notify: number };
  /** Hosts one batch job works on at a time (fan-out.ts); never more than the host slots. */
  hostsAtOncePerJob?: number;
  shutdownSignal: AbortSignal;
  sweepHosts: string[];
  /** How long a job waits before trying a host that another job is changing. */
  hostBusyDelayMs?: number;
  /** How often pending approvals are checked for expiry. */
  expirySweepMs?: number;
  /** The analyze-upload job (src/app/analyze-upload-job.ts), when Slack uploads are configured. */
  uploads?: { workerSpec(): WorkerSpec };
  /**
   * Bound of what this process keeps of the hosts it recorded, for its hunts' finalize (findings'
   * JSON characters plus about 1 KB a host, across hunts; recorded-hunts.ts). 0 keeps nothing.
   */
  recordedHuntsMaxChars?: number;
  now?: () => Date;
}

/** Runs a host's remote work in its host slots. */
type InSlot = <T>(work: () => Promise<T>) => Promise<T>;

const PROGRESS_UPDATES = 10;
const DEFAULT_HOSTS_AT_ONCE_PER_JOB = 25;
const EXPIRY_SCHEDULER = 'approval-expiry';
const HOST_LOCK_MARGIN_MS = 60_000;
/** About 18,000 hosts of one finding of 1.7 KB each (a fleet of default subscriptions). */
const DEFAULT_RECORDED_HUNTS_MAX_CHARS = 48 * 1024 * 1024;

export class JobHandlers {
  private readonly now: () => Date;
  private readonly slots: HostSlots;
  private readonly recordedHunts: RecordedHunts;

  constructor(private readonly deps: JobHandlerDeps) {
    this.now = deps.now ?? (() => new Date());
    this.slots = new HostSlots(deps.concurrency.hunt);
    this.recordedHunts = new RecordedHunts(deps.recordedHuntsMaxChars ?? DEFAULT_RECORDED_HUNTS_MAX_CHARS);
  }

  /** What this process keeps of the hosts it recorded, waiting for their hunts' finalize (characters, as budgeted). */
  get keptRecordedChars(): number {
    return this.recordedHunts.keptChars;
  }

  workerSpecs(): WorkerSpec[] {
    const { concurrency } = this.deps;
    const specs: WorkerSpec[] = [
      { queue: 'hunt', concurrency: concurrency.hunt, processor: (job, token, cancel) => this.huntQueue(job, token, cancel) },
      { queue: 'remove', concurrency: concurrency.remove, processor: (job, token, cancel) => this.remove(job as Job<RemoveJobData>, token, cancel) },
      { queue: 'restore', concurrency: concurrency.restore, processor: (job, token, cancel) => this.restore(job as Job<RestoreJobData>, token, cancel) },
    ];
    if (this.deps.notifications) {
      specs.push({ queue: 'notify', concurrency: concurrency.notify, processor: (job) => this.notify(job as Job<NotifyJobData>) });
    }
    if (this.deps.uploads) specs.push(this.deps.uploads.workerSpec());
    return specs;
  }

  /**
   * Registers the repeatable jobs (replaced on each boot): the approval expiry sweep, and one
   * scheduler per sweep playbook when SWEEP_HOSTS names hosts.
   */
  async syncSchedules(): Promise<string[]> {
    await this.deps.queues.hunt.upsertJobScheduler(EXPIRY_SCHEDULER, { every: this.deps.expirySweepMs ?? 60_000 }, { name: 'expire-approvals', data: {} });
    if (this.deps.sweepHosts.length === 0) return [];
    const scheduled = this.deps.playbooks.scheduled();
    for (const { entry, everyMs } of scheduled) {
      await this.deps.queues.hunt.upsertJobScheduler(`sweep-${entry.playbook.name}`, { every: everyMs }, {
        name: 'sweep',
        data: { playbook: entry.playbook.name } satisfies SweepJobData,
      });
    }
    return scheduled.map(({ entry }) => entry.playbook.name);
  }

  private huntQueue(job: Job, token: string | undefined, cancel?: AbortSignal): Promise<unknown> {
    switch (job.name) {
      case 'host':
        return this.host(job as Job<HostJobData>, token, cancel);
      case 'hosts':
        return this.hostBatch(job as Job<HostBatchJobData>, token, cancel);
      case 'finalize':
        return this.finalize(job as Job<FinalizeJobData>, token, cancel);
      case 'sweep':
        return this.sweep(job as Job<SweepJobData>);
      case 'expire-approvals':
        return this.deps.engine.expireApprovals();
      default:
        throw new CodedError(ErrorCode.BadInput, `unknown hunt job ${job.name}`);
    }
  }

  private options(timeoutMs: number, cancel: AbortSignal | undefined, onFinalFailure?: (error: CodedError) => Promise<void>) {
    return { timeoutMs, shutdownSignal: this.deps.shutdownSignal, ...(cancel ? { cancelSignal: cancel } : {}), ...(onFinalFailure ? { onFinalFailure } : {}) };
  }

  /**
   * A single host's job (a small hunt's host, or a batch's host waiting for its retry): a transient
   * failure retries the whole job with BullMQ's backoff, the last failure records the host as failed.
   */
  async host(job: Job<HostJobData>, token: string | undefined, cancel?: AbortSignal): Promise<{ findings: number }> {
    const { huntId, host } = job.data;
    const recorder = this.recorder(huntId);
    const failHost = async (error: CodedError) => {
      recorder.add(failedOutcome(host, error));
      await recorder.settle();
    };
    // The host's own timeout runs from the moment it has a slot; the job's is only a backstop.
    return runJob(job, token, this.options(2 * this.deps.timeoutsMs.hunt, cancel, failHost), async ({ signal }) => {
      if ((await this.deps.store.hunts.recordedHosts(huntId, [host])).size > 0) {
        await recorder.settle();
        return { findings: 0 };
      }
      const outcome = await this.timedHost(host, signal, (work) => this.slots.run(signal, work), (hostSignal, inSlot) => this.workOnHost(job.data, host, hostSignal, inSlot));
      recorder.add(outcome);
      await recorder.settle();
      return { findings: outcome.findings.length };
    });
  }

  /**
   * A batch of hosts: up to hostsAtOncePerJob of them worked on remotely at a time (within the
   * process's host slots), each under its own timeout and recorded on its own as it finishes. A host that fails for good
   * is recorded as failed with its own error; a host whose failure may pass is handed to a `host`
   * job that retries it after the backoff, so it neither holds the batch nor spends others' attempts.
   * A retried or taken-over batch skips the hosts already recorded.
   */
  async hostBatch(job: Job<HostBatchJobData>, token: string | undefined, cancel?: AbortSignal): Promise<{ hosts: number; findings: number }> {
    const { huntId, hosts } = job.data;
    const recorder = this.recorder(huntId);
    const atOnce = Math.max(1, Math.min(this.deps.hostsAtOncePerJob ?? DEFAULT_HOSTS_AT_ONCE_PER_JOB, this.slots.size));
    const failUnrecorded = async (error: CodedError) => {
      const recorded = await this.deps.store.hunts.recordedHosts(huntId, hosts);
      for (const host of hosts.filter((entry) => !recorded.has(entry))) recorder.add(failedOutcome(host, error));
      await recorder.settle();
    };
    const timeoutMs = this.deps.timeoutsMs.hunt * (Math.ceil(hosts.length / atOnce) + 2);
    return runJob(job, token, this.options(timeoutMs, cancel, failUnrecorded), async ({ signal }) => {
      // Every host of the batch at work, and every one waiting for a slot, listens on the batch's signal.
      setMaxListeners(0, signal);
      const recorded = await this.deps.store.hunts.recordedHosts(huntId, hosts);
      const pending = hosts.filter((host) => !recorded.has(host));
      // A host holds its slots only while it is being worked on remotely (collect); storing and
      // analyzing it is local work, during which the next host of the batch already takes the slot.
      const jobSlots = new HostSlots(atOnce);
      const inSlot = <T>(work: () => Promise<T>) => jobSlots.run(signal, () => this.slots.run(signal, work));
      let next = 0;
      let findings = 0;
      const lane = async () => {
        while (next < pending.length) {
          recorder.throwIfFailed();
          const host = pending[next++]!;
          const outcome = await this.batchHost(job.data, host, signal, inSlot);
          if (outcome) {
            findings += outcome.findings.length;
            recorder.add(outcome);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(2 * atOnce, pending.length) }, lane));
      await recorder.settle();
      return { hosts: pending.length, findings };
    });
  }

  /** One host of a batch: its outcome to record, or null when it was handed to a retry job. */
  private async batchHost(data: HostBatchJobData, host: string, batchSignal: AbortSignal, inSlot: InSlot): Promise<HostOutcome | null> {
    try {
      return await this.timedHost(host, batchSignal, inSlot, (signal, timedSlot) => this.workOnHost(data, host, signal, timedSlot));
    } catch (thrown) {
      // The batch itself stopped (shutdown, cancel, its own timeout): the host is left unrecorded for the batch's next run.
      if (batchSignal.aborted) throw batchSignal.reason;
      const error = asCodedError(thrown);
      const retry = this.retryOptions();
      if (!error.transient || retry.attempts < 1) return failedOutcome(host, error);
      const { hosts: _hosts, ...common } = data;
      await this.deps.queues.hunt.add('host', { ...common, host } satisfies HostJobData, { jobId: jobIds.host(data.huntId, host), ...retry });
      return null;
    }
  }

  /**
   * Runs one host's work under its own timeout (HUNT_TIMEOUT), which starts when the host gets its
   * slot, not while it waits for one, and aborts the host's calls when it fires or `outer` aborts.
   * A timed-out host fails with E_TIMEOUT, whatever its aborted call threw.
   */
  private async timedHost<T>(host: string, outer: AbortSignal, inSlot: InSlot, work: (signal: AbortSignal, inSlot: InSlot) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const onOuterAbort = () => controller.abort(outer.reason);
    outer.addEventListener('abort', onOuterAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timedSlot: InSlot = (slotWork) =>
      inSlot(() => {
        timer ??= setTimeout(
          () => controller.abort(new CodedError(ErrorCode.Timeout, `host ${host} timed out after ${this.deps.timeoutsMs.hunt} ms`, { host })),
          this.deps.timeoutsMs.hunt,
        );
        return slotWork();
      });
    try {
      return await work(controller.signal, timedSlot);
    } catch (thrown) {
      throw controller.signal.aborted && !outer.aborted ? controller.signal.reason : thrown;
    } finally {
      clearTimeout(timer);
      outer.removeEventListener('abort', onOuterAbort);
    }
  }

  /** The retry of a batch's host: the attempts left after the batch's, starting one backoff step later. */
  private retryOptions(): { attempts: number; delay: number; backoff?: { type: 'exponential'; delay: number; jitter?: number } } {
    const defaults = this.deps.queues.hunt.defaultJobOptions;
    const attempts = (defaults.attempts ?? 1) - 1;
    const backoff = typeof defaults.backoff === 'object' ? defaults.backoff : null;
    if (!backoff?.delay) return { attempts, delay: 0 };
    const jitter = backoff.jitter ?? 0;
    return {
      attempts,
      delay: Math.round(backoff.delay * (1 - jitter * Math.random())),
      backoff: { type: 'exponential', delay: backoff.delay * 2, ...(backoff.jitter !== undefined ? { jitter: backoff.jitter } : {}) },
    };
  }

  /** The playbook's host phase on one host (collect, analyze, trace): what to record for it. */
  private async workOnHost(data: HostJobData | HostBatchJobData, host: string, signal: AbortSignal, inSlot: InSlot): Promise<HostOutcome> {
    const playbook = this.deps.playbooks.get(data.playbook).playbook;
    let collection: Collection | null = null;
    let collectionRef: { id: string; sha256: string } | null = null;
    let audit: AuditEntryInput | null = null;
    let findings: Finding[] = [];
    const state = stepState(data.params, () => findings);
    await runSteps(stepsOfPhase(playbook, 'host'), state, async (step) => {
      if (step.action === 'collect') {
        collection = await inSlot(() => this.deps.executor.collect({ host, lookbackHours: data.lookbackHours, maxEvents: data.maxEvents }, signal));
        const stored = await this.deps.store.evidence.putJson('collection', collection);
        collectionRef = { id: stored.id, sha256: stored.sha256 };
        audit = {
          actor: SYSTEM_ACTOR,
          action: 'evidence.stored',
          target: stored.id,
          huntId: data.huntId,
          hashes: { collection: stored.sha256 },
          details: { host, kind: 'collection', bytes: stored.bytes },
        };
      } else if (step.action === 'analyze') {
        findings = this.deps.analysis.analyze(requireCollection(collection, step), { allowlist: step.with.allowlist });
      } else if (step.action === 'trace') {
        findings = this.deps.analysis.trace(findings, requireCollection(collection, step));
      }
    });
    const done = addressed(doneResult(host, collection, collectionRef, findings, state.failures, this.deps.analysis), findings);
    // A literal, not `{ ...done, audit }`: on Node 20's V8 a spread plus a new property gives each host's outcome a hidden class of its own.
    return { result: done.result, findings: done.findings, audit };
  }

  /**
   * Records a job's finished hosts, as few writes as the pace allows: while one write is in flight
   * the next outcomes gather, then go, with their evidence's audit entries, in one atomic script. The
   * write that completes the hunt queues its finalize job (LIFO: a finished hunt's report does not
   * wait behind the host jobs of other, larger hunts). The hosts a write recorded are kept for the
   * finalize (recorded-hunts.ts), with their findings' JSON texts, made once for both.
   */
  private recorder(huntId: string): HostRecorder {
    return new HostRecorder(async (outcomes) => {
      const { store } = this.deps;
      const findingTexts = outcomes.map(({ findings }) => findings.map((finding) => JSON.stringify(finding)));
      const progress = await store.hunts.recordHostResults(
        huntId,
        outcomes.map(({ result, findings, audit }, index) => ({
          result,
          findings,
          findingsJson: `[${findingTexts[index]!.join(',')}]`,
          ...(audit ? { auditFields: store.audit.entryFields(audit) } : {}),
        })),
      );
      this.recordedHunts.add(
        huntId,
        outcomes.flatMap(({ result, findings }, index) => (progress.recorded[index] ? [{ result, findings, findingTexts: findingTexts[index]! }] : [])),
        progress.done + progress.failed,
      );
      const newly = progress.recorded.filter(Boolean).length;
      const finished = progress.done + progress.failed;
      if (newly > 0 && progressWorthTelling(finished - newly, finished, progress.total)) {
        await this.deps.engine.notify({ kind: 'hunt-updated', huntId }, jobIds.notify(huntId, `progress-${finished}`));
      }
      if (progress.complete) await this.deps.queues.hunt.add('finalize', { huntId }, { jobId: jobIds.finalize(huntId), lifo: true });
    });
  }

  async finalize(job: Job<FinalizeJobData>, token: string | undefined, cancel?: AbortSignal): Promise<{ status: HuntStatus }> {
    const { huntId } = job.data;
    const { store } = this.deps;
    const onFinalFailure = async (error: CodedError) => {
      // The audit entry is written before the status is visible, so the log never lags what clients see.
      if (await store.hunts.claimOnce(huntId, 'finished')) {
        await store.audit.append({ actor: SYSTEM_ACTOR, action: 'hunt.failed', target: huntId, huntId, details: { code: error.code, message: error.message } });
      }
      if (await store.hunts.finish(huntId, 'failed', this.now().toISOString())) {
        await this.deps.engine.notify({ kind: 'hunt-updated', huntId }, jobIds.notify(huntId, 'failed'));
      }
      this.recordedHunts.drop(huntId);
    };
    return runJob(job, token, this.options(this.deps.timeoutsMs.hunt, cancel, onFinalFailure), async () => {
      const meta = await store.hunts.requireMeta(huntId);
      const { results, findings, findingTexts } = await this.recordedHosts(meta);
      const playbook = this.deps.playbooks.get(meta.playbook).playbook;
      let newFindings = 0;
      const notifications: Array<[NotifyJobData, string]> = [];
      const state = stepState(meta.params, () => findings, () => newFindings);
      for (const result of results) Object.assign(state.failures, result.stepFailures);
      for (const stepId of Object.keys(state.failures)) state.outcomes[stepId] = 'failed';

      await runSteps(stepsOfPhase(playbook, 'hunt'), state, async (step) => {
        if (step.action === 'report') newFindings = await this.report(meta, results, findings, step.with.onlyNew, findingTexts);
        else if (step.action === 'request-approval') await this.requestApprovals(meta, findings, step);
        else if (step.action === 'notify') notifications.push(...(await this.huntNotifications(meta, step.with.event)));
      });

      const failed = results.filter((result) => result.outcome === 'failed').length;
      const status: HuntStatus = failed === results.length ? 'failed' : failed > 0 || Object.keys(state.failures).length > 0 ? 'partial' : 'completed';
      if (await store.hunts.claimOnce(huntId, 'finished')) {
        const reportRef = await store.hunts.getReportRef(huntId);
        await store.stats.increment(countBy(findings.filter((finding) => !finding.benign), (finding) => `findings:${finding.riskLevel}`));
        await store.audit.append({
          actor: SYSTEM_ACTOR,
          action: 'hunt.finished',
          target: huntId,
          huntId,
          hashes: reportRef ? { report: reportRef.sha256 } : {},
          details: { status, hosts: results.length, failedHosts: failed, findings: findings.length, newFindings, stepFailures: state.failures },
        });
      }
      await store.hunts.finish(huntId, status as 'completed' | 'partial' | 'failed', this.now().toISOString());
      this.recordedHunts.drop(huntId);
      for (const [data, jobId] of notifications) await this.deps.engine.notify(data, jobId);
      return { status };
    });
  }

  /**
   * Every host's result (in host order, whichever way they are read, so the report is the same) and
   * the hunt's findings: those this process kept as it recorded them when it recorded every host of
   * the hunt (with the findings' JSON texts), read back from Redis otherwise. The first and last
   * hosts kept are checked against Redis's text of their result, so that a hunt id used again after
   * Redis lost its data never gets the hosts of the hunt that had it before.
   */
  private async recordedHosts(meta: HuntMeta): Promise<{ results: HostResult[]; findings: Finding[]; findingTexts: Map<Finding, string> | null }> {
    let kept = this.recordedHunts.covering(meta.huntId, meta.hosts);
    if (kept && kept.length > 0) {
      const checked = [kept[0]!, kept[kept.length - 1]!];
      const stored = await this.deps.store.hunts.hostResultTexts(meta.huntId, checked.map(({ result }) => result.host));
      if (checked.some(({ result }, index) => stored[index] !== JSON.stringify(result))) kept = null;
    }
    if (!kept) {
      const [results, findings] = await Promise.all([this.deps.store.hunts.getHostResults(meta.huntId), this.deps.store.hunts.getFindings(meta.huntId)]);
      return { results: results.sort(byHost), findings, findingTexts: null };
    }
    const hosts = kept.sort((a, b) => byHost(a.result, b.result));
    const findings: Finding[] = [];
    const findingTexts = new Map<Finding, string>();
    for (const { findings: hostFindings, findingTexts: texts } of hosts) {
      hostFindings.forEach((finding, index) => {
        findings.push(finding);
        findingTexts.set(finding, texts[index]!);
      });
    }
    return { results: hosts.map((host) => host.result), findings, findingTexts };
  }

  /** Builds and stores the report once (a retried finalize reuses it); returns how many findings were new. */
  private async report(meta: HuntMeta, results: HostResult[], findings: Finding[], onlyNew: boolean, findingTexts: Map<Finding, string> | null): Promise<number> {
    const { store } = this.deps;
    const existing = await store.hunts.getReportRef(meta.huntId);
    if (existing) {
      const report = await this.deps.engine.getReport(meta.huntId);
      return onlyNew ? (report?.findings.length ?? 0) : 0;
    }
    let reported = findings;
    if (onlyNew) {
      const byHost = new Map<string, Finding[]>();
      for (const finding of findings) {
        const key = finding.host.toLowerCase();
        const hostFindings = byHost.get(key);
        if (hostFindings) hostFindings.push(finding);
        else byHost.set(key, [finding]);
      }
      const done = results.filter((entry) => entry.outcome === 'done').map((result) => ({ host: result.host, findings: byHost.get(result.host.toLowerCase()) ?? [] }));
      const previous = await store.hunts.swapBaselines(
        meta.playbook,
        done.map(({ host, findings: hostFindings }) => ({ host, hashes: hostFindings.map((finding) => finding.contentHash) })),
      );
      reported = done.flatMap(({ findings: hostFindings }, index) => {
        const seen = new Set(previous[index] ?? []);
        return hostFindings.filter((finding) => !seen.has(finding.contentHash));
      });
    }
    const report = this.deps.analysis.buildReport({
      huntId: meta.huntId,
      generatedAt: this.now().toISOString(),
      hosts: results.map(hostSummaryOf).sort((a, b) => a.host.localeCompare(b.host)),
      findings: reported,
      problems: results.flatMap((result) => result.problems),
    });
    const stored = await store.evidence.putJson('report', report, findingTexts ?? undefined);
    if (await store.hunts.setReport(meta.huntId, stored.id, stored.sha256)) {
      await store.audit.append({
        actor: SYSTEM_ACTOR,
        action: 'evidence.stored',
        target: stored.id,
        huntId: meta.huntId,
        hashes: { report: stored.sha256 },
        details: { kind: 'report', findings: reported.length, onlyNew, bytes: stored.bytes },
      });
    }
    return onlyNew ? reported.length : 0;
  }

  private async requestApprovals(meta: HuntMeta, findings: Finding[], step: Extract<Step, { action: 'request-approval' }>): Promise<void> {
    const threshold = resolveValue(step.with.minRisk, meta.params as Record<string, string>);
    const byHost = new Map<string, Finding[]>();
    for (const finding of findings) {
      if (finding.benign || !atOrAbove(finding.riskLevel, threshold)) continue;
      const key = finding.host.toLowerCase();
      byHost.set(key, [...(byHost.get(key) ?? []), finding]);
    }
    for (const hostFindings of byHost.values()) {
      if (removalTargets(withoutSharedObjects(hostFindings, findings)).length === 0) continue;
      await this.deps.engine.createApproval(meta.huntId, hostFindings, meta.playbook, step, meta.requestedBy, meta.slack);
    }
  }

  private async huntNotifications(meta: HuntMeta, event: string): Promise<Array<[NotifyJobData, string]>> {
    if (event === 'report') return [[{ kind: 'hunt-completed', huntId: meta.huntId }, jobIds.notify(meta.huntId, 'report')]];
    if (event === 'approval-requested') {
      const ids = await this.deps.store.approvals.listForHunt(meta.huntId);
      return ids.map((approvalId) => [{ kind: 'approval-updated', approvalId }, jobIds.notify(approvalId, 'requested')]);
    }
    return [[{ kind: 'hunt-updated', huntId: meta.huntId }, jobIds.notify(meta.huntId, event)]];
  }

  async remove(job: Job<RemoveJobData>, token: string | undefined, cancel?: AbortSignal): Promise<{ status: string }> {
    const { approvalId } = job.data;
    const { store } = this.deps;
    const initial = await store.approvals.require(approvalId);
    if (initial.status !== 'approved' && initial.status !== 'executing') {
      throw new CodedError(ErrorCode.ApprovalRequired, `approval ${approvalId} is ${initial.status}; nothing is removed`, { approvalId });
    }
    if (!(await store.hostLocks.acquire(initial.host, String(job.id), this.deps.timeoutsMs.remove + HOST_LOCK_MARGIN_MS))) {
      return postpone(job, token, this.deps.hostBusyDelayMs ?? 2_000);
    }
    const onFinalFailure = async (error: CodedError) => {
      const partial = await this.recordPartialRemoval(initial);
      if (await store.approvals.transition(approvalId, ['approved', 'executing'], 'failed')) {
        await store.audit.append({
          actor: SYSTEM_ACTOR,
          action: 'removal.failed',
          target: approvalId,
          huntId: initial.huntId,
          details: { code: error.code, message: error.message, backupId: partial?.backupId ?? null, removedBeforeFailure: partial?.removed ?? null },
        });
        await this.deps.engine.notify({ kind: 'removal-finished', approvalId }, jobIds.notify(approvalId, 'removal'));
      }
    };
    try {
      return await runJob(job, token, this.options(this.deps.timeoutsMs.remove, cancel, onFinalFailure), (context) => this.runRemoval(initial, context));
    } finally {
      await store.hostLocks.release(initial.host, String(job.id));
    }
  }

  /**
   * Idempotent per approval, so a worker killed at any point can be replaced by a retry: the backup
   * is taken without changing the host and persisted (evidence store, then the approval) before
   * anything is removed; every retry removes against that same backup; each audit entry of the
   * removal is written once; the result is recorded once.
   */
  private async runRemoval(approval: ApprovalRequest, { signal }: RunContext): Promise<{ status: string }> {
    const { store, executor } = this.deps;
    const { approvalId, huntId, host } = approval;
    await store.approvals.transition(approvalId, ['approved'], 'executing');
    await store.audit.appendOnce(`removal-started:${approvalId}`, { actor: SYSTEM_ACTOR, action: 'removal.started', target: approvalId, huntId, details: { host } });
    const meta = await store.hunts.requireMeta(huntId);
    const playbook = this.deps.playbooks.get(approval.playbook ?? meta.playbook).playbook;
    const targets = removalTargets(approval.findings);
    let removal: (RemovalResult & { backupId: string }) | null = null;
    const notifications: Array<[NotifyJobData, string]> = [];
    const state = stepState(meta.params, () => approval.findings);
    await runSteps(stepsOfPhase(playbook, 'removal'), state, async (step) => {
      if (step.action === 'remove') {
        const { backupId, backup } = await this.persistedBackup(approval, targets, signal);
        const result = await executor.remove({ host, targets, approvalId, backup }, signal);
        removal = { ...result, backupId };
        await store.audit.appendOnce(`removal-objects:${approvalId}`, {
          actor: SYSTEM_ACTOR,
          action: 'removal.objects',
          target: approvalId,
          huntId,
          hashes: Object.fromEntries(result.results.map((entry) => [`${entry.target.kind}:${entry.target.namespace}:${entry.target.className}:${entry.target.key}`, entry.target.contentHash])),
          details: { host, backupId, results: result.results.map((entry) => ({ key: entry.target.key, status: entry.status, currentHash: entry.currentHash })), autorecoverRemoved: result.autorecoverRemoved },
        });
      } else if (step.action === 'verify') {
        const done = requireRemoval(removal, step);
        const failedObjects = done.results.filter((entry) => entry.status === 'failed');
        if (!done.verified || failedObjects.length > 0) {
          throw new CodedError(ErrorCode.ScriptError, `verification failed on ${host}: ${failedObjects.length} object(s) failed to remove, re-scan verified=${done.verified}`, { host });
        }
      } else if (step.action === 'restore') {
        const done = requireRemoval(removal, step);
        const result = await executor.restore({ host, backup: done.backup }, signal);
        await store.audit.appendOnce(`removal-restored:${approvalId}`, { actor: SYSTEM_ACTOR, action: 'restore.completed', target: done.backupId, huntId, details: { host, verified: result.verified, reason: 'playbook' } });
      } else if (step.action === 'notify') {
        notifications.push([{ kind: 'removal-finished', approvalId }, jobIds.notify(approvalId, step.with.event)]);
      }
    });
    const finished = removal as (RemovalResult & { backupId: string }) | null;
    if (finished) await store.approvals.setRemoval(approvalId, finished);
    // The first recorded result is the one reported, whichever attempt wrote it.
    const recorded = (await store.approvals.require(approvalId)).removal ?? finished;
    const succeeded = recorded !== null && Object.keys(state.failures).length === 0 && recorded.results.every((entry) => entry.status !== 'failed');
    const status = succeeded ? 'completed' : 'failed';
    // Audited before the status makes it visible, and once, however many attempts got this far.
    await store.audit.appendOnce(`removal-finished:${approvalId}`, {
      actor: SYSTEM_ACTOR,
      action: succeeded ? 'removal.completed' : 'removal.failed',
      target: approvalId,
      huntId,
      ...(recorded ? { hashes: { backup: recorded.backupId.slice('backup-'.length) } } : {}),
      details: {
        host,
        stepFailures: state.failures,
        removed: recorded?.results.filter((entry) => entry.status === 'removed' || entry.status === 'removed-earlier').length ?? 0,
      },
    });
    await store.approvals.transition(approvalId, ['executing'], status);
    for (const [data, jobId] of notifications) await this.deps.engine.notify(data, jobId);
    return { status };
  }

  /**
   * After a removal failed for good, records what the host is left with, so a half-done removal is
   * never unrecorded: each object of the persisted backup is re-read (read-only) and recorded as
   * removed or still present. Null when nothing was backed up (so nothing was removed) or the host
   * cannot be read; the failure is then audited with its code alone.
   */
  private async recordPartialRemoval(approval: ApprovalRequest): Promise<{ backupId: string; removed: number } | null> {
    const { store, executor } = this.deps;
    const backupId = await store.approvals.backupOf(approval.approvalId);
    if (!backupId) return null;
    try {
      const { document: backup } = await store.evidence.getJson<RemovalBackup>(backupId);
      const targets = backup.objects.map(({ kind, namespace, className, key, contentHash }) => ({ kind, namespace, className, key, contentHash }));
      const reread = await executor.backup({ host: approval.host, targets, approvalId: approval.approvalId }, AbortSignal.timeout(this.deps.timeoutsMs.remove));
      const gone = new Set(reread.results.filter((entry) => entry.status === 'skipped-missing').map((entry) => `${entry.target.kind}|${entry.target.key}`));
      const results = targets.map((target) =>
        gone.has(`${target.kind}|${target.key}`)
          ? { target, status: 'removed' as const, message: 'removed before the removal failed; its backup was kept first', currentHash: null }
          : { target, status: 'failed' as const, message: 'still on the host: the removal failed before reaching it', currentHash: target.contentHash },
      );
      await store.approvals.setRemoval(approval.approvalId, { host: approval.host, backup, results, autorecoverRemoved: [], verified: false, backupId });
      return { backupId, removed: gone.size };
    } catch {
      return null;
    }
  }

  /**
   * The approval's backup: the one an earlier attempt persisted, or a new one taken now (no change
   * on the host) and persisted before this method returns. Its evidence entry is audited once.
   */
  private async persistedBackup(approval: ApprovalRequest, targets: RemovalTarget[], signal: AbortSignal): Promise<{ backupId: string; backup: RemovalBackup }> {
    const { store, executor } = this.deps;
    const { approvalId, huntId, host } = approval;
    let backupId = await store.approvals.backupOf(approvalId);
    let hostCopy: string | null = null;
    if (!backupId) {
      const taken = await executor.backup({ host, targets, approvalId }, signal);
      const stored = await store.evidence.putJson('backup', taken.backup);
      hostCopy = taken.hostCopy;
      backupId = await store.approvals.claimBackup(approvalId, stored.id);
    }
    const { document: backup, sha256 } = await store.evidence.getJson<RemovalBackup>(backupId);
    await store.audit.appendOnce(`removal-backup:${approvalId}`, {
      actor: SYSTEM_ACTOR,
      action: 'evidence.stored',
      target: backupId,
      huntId,
      hashes: { backup: sha256 },
      details: { kind: 'backup', host, approvalId, objects: backup.objects.length, hostCopy },
    });
    return { backupId, backup };
  }

  async restore(job: Job<RestoreJobData>, token: string | undefined, cancel?: AbortSignal): Promise<{ verified: boolean }> {
    const { store, executor } = this.deps;
    const { backupId, requestedBy } = job.data;
    const { document: backup, sha256 } = await store.evidence.getJson<RemovalBackup>(backupId);
    if (!(await store.hostLocks.acquire(backup.host, String(job.id), this.deps.timeoutsMs.restore + HOST_LOCK_MARGIN_MS))) {
      return postpone(job, token, this.deps.hostBusyDelayMs ?? 2_000);
    }
    const onFinalFailure = async (error: CodedError) => {
      await store.audit.append({ actor: requestedBy, action: 'restore.failed', target: backupId, hashes: { backup: sha256 }, details: { host: backup.host, code: error.code, message: error.message } });
    };
    try {
      return await runJob(job, token, this.options(this.deps.timeoutsMs.restore, cancel, onFinalFailure), async ({ signal }) => {
        await store.audit.append({ actor: requestedBy, action: 'restore.started', target: backupId, hashes: { backup: sha256 }, details: { host: backup.host, jobId: job.id } });
        const result = await executor.restore({ host: backup.host, backup }, signal);
        const stored = await store.evidence.putJson('restore', result);
        await store.audit.append({
          actor: requestedBy,
          action: 'restore.completed',
          target: backupId,
          hashes: { backup: sha256, restore: stored.sha256 },
          details: { host: backup.host, jobId: job.id, verified: result.verified, results: result.results.map((entry) => ({ key: entry.target.key, status: entry.status })) },
        });
        await store.redis.set(store.keys.restoreResult(String(job.id)), JSON.stringify(result));
        await this.deps.engine.notify({ kind: 'restore-finished', jobId: String(job.id) }, jobIds.notify(String(job.id), 'restore'));
        return { verified: result.verified };
      });
    } finally {
      await store.hostLocks.release(backup.host, String(job.id));
    }
  }

  async notify(job: Job<NotifyJobData>): Promise<void> {
    const sink = this.deps.notifications;
    if (!sink) return;
    const data = job.data;
    const { engine } = this.deps;
    switch (data.kind) {
      case 'hunt-updated': {
        const hunt = await engine.getHunt(data.huntId);
        if (hunt) await sink.huntUpdated(hunt);
        return;
      }
      case 'hunt-completed': {
        const [hunt, report] = await Promise.all([engine.getHunt(data.huntId), engine.getReport(data.huntId)]);
        if (hunt && report) await sink.huntCompleted(hunt, report);
        return;
      }
      case 'approval-updated':
      case 'removal-finished': {
        const approval = await engine.getApproval(data.approvalId);
        if (!approval) return;
        await (data.kind === 'approval-updated' ? sink.approvalUpdated(approval) : sink.removalFinished(approval));
        return;
      }
      case 'restore-finished': {
        const result = await engine.getRestoreResult(data.jobId);
        const restoreJob = await this.deps.queues.restore.getJob(data.jobId);
        if (result && restoreJob) {
          const restoreData = restoreJob.data as RestoreJobData;
          await sink.restoreFinished({ jobId: data.jobId, backupId: restoreData.backupId, result, ...(restoreData.slack ? { slack: restoreData.slack } : {}) });
        }
        return;
      }
    }
  }

  private async sweep(job: Job<SweepJobData>): Promise<{ huntId: string }> {
    const { huntId } = await this.deps.engine.startHunt({
      hosts: this.deps.sweepHosts,
      playbook: job.data.playbook,
      requestedBy: { kind: 'system', id: `schedule:${job.data.playbook}` },
      idempotencyKey: `sweep-${job.data.playbook}-${job.id}`,
    });
    return { huntId };
  }
}

function stepState(params: Record<string, unknown>, findings: () => Finding[], newFindings: () => number = () => 0): StepState {
  return { params: params as StepState['params'], findings, newFindings, outcomes: {}, failures: {} };
}

function requireCollection(collection: Collection | null, step: Step): Collection {
  if (!collection) throw new CodedError(ErrorCode.Conflict, `step ${step.id} needs the collection, but collect did not succeed`);
  return collection;
}

function requireRemoval<T>(removal: T | null, step: Step): T {
  if (!removal) throw new CodedError(ErrorCode.Conflict, `step ${step.id} needs the removal, but remove did not succeed`);
  return removal;
}

function doneResult(
  host: string,
  collection: Collection | null,
  ref: { id: string; sha256: string } | null,
  findings: Finding[],
  stepFailures: Record<string, string>,
  analysis: HuntAnalysis,
): HostResult {
  const described = collection ? analysis.hostSummary(collection) : null;
  return {
    host,
    outcome: 'done',
    collectionId: ref?.id ?? null,
    collectionSha256: ref?.sha256 ?? null,
    findings: findings.length,
    stepFailures,
    summary: described?.summary ?? null,
    problems: described?.problems ?? [],
    error: null,
  };
}

/**
 * Findings carry the name the hunt reached the host by, not the name the host reports for itself
 * (a short name, an FQDN): removal and restore connect to `finding.host`, so it must be reachable.
 */
function addressed(result: HostResult, findings: Finding[]): { result: HostResult; findings: Finding[] } {
  return { result, findings: findings.map((finding) => (finding.host === result.host ? finding : { ...finding, host: result.host })) };
}

function failedOutcome(host: string, error: CodedError): HostOutcome {
  return { result: failedResult(host, error), findings: [], audit: null };
}

function failedResult(host: string, error: CodedError): HostResult {
  return {
    host,
    outcome: 'failed',
    collectionId: null,
    collectionSha256: null,
    findings: 0,
    stepFailures: {},
    summary: null,
    problems: [],
    error: { code: error.code, message: error.message },
  };
}

/** Locale-independent, so the order is the same on every machine. */
function byHost(a: HostResult, b: HostResult): number {
  return a.host < b.host ? -1 : a.host > b.host ? 1 : 0;
}

function hostSummaryOf(result: HostResult): HostSummary {
  if (result.summary) return result.summary;
  return {
    host: result.host,
    collectedAt: null,
    namespacesScanned: null,
    errors: result.error ? [{ namespace: '(host)', code: result.error.code, message: result.error.message }] : [],
    sources: [],
  };
}

/** Small hunts report every write of finished hosts; large ones about every tenth of the way. */
function progressWorthTelling(before: number, finished: number, total: number): boolean {
  if (total <= 20 || finished === total) return true;
  const step = Math.ceil(total / PROGRESS_UPDATES);
  return Math.floor(finished / step) > Math.floor(before / step);
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}
