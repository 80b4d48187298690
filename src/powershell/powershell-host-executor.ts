import type { z } from 'zod';
import { CodedError, ErrorCode, isCodedError } from '../errors.js';
import { parseCollection, type Collection } from '../domain/collection.js';
import { assertValidHostName } from '../domain/host.js';
import type {
  BackedUpRemovalRequest,
  BackupResult,
  CollectRequest,
  HostExecutor,
  RemovalRequest,
  RemovalResult,
  RestoreRequest,
  RestoreResult,
} from '../domain/ports.js';
import { objectsFromCollection } from '../domain/wmi-object.js';
import { remoteInvocationFor, type TransportConfig } from '../transport/transport-config.js';
import { PwshSession } from './pwsh-session.js';
import { BackupResultSchema, RemovalBackupSchema, RemovalResultSchema, RemovalTargetSchema, RestoreResultSchema } from './result-schemas.js';
import { ScriptRunner } from './script-runner.js';
import { SessionPool } from './session-pool.js';

export interface ExecutorLimits {
  collectTimeoutMs: number;
  removeTimeoutMs: number;
  restoreTimeoutMs: number;
  /** Largest JSON document a script may return. */
  maxOutputChars: number;
  /** Bound on the serialized size of the event records in one collection. */
  maxEventBytes: number;
}

export const DEFAULT_EXECUTOR_LIMITS: ExecutorLimits = {
  collectTimeoutMs: 10 * 60_000,
  removeTimeoutMs: 5 * 60_000,
  restoreTimeoutMs: 5 * 60_000,
  maxOutputChars: 64 * 1024 * 1024,
  maxEventBytes: 32 * 1024 * 1024,
};

export interface PowerShellHostExecutorOptions {
  runner: ScriptRunner;
  /** The transport that reaches a host (one for all hosts, or chosen per host). */
  transportFor: (host: string) => TransportConfig;
  limits?: Partial<ExecutorLimits>;
}

/** The HostExecutor port on real PowerShell: collect.ps1, remove.ps1 and restore.ps1 over a transport. */
export class PowerShellHostExecutor implements HostExecutor {
  private readonly limits: ExecutorLimits;

  constructor(private readonly options: PowerShellHostExecutorOptions) {
    this.limits = { ...DEFAULT_EXECUTOR_LIMITS, ...options.limits };
  }

  async collect(request: CollectRequest, signal: AbortSignal): Promise<Collection> {
    const host = assertValidHostName(request.host);
    if (!(request.lookbackHours >= 0) || !Number.isFinite(request.lookbackHours)) {
      throw new CodedError(ErrorCode.BadInput, 'lookbackHours must be a number >= 0', { field: 'lookbackHours' });
    }
    if (!Number.isSafeInteger(request.maxEvents) || request.maxEvents < 0) {
      throw new CodedError(ErrorCode.BadInput, 'maxEvents must be a whole number >= 0', { field: 'maxEvents' });
    }
    const document = await this.run('collect', host, this.limits.collectTimeoutMs, signal, {
      lookbackHours: request.lookbackHours,
      maxEvents: request.maxEvents,
      maxEventBytes: this.limits.maxEventBytes,
    });
    try {
      const collection = parseCollection(document, `collection from ${host}`);
      objectsFromCollection(collection);
      return collection;
    } catch (error) {
      throw asBadOutput(error, 'collect', host);
    }
  }

  async backup(request: RemovalRequest, signal: AbortSignal): Promise<BackupResult> {
    const { host, approvalId, targets } = checkRemoval(request);
    const document = await this.run('remove', host, this.limits.removeTimeoutMs, signal, { phase: 'backup', host, approvalId, targets });
    return checkOutput(BackupResultSchema, document, 'remove', host);
  }

