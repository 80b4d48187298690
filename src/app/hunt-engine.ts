import type { JobsOptions } from 'bullmq';
import { canonicalJson, sha256Hex } from '../domain/canonical-json.js';
import { isValidHostName } from '../domain/host.js';
import { ReportSchema, type Finding, type Report, type RiskLevel } from '../domain/finding.js';
import type { RemovalTarget, RestoreResult } from '../domain/ports.js';
import { CodedError, ErrorCode } from '../errors.js';
import { evaluateDecision, effectiveStatus } from '../approvals/approval-rules.js';
import { atOrAbove, resolveParams, resolveValue, stepsOfPhase, type PlaybookRegistry } from '../playbooks/playbook-registry.js';
import { durationMs, type Step } from '../playbooks/playbook-schema.js';
import { BulkAdder } from '../queue/bulk-adder.js';
import { fanOutPlan, hostBatches } from '../queue/fan-out.js';
import { jobIds, type HostBatchJobData, type HostJobData, type NotifyJobData } from '../queue/queue-names.js';
import type { Queues } from '../queue/queues.js';
import type { Store } from '../store/store.js';
import type { Actor, ApprovalRequest, Engine, HuntRequest, HuntSummary, RestoreInput, SlackThread } from './engine.js';

/**
 * The Engine on Redis: validates requests, records them (store + audit), and queues the work. It
 * never runs a host operation itself; the jobs in job-handlers.ts do.
 */
export interface EngineSettings {
  defaultPlaybook: string;
  lookbackHours: number;
  maxEvents: number;
  /** One alert-started hunt per host within this window (0: no limit). */
  alertHostWindowSeconds: number;
  approvalTtlMinutes: number;
  /** Whether a notify consumer exists (Slack configured); without one no notify jobs are queued. */
  notifications: boolean;
  /** Hunt-queue jobs the workers run at once (fan-out.ts): a fleet is cut into a multiple of this many batches. */
  hostJobsAtOnce?: number;
}

export interface EngineDeps {
  store: Store;
  queues: Queues;
  playbooks: PlaybookRegistry;
  settings: EngineSettings;
  now?: () => Date;
}

export const MAX_HOSTS_PER_HUNT = 50_000;
const MAX_LOOKBACK_HOURS = 24 * 90;
const IDEMPOTENCY_TTL_SECONDS = 86_400;
/** The hunt queue's job slots when the service does not say (the default WORKER_CONCURRENCY and QUEUE_GLOBAL_CONCURRENCY). */
const DEFAULT_HOST_JOBS_AT_ONCE = fanOutPlan({ workerConcurrency: 8, globalConcurrency: 200 }).jobsAtOnce;
/** How long the hunt queue's job slots, as the workers set them, are taken as known. */
const JOB_SLOTS_REFRESH_MS = 60_000;
export const SYSTEM_ACTOR: Actor = { kind: 'system', id: 'wmi-hunter' };

type ApprovalStep = Extract<Step, { action: 'request-approval' }>;

export class HuntEngine implements Engine {
  private readonly now: () => Date;
  private jobSlots: { value: number | null; readAt: number } = { value: null, readAt: Number.NEGATIVE_INFINITY };

  private readonly hostJobs: BulkAdder;
  private readonly notifyJobs: BulkAdder;

  constructor(private readonly deps: EngineDeps) {
    this.now = deps.now ?? (() => new Date());
    this.hostJobs = new BulkAdder(deps.queues.hunt);
    this.notifyJobs = new BulkAdder(deps.queues.notify);
  }

