import type { Redis } from 'ioredis';
import type { Actor, ExpiringKey, HuntRequest, HuntStatus, HuntSummary, SlackThread } from '../app/engine.js';
import { CodedError, ErrorCode } from '../errors.js';
import { RISK_LEVELS, type Finding, type RiskLevel } from '../domain/finding.js';
import { LuaScript } from './lua-script.js';
import type { StoreKeys } from './store-keys.js';
import type { HostSummary, Problem } from '../domain/report/build-report.js';

/**
 * Hunts in Redis: the immutable request (meta), status and progress counters, one write-once result
 * and findings entry per host, and the reference to the report in the evidence store. Progress is
 * counted by one atomic script per batch of finished hosts, which also says when the last host is in.
 */
export interface HuntMeta {
  huntId: string;
  playbook: string;
  playbookSha256: string;
  params: Record<string, unknown>;
  hosts: string[];
  lookbackHours: number;
  maxEvents: number;
  createdAt: string;
  requestedBy: Actor;
  trigger?: HuntRequest['trigger'];
  slack?: SlackThread;
}

export interface HostResult {
  host: string;
  outcome: 'done' | 'failed';
  collectionId: string | null;
  collectionSha256: string | null;
  findings: number;
  /** Steps that failed but whose playbook said continue, by step id. */
  stepFailures: Record<string, string>;
  /** What the report says about the host (from its collection). */
  summary: HostSummary | null;
  problems: Problem[];
  error: { code: string; message: string } | null;
}

export interface HostProgress {
  recorded: boolean;
  done: number;
  failed: number;
  total: number;
  complete: boolean;
}

const recordHostResultsScript = new LuaScript('record-host-results.lua');
const finishHuntScript = new LuaScript('finish-hunt.lua');
const HUNT_ID_DIGITS = 3;
const BASELINES_PER_PIPELINE = 1000;
const openHuntScript = new LuaScript('open-hunt.lua');

