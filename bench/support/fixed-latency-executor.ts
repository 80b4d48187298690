import type { Collection } from '../../src/domain/collection.js';
import type { BackupResult, CollectRequest, HostExecutor, RemovalRequest, RemovalResult, RestoreRequest, RestoreResult } from '../../src/domain/ports.js';
import { CodedError, ErrorCode } from '../../src/errors.js';
import { windowsDefaultCollection } from './collections.js';

/**
 * The benchmark's stand-in for a fleet of Windows hosts: every collect() answers after a fixed
 * delay with a small valid collection (Windows' own SCM subscription, content hashes computed: what
 * most hosts of a fleet hold, benign, so no approval is asked), so the time a
 * hunt takes beyond the delay is the service's own. It counts how many calls overlap, so the
 * benchmark can show the concurrency it asked for was reached.
 */
export class FixedLatencyExecutor implements HostExecutor {
  private readonly template: Collection;
  inFlight = 0;
  maxInFlight = 0;
  calls = 0;
  firstCallAt: number | null = null;
  lastAnswerAt: number | null = null;

  constructor(private readonly latencyMs: number) {
    this.template = windowsDefaultCollection('TEMPLATE');
  }

  collect(request: CollectRequest, signal: AbortSignal): Promise<Collection> {
    this.calls += 1;
    this.firstCallAt ??= performance.now();
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<Collection>((resolve, reject) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        this.inFlight -= 1;
        this.lastAnswerAt = performance.now();
        resolve({ ...this.template, host: { ...this.template.host, name: request.host }, collectedAt: new Date().toISOString() });
      }, this.latencyMs);
      const onAbort = () => {
        clearTimeout(timer);
        this.inFlight -= 1;
        reject(new CodedError(ErrorCode.Aborted, 'collect aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  backup(_request: RemovalRequest): Promise<BackupResult> {
    return Promise.reject(new CodedError(ErrorCode.Internal, 'the fan-out benchmark removes nothing'));
  }

  remove(_request: RemovalRequest): Promise<RemovalResult> {
    return Promise.reject(new CodedError(ErrorCode.Internal, 'the fan-out benchmark removes nothing'));
  }

  restore(_request: RestoreRequest): Promise<RestoreResult> {
    return Promise.reject(new CodedError(ErrorCode.Internal, 'the fan-out benchmark restores nothing'));
  }
}