  async startHunt(request: HuntRequest): Promise<{ huntId: string; deduplicated: boolean }> {
    const hosts = validateHosts(request.hosts);
    const { store } = this.deps;
    const loaded = this.deps.playbooks.get(request.playbook ?? this.deps.settings.defaultPlaybook);
    const params = resolveParams(loaded.playbook, request.params ?? {});
    const collectStep = loaded.playbook.steps.find((step): step is Extract<Step, { action: 'collect' }> => step.action === 'collect');
    const lookbackHours = request.lookbackHours ?? resolveValue(collectStep?.with.lookbackHours, params) ?? this.deps.settings.lookbackHours;
    if (!Number.isInteger(lookbackHours) || lookbackHours < 0 || lookbackHours > MAX_LOOKBACK_HOURS) {
      throw new CodedError(ErrorCode.BadInput, `lookbackHours must be an integer from 0 to ${MAX_LOOKBACK_HOURS}`, { field: 'lookbackHours' });
    }
    const maxEvents = resolveValue(collectStep?.with.maxEvents, params) ?? this.deps.settings.maxEvents;

    const now = this.now();
    const meta = {
      playbook: loaded.playbook.name,
      playbookSha256: loaded.sha256,
      params,
      hosts,
      lookbackHours,
      maxEvents,
      createdAt: now.toISOString(),
      requestedBy: request.requestedBy,
      ...(request.trigger ? { trigger: request.trigger } : {}),
      ...(request.slack ? { slack: request.slack } : {}),
    };
    const startedEntry = (huntId: string) => ({
      actor: request.requestedBy,
      action: 'hunt.started',
      target: huntId,
      huntId,
      hashes: { playbook: loaded.sha256 },
      details: { playbook: loaded.playbook.name, hosts: hosts.length, lookbackHours, params, ...(request.trigger ? { trigger: request.trigger } : {}) },
    });
    let huntId: string;
    if (request.trigger && this.deps.settings.alertHostWindowSeconds > 0) {
      if (request.openedWith) throw new CodedError(ErrorCode.BadInput, 'an alert-started hunt opens in steps and writes no keys of the caller with it', { field: 'openedWith' });
      // An alert's hunt claims its hosts' windows between the id and the record, so it keeps its steps.
      huntId = await store.hunts.nextHuntId(now);
      if (request.idempotencyKey) {
        const earlier = await store.hunts.claimIdempotencyKey(request.idempotencyKey, huntId, IDEMPOTENCY_TTL_SECONDS);
        if (earlier) return { huntId: earlier, deduplicated: true };
      }
      const earlier = await this.claimAlertWindows(hosts, huntId);
      if (earlier) {
        await store.audit.append({
          actor: request.requestedBy,
          action: 'hunt.deduplicated',
          target: earlier,
          huntId: earlier,
          details: { hosts, trigger: request.trigger },
        });
        return { huntId: earlier, deduplicated: true };
      }
      await store.hunts.create({ huntId, ...meta });
      await store.audit.append(startedEntry(huntId));
    } else {
      // Everything else is one round trip: the caller's keys, id, idempotency claim, record and audit entry in one script.
      const opened = await store.hunts.open({
        meta,
        auditFields: store.audit.entryFields(startedEntry('')),
        ...(request.idempotencyKey ? { idempotency: { key: request.idempotencyKey, ttlSeconds: IDEMPOTENCY_TTL_SECONDS } } : {}),
        ...request.openedWith,
      });
      if (opened.deduplicated) return opened;
      huntId = opened.huntId;
    }
    // The host jobs and the "hunt started" message's notify job go out together, each in the bulk of
    // the hunts started in the same turn; the hunt counts as queued only once both are in Redis.
    await Promise.all([
      this.enqueueHosts(hosts, { huntId, playbook: loaded.playbook.name, params, lookbackHours, maxEvents }),
      this.deps.settings.notifications
        ? this.notifyJobs.add([{ name: 'hunt-updated', data: { kind: 'hunt-updated', huntId } satisfies NotifyJobData, opts: { jobId: jobIds.notify(huntId, 'started') } }])
        : undefined,
    ]);
    return { huntId, deduplicated: false };
  }

  /** One alert-started hunt per host per window: the hunt that holds every host's window, if any. */
  private async claimAlertWindows(hosts: string[], huntId: string): Promise<string | null> {
    const holders = await Promise.all(
      hosts.map((host) => this.deps.store.alerts.claimHostWindow(host, huntId, this.deps.settings.alertHostWindowSeconds)),
    );
    return holders.every((holder) => holder !== null) ? holders[0]! : null;
  }