export class HuntStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: StoreKeys,
  ) {}

  /** TH-WMI-YYYYMMDD-NNN from an atomic per-day counter (UTC day). */
  async nextHuntId(now: Date): Promise<string> {
    const day = now.toISOString().slice(0, 10).replaceAll('-', '');
    const key = this.keys.huntSequence(day);
    const [[incrError, sequence] = [null, 0]] = (await this.redis.multi().incr(key).expire(key, 3 * 86_400).exec()) ?? [];
    if (incrError) throw incrError;
    return `TH-WMI-${day}-${String(sequence).padStart(HUNT_ID_DIGITS, '0')}`;
  }

  /** Remembers which hunt an idempotency key started; returns the earlier hunt id when there was one. */
  async claimIdempotencyKey(key: string, huntId: string, ttlSeconds: number): Promise<string | null> {
    const claimed = await this.redis.set(this.keys.huntIdempotency(key), huntId, 'EX', ttlSeconds, 'NX');
    return claimed === 'OK' ? null : await this.redis.get(this.keys.huntIdempotency(key));
  }

  /**
   * Opens a hunt in one round trip (one atomic script): the caller's once-key, the next hunt id, the
   * idempotency claim, the record, its index entry, its audit entry (whose target and huntId become
   * the new id) and the caller's key remembering the hunt id. A key claimed before returns the earlier
   * hunt and writes nothing else but the remembered id; a once-key claimed before (a replayed
   * request) writes nothing and throws E_CONFLICT with details `{ replayed: true }`.
   */
  async open(input: {
    meta: Omit<HuntMeta, 'huntId'>;
    auditFields: string[];
    idempotency?: { key: string; ttlSeconds: number };
    once?: ExpiringKey;
    remember?: ExpiringKey;
  }): Promise<{ huntId: string; deduplicated: boolean }> {
    const { meta, idempotency, once, remember } = input;
    // The script takes a key only with a TTL above 0; a key given with none would never expire.
    const positiveTtl = (key: { ttlSeconds: number } | undefined) => {
      if (!key) return 0;
      if (!Number.isInteger(key.ttlSeconds) || key.ttlSeconds <= 0) throw new CodedError(ErrorCode.BadInput, 'a key written with a hunt needs a whole number of seconds to live, above 0', { ttlSeconds: key.ttlSeconds });
      return key.ttlSeconds;
    };
    const day = meta.createdAt.slice(0, 10).replaceAll('-', '');
    const keys = [this.keys.huntSequence(day), this.keys.huntIndex(), this.keys.audit()];
    if (idempotency) keys.push(this.keys.huntIdempotency(idempotency.key));
    if (once) keys.push(once.key);
    if (remember) keys.push(remember.key);
    const [outcome, huntId] = (await openHuntScript.run(this.redis, keys, [
      `TH-WMI-${day}-`,
      HUNT_ID_DIGITS,
      this.keys.hunt(''),
      JSON.stringify(meta),
      meta.hosts.length,
      Date.parse(meta.createdAt),
      positiveTtl(idempotency),
      positiveTtl(once),
      positiveTtl(remember),
      ...input.auditFields,
    ])) as [string, string];
    if (outcome === 'claimed') throw new CodedError(ErrorCode.Conflict, 'this request was received before; nothing was done', { replayed: true });
    if (outcome === 'conflict') throw new CodedError(ErrorCode.Conflict, `hunt ${huntId} already exists`, { huntId });
    return { huntId, deduplicated: outcome === 'duplicate' };
  }

  async create(meta: HuntMeta): Promise<void> {
    const created = await this.redis.hsetnx(this.keys.hunt(meta.huntId), 'meta', JSON.stringify(meta));
    if (created === 0) throw new CodedError(ErrorCode.Conflict, `hunt ${meta.huntId} already exists`, { huntId: meta.huntId });
    await this.redis
      .multi()
      .hset(this.keys.hunt(meta.huntId), { status: 'queued', total: meta.hosts.length, done: 0, failed: 0 })
      .zadd(this.keys.huntIndex(), Date.parse(meta.createdAt), meta.huntId)
      .exec();
  }

  async getMeta(huntId: string): Promise<HuntMeta | null> {
    const raw = await this.redis.hget(this.keys.hunt(huntId), 'meta');
    return raw ? (JSON.parse(raw) as HuntMeta) : null;
  }

  async requireMeta(huntId: string): Promise<HuntMeta> {
    const meta = await this.getMeta(huntId);
    if (!meta) throw new CodedError(ErrorCode.NotFound, `hunt ${huntId} not found`, { huntId });
    return meta;
  }

  async recordHostResult(huntId: string, result: HostResult, findings: Finding[]): Promise<HostProgress> {
    const { recorded, ...progress } = await this.recordHostResults(huntId, [{ result, findings }]);
    return { recorded: recorded[0] === true, ...progress };
  }

  /**
   * Records several hosts' outcomes in one atomic script (a batch job's finished hosts): each host
   * once, whichever attempt or job gets there first, with the audit entry of its evidence (stream
   * fields from AuditLog.entryFields). `recorded[i]` says whether entry i was new. `findingsJson`,
   * when given, is `JSON.stringify(findings)` made by the caller (who keeps its parts).
   */
  async recordHostResults(
    huntId: string,
    entries: Array<{ result: HostResult; findings: Finding[]; findingsJson?: string; auditFields?: string[] }>,
  ): Promise<Omit<HostProgress, 'recorded'> & { recorded: boolean[] }> {
    const args: Array<string | number> = [];
    for (const { result, findings, findingsJson, auditFields = [] } of entries) {
      const riskCounts = new Map<RiskLevel, number>();
      for (const finding of findings) {
        if (!finding.benign) riskCounts.set(finding.riskLevel, (riskCounts.get(finding.riskLevel) ?? 0) + 1);
      }
      args.push(
        result.host,
        JSON.stringify(result),
        result.outcome,
        findings.length > 0 ? (findingsJson ?? JSON.stringify(findings)) : '',
        result.error ? JSON.stringify({ host: result.host, ...result.error }) : '',
        [...riskCounts].map(([level, count]) => `${level}=${count}`).join(','),
        auditFields.length,
        ...auditFields,
      );
    }
    const reply = (await recordHostResultsScript.run(
      this.redis,
      [this.keys.hunt(huntId), this.keys.huntHosts(huntId), this.keys.huntFindings(huntId), this.keys.huntErrors(huntId), this.keys.audit()],
      args,
    ).catch((error: unknown) => {
      if (error instanceof Error && error.message.includes('E_NOT_FOUND')) {
        throw new CodedError(ErrorCode.NotFound, `hunt ${huntId} not found`, { huntId });
      }
      throw error;
    })) as number[];
    const [done = 0, failed = 0, total = 0, ...recorded] = reply;
    return { recorded: recorded.map((flag) => flag === 1), done, failed, total, complete: done + failed >= total };
  }

  /** Which of these hosts already have their result recorded (a retried batch skips them). */
  async recordedHosts(huntId: string, hosts: string[]): Promise<Set<string>> {
    if (hosts.length === 0) return new Set();
    const results = await this.redis.hmget(this.keys.huntHosts(huntId), ...hosts);
    return new Set(hosts.filter((_, index) => results[index] !== null));
  }

  /** The stored result texts of these hosts (null where none is recorded). */
  async hostResultTexts(huntId: string, hosts: string[]): Promise<Array<string | null>> {
    if (hosts.length === 0) return [];
    return this.redis.hmget(this.keys.huntHosts(huntId), ...hosts);
  }

  async getHostResults(huntId: string): Promise<HostResult[]> {
    const raw = await this.redis.hvals(this.keys.huntHosts(huntId));
    return raw.map((value) => JSON.parse(value) as HostResult);
  }

  async getFindings(huntId: string): Promise<Finding[]> {
    const raw = await this.redis.hvals(this.keys.huntFindings(huntId));
    return raw.flatMap((value) => JSON.parse(value) as Finding[]);
  }

  /**
   * Claims a one-time side effect of a hunt (its closing audit entry, its counters), so a retried
   * job does not repeat it; true for the first caller only.
   */
  async claimOnce(huntId: string, effect: string): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.hunt(huntId), `once:${effect}`, new Date().toISOString())) === 1;
  }

  /** Moves a hunt to its final status once; returns false when it was already final. */
  async finish(huntId: string, status: Extract<HuntStatus, 'completed' | 'partial' | 'failed'>, finishedAt: string): Promise<boolean> {
    return (await finishHuntScript.run(this.redis, [this.keys.hunt(huntId)], [status, finishedAt])) === 1;
  }

  /** The report of a hunt is written once; a second finalize keeps the first. */
  async setReport(huntId: string, reportId: string, sha256: string): Promise<boolean> {
    const set = await this.redis.hsetnx(this.keys.hunt(huntId), 'reportId', reportId);
    if (set === 1) await this.redis.hset(this.keys.hunt(huntId), 'reportSha256', sha256);
    return set === 1;
  }

  async getReportRef(huntId: string): Promise<{ reportId: string; sha256: string } | null> {
    const [reportId, sha256] = await this.redis.hmget(this.keys.hunt(huntId), 'reportId', 'reportSha256');
    return reportId && sha256 ? { reportId, sha256 } : null;
  }

  async getSummary(huntId: string): Promise<HuntSummary | null> {
    const [fields, errors] = await Promise.all([
      this.redis.hgetall(this.keys.hunt(huntId)),
      this.redis.lrange(this.keys.huntErrors(huntId), 0, 99),
    ]);
    if (!fields.meta) return null;
    const meta = JSON.parse(fields.meta) as HuntMeta;
    const findingsByRisk = Object.fromEntries(RISK_LEVELS.map((level) => [level, Number(fields[`risk:${level}`] ?? 0)])) as Record<
      RiskLevel,
      number
    >;
    return {
      huntId,
      status: (fields.status ?? 'queued') as HuntStatus,
      playbook: meta.playbook,
      hosts: meta.hosts,
      progress: { done: Number(fields.done ?? 0), failed: Number(fields.failed ?? 0), total: Number(fields.total ?? 0) },
      createdAt: meta.createdAt,
      finishedAt: fields.finishedAt ?? null,
      requestedBy: meta.requestedBy,
      findingsByRisk,
      ...(meta.trigger ? { trigger: meta.trigger } : {}),
      ...(meta.slack ? { slack: meta.slack } : {}),
      errors: errors.map((value) => JSON.parse(value) as HuntSummary['errors'][number]),
    };
  }

  /**
   * The content hashes a playbook saw on each host in its previous run, replaced by this run's, in
   * the hosts' order; a host's first run gives null (everything is new, but there is nothing to
   * compare with). Pipelined: a fleet sweep's finalize swaps every host's at once.
   */
  async swapBaselines(playbook: string, hosts: Array<{ host: string; hashes: string[] }>): Promise<Array<string[] | null>> {
    const previous: Array<string[] | null> = [];
    for (let start = 0; start < hosts.length; start += BASELINES_PER_PIPELINE) {
      const pipeline = this.redis.pipeline();
      for (const { host, hashes } of hosts.slice(start, start + BASELINES_PER_PIPELINE)) {
        pipeline.set(this.keys.baseline(playbook, host), JSON.stringify([...new Set(hashes)].sort()), 'GET');
      }
      for (const [error, value] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
        previous.push(value === null ? null : (JSON.parse(value as string) as string[]));
      }
    }
    return previous;
  }

}
