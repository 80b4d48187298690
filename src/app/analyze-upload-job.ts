import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import type { AllowlistEntry } from '../domain/analysis/allowlist.js';
import type { Finding } from '../domain/finding.js';
import { buildReport } from '../domain/report/build-report.js';
import { CodedError, ErrorCode, asCodedError } from '../errors.js';
import { detectReader } from '../ingest/formats.js';
import { analyzeInputs, type OfflineAnalysis } from '../ingest/offline-analysis.js';
import type { PlaybookRegistry } from '../playbooks/playbook-registry.js';
import { runJob } from '../queue/job-runner.js';
import { jobIds, type UploadJobData } from '../queue/queue-names.js';
import type { WorkerSpec } from '../queue/worker-host.js';
import type { Store } from '../store/store.js';
import type { SlackThread } from './engine.js';
import { SYSTEM_ACTOR, type HuntEngine } from './hunt-engine.js';
import { UPLOAD_TRIGGER_SOURCE, type UploadedFile } from './upload-intake.js';

/**
 * The analyze-upload job: downloads the files a responder uploaded (with the bot token, capped at the
 * size limit), reads them with the same readers as `wmi-hunter analyze` (format from content), and
 * records the result as a hunt of its own (a hunt id from the daily sequence, the report in the
 * evidence store, every file's SHA-256 in the audit log). The report reaches the thread through the
 * notify queue, like any hunt's; files that cannot be read and partial input are told in the thread.
 */
export interface UploadDownloader {
  /** Streams the file to `path`. Refuses a URL off the allowed origin before any request, and bytes past `maxBytes`. */
  download(file: UploadedFile, path: string, options: { maxBytes: number; signal: AbortSignal }): Promise<{ bytes: number; sha256: string }>;
}

export interface UploadNotice {
  kind: 'refused' | 'partial' | 'failed';
  summary: string;
  /** One line per file or record concerned, untrusted text (the edge escapes it). */
  items: string[];
}

export interface UploadReplies {
  uploadNotice(thread: SlackThread, notice: UploadNotice): Promise<void>;
}

export interface AnalyzeUploadDeps {
  store: Store;
  engine: HuntEngine;
  playbooks: PlaybookRegistry;
  /** Upload hunts record the default playbook: its approval gate is the one any removal request meets. */
  defaultPlaybook: string;
  downloader: UploadDownloader;
  replies: UploadReplies;
  allowlist: readonly AllowlistEntry[];
  maxBytes: number;
  timeoutMs: number;
  concurrency: number;
  shutdownSignal: AbortSignal;
  now?: () => Date;
}

/** Problems listed in the thread one by one; the rest are counted (all are in the report). */
const PROBLEMS_SHOWN = 20;
const ONCE_TTL_SECONDS = 7 * 86_400;

interface FetchedFile {
  file: UploadedFile;
  /** The name inside the job's temporary folder, which is also the report's source name. */
  localName: string;
  bytes: number;
  sha256: string;
}

export class AnalyzeUploadJob {
  private readonly now: () => Date;