  /**
   * The hosts go out in batches cut to fill every job slot of the hunt queue (fan-out.ts), all in
   * one round trip shared with the hunts started in the same turn; a host alone in its batch gets a `host` job.
   */
  private async enqueueHosts(hosts: string[], common: Omit<HostJobData, 'host'>): Promise<void> {
    const batches = hostBatches(hosts, this.hostJobsAtOnce());
    await this.hostJobs.add(
      batches.map((batch, index) =>
        batch.length === 1
          ? { name: 'host', data: { ...common, host: batch[0]! } satisfies HostJobData, opts: { jobId: jobIds.host(common.huntId, batch[0]!) } satisfies JobsOptions }
          : { name: 'hosts', data: { ...common, hosts: batch } satisfies HostBatchJobData, opts: { jobId: jobIds.hostBatch(common.huntId, index) } satisfies JobsOptions },
      ),
    );
  }

  /**
   * The hunt queue's job slots as the workers set them (their global concurrency), which the serve
   * role's own settings may not match; read in the background at most once a minute, so a request
   * never waits for it, and the settings' value until the first read answers.
   */
  private hostJobsAtOnce(): number {
    if (Date.now() - this.jobSlots.readAt > JOB_SLOTS_REFRESH_MS) {
      this.jobSlots.readAt = Date.now();
      this.deps.queues.hunt.getGlobalConcurrency().then(
        (value) => (this.jobSlots.value = value),
        () => undefined,
      );
    }
    return this.jobSlots.value ?? this.deps.settings.hostJobsAtOnce ?? DEFAULT_HOST_JOBS_AT_ONCE;
  }

  async notify(data: NotifyJobData, jobId: string): Promise<void> {
    if (!this.deps.settings.notifications) return;
    await this.deps.queues.notify.add(data.kind, data, { jobId });
  }

  getHunt(huntId: string): Promise<HuntSummary | null> {
    return this.deps.store.hunts.getSummary(huntId);
  }

  async getReport(huntId: string): Promise<Report | null> {
    const ref = await this.deps.store.hunts.getReportRef(huntId);
    if (!ref) return null;
    const { document } = await this.deps.store.evidence.getJson<unknown>(ref.reportId);
    return ReportSchema.parse(document);
  }

  async requestRemoval(input: { huntId: string; findingIds: string[]; requestedBy: Actor; slack?: SlackThread }): Promise<ApprovalRequest[]> {
    const { store } = this.deps;
    const meta = await store.hunts.requireMeta(input.huntId);
    const report = await this.getReport(input.huntId);
    if (!report) throw new CodedError(ErrorCode.Conflict, `hunt ${input.huntId} has no report yet; removal can be asked once it is finished`, { huntId: input.huntId });
    const { playbook, step } = this.approvalGate(meta.playbook);
    const threshold = resolveValue<RiskLevel>(step.with.minRisk, resolveParams(playbook.playbook, meta.params));
    const findings = selectFindings(report.findings, input.findingIds, threshold);
    const byHost = new Map<string, Finding[]>();
    for (const finding of findings) byHost.set(finding.host.toLowerCase(), [...(byHost.get(finding.host.toLowerCase()) ?? []), finding]);
    const approvals: ApprovalRequest[] = [];
    for (const hostFindings of byHost.values()) {
      approvals.push(await this.createApproval(input.huntId, hostFindings, playbook.playbook.name, step, input.requestedBy, input.slack ?? meta.slack));
    }
    return approvals;
  }

  /**
   * The approval gate of a hunt's playbook; a playbook without one (a triage) hands removal to the
   * default playbook's gate, so removal always passes through a gate written in a playbook.
   */
  approvalGate(playbookName: string): { playbook: ReturnType<PlaybookRegistry['get']>; step: ApprovalStep } {
    for (const name of [playbookName, this.deps.settings.defaultPlaybook]) {
      const loaded = this.deps.playbooks.get(name);
      const step = loaded.playbook.steps.find((entry): entry is ApprovalStep => entry.action === 'request-approval');
      if (step && stepsOfPhase(loaded.playbook, 'removal').some((entry) => entry.action === 'remove')) return { playbook: loaded, step };
    }
    throw new CodedError(ErrorCode.Conflict, `neither ${playbookName} nor the default playbook has an approval gate and a remove step`, {
      playbook: playbookName,
    });
  }