  async remove(request: BackedUpRemovalRequest, signal: AbortSignal): Promise<RemovalResult> {
    const { host, approvalId, targets } = checkRemoval(request);
    const backup = checkInput(RemovalBackupSchema, request.backup, 'backup');
    if (backup.host.toLowerCase() !== host.toLowerCase()) {
      throw new CodedError(ErrorCode.BadInput, `the backup is of ${backup.host}, not ${host}`, { field: 'backup.host' });
    }
    const document = await this.run('remove', host, this.limits.removeTimeoutMs, signal, { phase: 'remove', host: backup.host, approvalId, targets, backup });
    return checkOutput(RemovalResultSchema, document, 'remove', host);
  }

  async restore(request: RestoreRequest, signal: AbortSignal): Promise<RestoreResult> {
    const host = assertValidHostName(request.host);
    const backup = checkInput(RemovalBackupSchema, request.backup, 'backup');
    const document = await this.run('restore', host, this.limits.restoreTimeoutMs, signal, { host, backup });
    return checkOutput(RestoreResultSchema, document, 'restore', host);
  }

  private run(script: string, host: string, timeoutMs: number, signal: AbortSignal, input: unknown): Promise<unknown> {
    return this.options.runner.run({
      script,
      input,
      host,
      transport: remoteInvocationFor(this.options.transportFor(host), host),
      timeoutMs,
      maxOutputChars: this.limits.maxOutputChars,
      signal,
    });
  }
}

function checkRemoval(request: RemovalRequest): RemovalRequest {
  const host = assertValidHostName(request.host);
  if (typeof request.approvalId !== 'string' || request.approvalId.trim() === '') {
    throw new CodedError(ErrorCode.ApprovalRequired, 'a removal needs the id of its recorded approval', { field: 'approvalId' });
  }
  if (!Array.isArray(request.targets) || request.targets.length === 0) {
    throw new CodedError(ErrorCode.BadInput, 'a removal needs at least one target', { field: 'targets' });
  }
  const targets = request.targets.map((target, index) => checkInput(RemovalTargetSchema, target, `targets.${index}`));
  return { host, approvalId: request.approvalId, targets };
}

function checkInput<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new CodedError(ErrorCode.BadInput, `${field}.${issue.path.map(String).join('.')}: ${issue.message}`, { field });
}

function checkOutput<T>(schema: z.ZodType<T>, document: unknown, script: string, host: string): T {
  const result = schema.safeParse(document);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new CodedError(ErrorCode.BadOutput, `${script} on ${host} returned an invalid result: ${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`, {
    script,
    host,
  });
}

function asBadOutput(error: unknown, script: string, host: string): CodedError {
  if (isCodedError(error) && error.code !== ErrorCode.SchemaViolation) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CodedError(ErrorCode.BadOutput, `${script} on ${host} returned an invalid result: ${message}`, { script, host }, { cause: error });
}

export interface PowerShellExecutorSetup {
  transportFor: (host: string) => TransportConfig;
  pwshPath?: string;
  poolSize?: number;
  maxInvocationsPerSession?: number;
  limits?: Partial<ExecutorLimits>;
  env?: NodeJS.ProcessEnv;
}

/** Wires pool, runner and executor; call `close()` to dispose every shell. */
export function createPowerShellHostExecutor(setup: PowerShellExecutorSetup): { executor: PowerShellHostExecutor; pool: SessionPool; close: () => Promise<void> } {
  const pwshPath = setup.pwshPath ?? process.env.WMI_PWSH ?? 'pwsh';
  const pool = new SessionPool({
    size: setup.poolSize ?? 2,
    maxInvocationsPerSession: setup.maxInvocationsPerSession ?? 50,
    startSession: () => PwshSession.start({ pwshPath, ...(setup.env ? { env: setup.env } : {}) }),
  });
  const executor = new PowerShellHostExecutor({
    runner: new ScriptRunner(pool),
    transportFor: setup.transportFor,
    ...(setup.limits ? { limits: setup.limits } : {}),
  });
  return { executor, pool, close: () => pool.close() };
}