  constructor(private readonly deps: AnalyzeUploadDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  workerSpec(): WorkerSpec {
    return { queue: 'upload', concurrency: this.deps.concurrency, processor: (job, token, cancel) => this.process(job as Job<UploadJobData>, token, cancel) };
  }

  async process(job: Job<UploadJobData>, token: string | undefined, cancel?: AbortSignal): Promise<{ huntId: string | null }> {
    const request = job.data;
    const jobId = String(job.id);
    const onFinalFailure = async (error: CodedError) => {
      await this.deps.store.audit.append({ actor: request.requestedBy, action: 'upload.failed', target: jobId, details: { code: error.code, message: error.message } });
      await this.noticeOnce(jobId, request.slack, { kind: 'failed', summary: `The uploaded files could not be analyzed (${error.code}); nothing was recorded.`, items: [error.message] });
    };
    const options = { timeoutMs: this.deps.timeoutMs, shutdownSignal: this.deps.shutdownSignal, onFinalFailure, ...(cancel ? { cancelSignal: cancel } : {}) };
    return runJob(job, token, options, async ({ signal }) => {
      const folder = await mkdtemp(join(tmpdir(), 'wmi-upload-'));
      try {
        return await this.analyze(jobId, request, folder, signal);
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
    });
  }

  private async analyze(jobId: string, request: UploadJobData, folder: string, signal: AbortSignal): Promise<{ huntId: string | null }> {
    const { store } = this.deps;
    const fetched: FetchedFile[] = [];
    const refused: string[] = [];
    const usedNames = new Set<string>();
    for (const [position, file] of request.files.entries()) {
      const localName = localNameOf(file, position, usedNames);
      usedNames.add(localName);
      try {
        const { bytes, sha256 } = await this.deps.downloader.download(file, join(folder, localName), { maxBytes: this.deps.maxBytes, signal });
        fetched.push({ file, localName, bytes, sha256 });
      } catch (thrown) {
        const error = asCodedError(thrown);
        if (error.transient) throw error;
        refused.push(`${file.name}: ${error.message}`);
      }
    }
    const readable: FetchedFile[] = [];
    for (const entry of fetched) {
      try {
        await detectReader(join(folder, entry.localName));
        readable.push(entry);
      } catch (thrown) {
        const error = asCodedError(thrown);
        if (error.code !== ErrorCode.UnsupportedFormat && error.code !== ErrorCode.BadInput) throw error;
        refused.push(
          error.code === ErrorCode.BadInput
            ? `${entry.file.name}: cannot read it: the file is empty`
            : `${entry.file.name}: cannot read it: not an event export or a collection wmi-hunter reads (.evtx, Windows event XML, JSON lines, evtx_dump JSON, collection JSON)`,
        );
      }
    }
    const fileAudit = fetched.map((entry) => ({ id: entry.file.id, name: entry.file.name, bytes: entry.bytes, sha256: entry.sha256 }));
    if (readable.length === 0) {
      if (await this.claimOnce(jobId, 'refused-audit')) {
        await store.audit.append({ actor: request.requestedBy, action: 'upload.refused', target: jobId, hashes: fileHashes(fetched), details: { files: fileAudit, refused } });
      }
      await this.noticeOnce(jobId, request.slack, { kind: 'refused', summary: 'Nothing was analyzed: none of the uploaded files can be read.', items: refused });
      return { huntId: null };
    }

    const analysis = await analyzeInputs(
      readable.map((entry) => join(folder, entry.localName)),
      { cwd: folder, allowlist: this.deps.allowlist },
    );
    const huntId = await this.record(jobId, request, readable, fileAudit, analysis);
    const notes = [...refused.map((line) => `not analyzed: ${line}`), ...problemLines(analysis)];
    if (notes.length > 0) {
      const problems = analysis.problems.length;
      await this.noticeOnce(jobId, request.slack, {
        kind: 'partial',
        summary: `Hunt ${huntId}: the report is partial${refused.length > 0 ? ` (${refused.length} file(s) not analyzed)` : ''}${problems > 0 ? ` (${problems} unreadable record(s))` : ''}; the rest was analyzed.`,
        items: notes,
      });
    }
    await this.deps.engine.notify({ kind: 'hunt-completed', huntId }, jobIds.notify(huntId, 'report'));
    return { huntId };
  }

  /** Records the upload as a finished hunt; a retried job finds the hunt of its first attempt. */
  private async record(jobId: string, request: UploadJobData, readable: FetchedFile[], fileAudit: object[], analysis: OfflineAnalysis): Promise<string> {
    const { store } = this.deps;
    const candidate = await store.hunts.nextHuntId(this.now());
    const huntId = (await store.hunts.claimIdempotencyKey(jobId, candidate, ONCE_TTL_SECONDS)) ?? candidate;
    if (await store.hunts.getReportRef(huntId)) return huntId;
    const generatedAt = this.now().toISOString();
    const hosts = analysis.hosts.map((summary) => summary.host);
    if (!(await store.hunts.getMeta(huntId))) {
      const playbook = this.deps.playbooks.get(this.deps.defaultPlaybook);
      await store.hunts.create({
        huntId,
        playbook: playbook.playbook.name,
        playbookSha256: playbook.sha256,
        params: {},
        hosts,
        lookbackHours: 0,
        maxEvents: 0,
        createdAt: generatedAt,
        requestedBy: request.requestedBy,
        trigger: { source: UPLOAD_TRIGGER_SOURCE, alertId: jobId, summary: `${readable.length} uploaded file(s): ${readable.map((entry) => entry.file.name).join(', ')}`.slice(0, 600) },
        slack: request.slack,
      });
      await store.audit.append({
        actor: request.requestedBy,
        action: 'hunt.started',
        target: huntId,
        huntId,
        hashes: fileHashes(readable),
        details: { source: UPLOAD_TRIGGER_SOURCE, uploadJob: jobId, files: fileAudit, hosts: hosts.length },
      });
    }
    for (const summary of analysis.hosts) {
      const hostFindings = analysis.findings.filter((finding) => sameHost(finding, summary.host));
      await store.hunts.recordHostResult(
        huntId,
        {
          host: summary.host,
          outcome: 'done',
          collectionId: null,
          collectionSha256: null,
          findings: hostFindings.length,
          stepFailures: {},
          summary,
          problems: [],
          error: null,
        },
        hostFindings,
      );
    }
    const report = buildReport({ huntId, generatedAt, hosts: analysis.hosts, findings: analysis.findings, problems: analysis.problems });
    const stored = await store.evidence.putJson('report', report);
    if (await store.hunts.setReport(huntId, stored.id, stored.sha256)) {
      await store.audit.append({
        actor: SYSTEM_ACTOR,
        action: 'evidence.stored',
        target: stored.id,
        huntId,
        hashes: { report: stored.sha256 },
        details: { kind: 'report', source: UPLOAD_TRIGGER_SOURCE, findings: report.findings.length, problems: analysis.problems.length, bytes: stored.bytes },
      });
    }
    await store.hunts.finish(huntId, 'completed', this.now().toISOString());
    return huntId;
  }

  private async noticeOnce(jobId: string, thread: SlackThread, notice: UploadNotice): Promise<void> {
    if (!(await this.claimOnce(jobId, `notice-${notice.kind}`))) return;
    try {
      await this.deps.replies.uploadNotice(thread, notice);
    } catch (error) {
      await this.deps.store.redis.del(this.onceKey(jobId, `notice-${notice.kind}`));
      throw error;
    }
  }

  private async claimOnce(jobId: string, effect: string): Promise<boolean> {
    return (await this.deps.store.redis.set(this.onceKey(jobId, effect), '1', 'EX', ONCE_TTL_SECONDS, 'NX')) === 'OK';
  }

  private onceKey(jobId: string, effect: string): string {
    return `${this.deps.store.keys.huntIdempotency(jobId)}:once:${effect}`;
  }
}

/** A safe, unique name in the job's folder: the upload's base name with anything unusual replaced. */
function localNameOf(file: UploadedFile, position: number, taken: ReadonlySet<string>): string {
  const base = (file.name.split(/[\\/]/).pop() ?? '').replace(/[^A-Za-z0-9._ -]/g, '_').replace(/^[.\s]+/, '').slice(0, 120);
  const name = base || `file-${file.id}`;
  return taken.has(name) ? `${position + 1}-${file.id}-${name}` : name;
}

function fileHashes(files: readonly FetchedFile[]): Record<string, string> {
  return Object.fromEntries(files.map((entry) => [`file:${entry.file.id}:${entry.file.name}`, entry.sha256]));
}

function sameHost(finding: Finding, host: string): boolean {
  return finding.host.toLowerCase() === host.toLowerCase();
}

/** As the CLI reports them: every unreadable record with its file and position, the rest counted. */
function problemLines(analysis: OfflineAnalysis): string[] {
  const lines = analysis.problems.slice(0, PROBLEMS_SHOWN).map((problem) => `unreadable record in ${problem.source}${problem.position ? ` at ${problem.position}` : ''}: ${problem.message}`);
  if (analysis.problems.length > PROBLEMS_SHOWN) lines.push(`…and ${analysis.problems.length - PROBLEMS_SHOWN} more (all are in the report)`);
  return lines;
}