  /** Creates (or returns, for the same objects) the approval request for one host's findings. */
  async createApproval(huntId: string, selected: Finding[], playbook: string, step: ApprovalStep, requestedBy: Actor, slack?: SlackThread): Promise<ApprovalRequest> {
    const { store } = this.deps;
    const host = selected[0]!.host;
    const findings = withoutSharedObjects(selected, await store.hunts.getFindings(huntId));
    const targets = removalTargets(findings);
    if (targets.length === 0) {
      throw new CodedError(ErrorCode.BadInput, `the selected findings on ${host} have no objects present on the host to remove`, { huntId, host });
    }
    const digest = sha256Hex(canonicalJson({ huntId, host: host.toLowerCase(), targets: targets.map((target) => `${target.kind}|${target.contentHash}`).sort() }));
    const approvalId = `AP-${huntId.slice('TH-WMI-'.length)}-${digest.slice(0, 10)}`;
    const params = resolveParams(this.deps.playbooks.get(playbook).playbook, (await store.hunts.getMeta(huntId))?.params ?? {});
    const expiresIn = resolveValue<string>(step.with.expiresIn, params);
    const requestedAt = this.now();
    const created = await store.approvals.createOnce(
      {
        approvalId,
        huntId,
        host,
        findings,
        requestedBy,
        requestedAt: requestedAt.toISOString(),
        expiresAt: new Date(requestedAt.getTime() + durationMs(expiresIn)).toISOString(),
        quorum: step.with.quorum,
        twoPersonRule: step.with.twoPersonRule,
        approvers: { users: step.with.approvers.users, groups: step.with.approvers.groups },
        playbook,
        ...(slack ? { slack } : {}),
      },
      digest,
    );
    if (created.created) {
      await store.audit.append({
        actor: requestedBy,
        action: 'approval.requested',
        target: created.approvalId,
        huntId,
        hashes: Object.fromEntries(targets.map((target) => [`${target.kind}:${target.namespace}:${target.className}:${target.key}`, target.contentHash])),
        details: { host, findings: findings.map((finding) => finding.id), quorum: step.with.quorum, twoPersonRule: step.with.twoPersonRule, expiresIn },
      });
      await this.notify({ kind: 'approval-updated', approvalId: created.approvalId }, jobIds.notify(created.approvalId, 'requested'));
    }
    return store.approvals.require(created.approvalId);
  }

  async getApproval(approvalId: string): Promise<ApprovalRequest | null> {
    const approval = await this.deps.store.approvals.get(approvalId);
    return approval ? { ...approval, status: effectiveStatus(approval, this.now()) } : null;
  }

  async listApprovals(huntId: string): Promise<ApprovalRequest[]> {
    const ids = await this.deps.store.approvals.listForHunt(huntId);
    const approvals = await Promise.all(ids.map((id) => this.getApproval(id)));
    return approvals.filter((approval): approval is ApprovalRequest => approval !== null).sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
  }

  async decide(input: { approvalId: string; decision: 'approve' | 'deny'; actor: Actor; reason?: string; actorGroups?: string[] }): Promise<ApprovalRequest> {
    const { store } = this.deps;
    const at = this.now();
    let replayed = false;
    let decided: ApprovalRequest;
    try {
      decided = await store.approvals.applyDecision(input.approvalId, (approval) => {
        const outcome = evaluateDecision(approval, {
          actor: input.actor,
          decision: input.decision,
          reason: input.reason ?? null,
          actorGroups: input.actorGroups ?? [],
          at,
        });
        if (outcome.kind === 'replayed') {
          replayed = true;
          return null;
        }
        return { decision: outcome.decision, status: outcome.status };
      });
    } catch (error) {
      if (error instanceof CodedError && (error.code === ErrorCode.Forbidden || error.code === ErrorCode.Conflict)) {
        await this.recordRefusal(input, error);
      }
      throw error;
    }
    if (replayed) return { ...decided, status: effectiveStatus(decided, at) };
    await store.audit.append({
      actor: input.actor,
      action: 'approval.decided',
      target: input.approvalId,
      huntId: decided.huntId,
      details: { decision: input.decision, reason: input.reason ?? null, status: decided.status, groups: input.actorGroups ?? [] },
    });
    if (decided.status === 'approved' || decided.status === 'denied') {
      await store.stats.increment({ [`approvals:${decided.status}`]: 1 });
    }
    if (decided.status === 'approved') {
      await store.audit.append({ actor: SYSTEM_ACTOR, action: 'removal.queued', target: input.approvalId, huntId: decided.huntId });
      await this.deps.queues.remove.add('remove', { approvalId: input.approvalId }, { jobId: jobIds.remove(input.approvalId) });
    }
    await this.notify({ kind: 'approval-updated', approvalId: input.approvalId }, jobIds.notify(input.approvalId, `decision-${decided.decisions.length}`));
    return decided;
  }

  /** Refusals are audited; an expiry found by a late decision is recorded as the request's outcome. */
  private async recordRefusal(input: { approvalId: string; decision: string; actor: Actor }, error: CodedError): Promise<void> {
    const { store } = this.deps;
    const approval = await store.approvals.get(input.approvalId);
    await store.audit.append({
      actor: input.actor,
      action: 'approval.refused',
      target: input.approvalId,
      huntId: approval?.huntId,
      details: { decision: input.decision, code: error.code, reason: error.details.reason ?? null, message: error.message },
    });
    if (error.details.reason === 'expired') await this.expire(input.approvalId, approval?.huntId);
  }

  /**
   * Marks pending approvals whose time ran out as expired, without waiting for a click: audited
   * once (the status moves by compare-and-set), the card updated. Run by a repeatable job.
   */
  async expireApprovals(): Promise<string[]> {
    const { store } = this.deps;
    const expired: string[] = [];
    for (const approvalId of await store.approvals.dueForExpiry(this.now())) {
      const approval = await store.approvals.get(approvalId);
      if (approval?.status === 'pending' && (await this.expire(approvalId, approval.huntId))) expired.push(approvalId);
      await store.approvals.expiryChecked(approvalId);
    }
    return expired;
  }

  private async expire(approvalId: string, huntId: string | undefined): Promise<boolean> {
    const { store } = this.deps;
    if (!(await store.approvals.transition(approvalId, ['pending'], 'expired'))) return false;
    await store.stats.increment({ 'approvals:expired': 1 });
    await store.audit.append({ actor: SYSTEM_ACTOR, action: 'approval.expired', target: approvalId, huntId });
    await this.notify({ kind: 'approval-updated', approvalId }, jobIds.notify(approvalId, 'expired'));
    return true;
  }

  async restore(input: RestoreInput): Promise<{ jobId: string }> {
    if (!/^backup-[0-9a-f]{64}$/.test(input.backupId)) {
      throw new CodedError(ErrorCode.BadInput, 'backupId must be a backup evidence id (backup-<sha256>)', { field: 'backupId' });
    }
    const { sha256 } = await this.deps.store.evidence.getJson(input.backupId);
    await this.authorizeRestore(input, sha256);
    const jobId = jobIds.restore(input.backupId);
    await this.deps.store.audit.append({ actor: input.requestedBy, action: 'restore.queued', target: input.backupId, hashes: { backup: sha256 }, details: { jobId } });
    await this.deps.queues.restore.add(
      'restore',
      { backupId: input.backupId, requestedBy: input.requestedBy, ...(input.slack ? { slack: input.slack } : {}) },
      { jobId },
    );
    return { jobId };
  }

  /** A restore re-creates what approvers had removed: it needs one of those approvers (or an API admin). */
  private async authorizeRestore(input: RestoreInput, sha256: string): Promise<void> {
    if (input.admin) return;
    const { store } = this.deps;
    const approvalId = await store.approvals.approvalOfBackup(input.backupId);
    const approval = approvalId ? await store.approvals.get(approvalId) : null;
    const approvers = approval?.approvers ?? this.approvalGate(this.deps.settings.defaultPlaybook).step.with.approvers;
    const groups = input.actorGroupsOf && approvers.groups.length > 0 ? await input.actorGroupsOf(approvers.groups) : [];
    if (approvers.users.includes(input.requestedBy.id) || groups.some((group) => approvers.groups.includes(group))) return;
    const error = new CodedError(ErrorCode.Forbidden, `only an approver of ${approvalId ?? 'removals'} may restore ${input.backupId}`, {
      backupId: input.backupId,
      reason: 'not-an-approver',
    });
    await store.audit.append({
      actor: input.requestedBy,
      action: 'restore.refused',
      target: input.backupId,
      ...(approval ? { huntId: approval.huntId } : {}),
      hashes: { backup: sha256 },
      details: { code: error.code, reason: 'not-an-approver', approvalId },
    });
    throw error;
  }

  async getRestoreResult(jobId: string): Promise<RestoreResult | null> {
    const raw = await this.deps.store.redis.get(this.deps.store.keys.restoreResult(jobId));
    return raw ? (JSON.parse(raw) as RestoreResult) : null;
  }
}

function validateHosts(hosts: unknown): string[] {
  if (!Array.isArray(hosts) || hosts.length === 0) throw new CodedError(ErrorCode.BadInput, 'hosts must be a non-empty list of host names', { field: 'hosts' });
  if (hosts.length > MAX_HOSTS_PER_HUNT) throw new CodedError(ErrorCode.BadInput, `at most ${MAX_HOSTS_PER_HUNT} hosts per hunt`, { field: 'hosts' });
  const seen = new Set<string>();
  const unique: string[] = [];
  hosts.forEach((host, index) => {
    if (typeof host !== 'string' || !isValidHostName(host)) {
      const shown = typeof host === 'string' ? JSON.stringify(host.slice(0, 80)) : typeof host;
      throw new CodedError(ErrorCode.InvalidHostName, `hosts[${index}] ${shown} is not a valid host name`, { field: `hosts.${index}` });
    }
    if (!seen.has(host.toLowerCase())) {
      seen.add(host.toLowerCase());
      unique.push(host);
    }
  });
  return unique;
}

/** The named findings, or every non-benign one at or above the gate's risk when none is named. */
function selectFindings(findings: Finding[], ids: string[], threshold: RiskLevel): Finding[] {
  if (ids.length === 0) {
    const selected = findings.filter((finding) => !finding.benign && atOrAbove(finding.riskLevel, threshold));
    if (selected.length === 0) throw new CodedError(ErrorCode.BadInput, `the hunt has no non-benign finding at ${threshold} or above to remove`, { field: 'findingIds' });
    return selected;
  }
  return [...new Set(ids)].map((id) => {
    const finding = findings.find((entry) => entry.id === id);
    if (!finding) throw new CodedError(ErrorCode.NotFound, `finding ${JSON.stringify(id.slice(0, 80))} is not in this hunt's report`, { field: 'findingIds' });
    return finding;
  });
}

/**
 * The selected findings with only the objects no other finding of the same host uses: a malicious
 * consumer bound to Windows' own filter is removed with its binding, and the filter stays for the
 * default subscription that still needs it.
 */
export function withoutSharedObjects(selected: Finding[], all: Finding[]): Finding[] {
  const chosen = new Set(selected.map((finding) => `${finding.host.toLowerCase()}|${finding.id}`));
  const kept = new Set<string>();
  for (const finding of all) {
    if (chosen.has(`${finding.host.toLowerCase()}|${finding.id}`)) continue;
    for (const object of finding.objects) kept.add(objectRefKey(finding.host, object));
  }
  return selected.map((finding) => ({ ...finding, objects: finding.objects.filter((object) => !kept.has(objectRefKey(finding.host, object))) }));
}

function objectRefKey(host: string, object: Finding['objects'][number]): string {
  return `${host}|${object.kind}|${object.namespace}|${object.className}|${object.key}`.toLowerCase();
}

/** The objects of the findings that are on the host now (read from a collection, not deleted). */
export function removalTargets(findings: Finding[]): RemovalTarget[] {
  const targets = new Map<string, RemovalTarget>();
  for (const finding of findings) {
    for (const object of finding.objects) {
      if (object.deletedAt !== null || object.source === 'eventlog') continue;
      const target = { kind: object.kind, namespace: object.namespace, className: object.className, key: object.key, contentHash: object.contentHash };
      targets.set(`${target.kind}|${target.namespace}|${target.className}|${target.key}`.toLowerCase(), target);
    }
  }
  return [...targets.values()];
}
