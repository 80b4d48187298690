import type { Collection, WmiValue } from '../../src/domain/collection.js';
import type { EventRecord } from '../../src/domain/event-record.js';
import type {
  BackedUpObject,
  BackedUpRemovalRequest,
  BackupResult,
  CollectRequest,
  HostExecutor,
  RemovalRequest,
  RemovalResult,
  RestoreRequest,
  RestoreResult,
} from '../../src/domain/ports.js';
import { contentHashOf, objectKey, type ObjectKind } from '../../src/domain/wmi-object.js';
import { normalizeNamespace } from '../../src/domain/wmi-path.js';
import { CodedError, ErrorCode } from '../../src/errors.js';

/**
 * A test double for the HostExecutor port: a fleet of hosts whose WMI repositories live in memory.
 * It honours the AbortSignal like the real executor (the PowerShell invocation stops), checks
 * content hashes before removing, backs up what it removes and can restore it. Failures and delays
 * are scripted per host.
 */
export interface FakeObject {
  kind: ObjectKind;
  namespace: string;
  className: string;
  properties: Record<string, WmiValue>;
}

export interface HostScript {
  /** Errors thrown by the next collect calls, in order (then collect succeeds). */
  collectFailures?: CodedError[];
  /** How long each operation takes. */
  delayMs?: number;
  /** The next removals crash (E_SCRIPT, as when pwsh dies) after removing their first object. */
  removeCrashes?: number;
  /** The name the host reports for itself when it differs from the name it is reached by. */
  computerName?: string;
}

type Operation = 'collect' | 'backup' | 'remove' | 'restore';

export class FakeFleet implements HostExecutor {
  readonly repositories = new Map<string, FakeObject[]>();
  readonly events = new Map<string, EventRecord[]>();
  readonly scripts = new Map<string, HostScript>();
  readonly calls: Array<{ op: Operation; host: string; at: number; end?: number; aborted?: boolean }> = [];
  /** Operations currently in progress per host, to observe overlap. */
  readonly inFlight = new Map<string, number>();
  maxInFlightPerHost = 0;

  addHost(host: string, objects: FakeObject[] = [], events: EventRecord[] = []): this {
    this.repositories.set(host.toLowerCase(), objects.map((object) => ({ ...object, properties: { ...object.properties } })));
    this.events.set(host.toLowerCase(), events);
    return this;
  }

  script(host: string, script: HostScript): this {
    this.scripts.set(host.toLowerCase(), script);
    return this;
  }

  objects(host: string): FakeObject[] {
    return this.repositories.get(host.toLowerCase()) ?? [];
  }

  async collect(request: CollectRequest, signal: AbortSignal): Promise<Collection> {
    return this.operation('collect', request.host, signal, () => {
      const failure = this.scripts.get(request.host.toLowerCase())?.collectFailures?.shift();
      if (failure) throw failure;
      const reportedName = this.scripts.get(request.host.toLowerCase())?.computerName ?? request.host;
      return collectionOf(reportedName, this.repository(request.host), request.maxEvents > 0 ? (this.events.get(request.host.toLowerCase()) ?? []) : [], request.lookbackHours);
    });
  }

  async backup(request: RemovalRequest, signal: AbortSignal): Promise<BackupResult> {
    return this.operation('backup', request.host, signal, () => {
      const repository = this.repository(request.host);
      const objects: BackedUpObject[] = [];
      const results: BackupResult['results'] = [];
      for (const target of request.targets) {
        const object = repository.find((entry) => sameObject(entry, target));
        const currentHash = object ? contentHashOf(object.namespace, object.className, object.properties) : null;
        if (!object) results.push({ target, status: 'skipped-missing', message: 'not present', currentHash });
        else if (currentHash !== target.contentHash) results.push({ target, status: 'skipped-changed', message: 'content hash changed since approval', currentHash });
        else objects.push({ ...target, properties: { ...object.properties }, creatorSid: null });
      }
      const backup = { host: request.host, takenAt: new Date().toISOString(), objects, mof: objects.map((object) => `// ${object.className} ${object.key}`).join('\n'), autorecoverEntries: [] };
      return { host: request.host, backup, results, hostCopy: null };
    });
  }

  async remove(request: BackedUpRemovalRequest, signal: AbortSignal): Promise<RemovalResult> {
    return this.operation('remove', request.host, signal, () => {
      const repository = this.repository(request.host);
      const results: RemovalResult['results'] = [];
      const order: ObjectKind[] = ['binding', 'consumer', 'filter', 'timer'];
      for (const target of [...request.targets].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind))) {
        const backedUp = request.backup.objects.find((object) => sameObject(object, target));
        const index = repository.findIndex((object) => sameObject(object, target));
        const object = repository[index];
        const currentHash = object ? contentHashOf(object.namespace, object.className, object.properties) : null;
        if (!object) {
          results.push(backedUp ? { target, status: 'removed-earlier', message: 'already gone', currentHash } : { target, status: 'skipped-missing', message: 'not present', currentHash });
        } else if (currentHash !== (backedUp ?? target).contentHash) {
          results.push({ target, status: 'skipped-changed', message: 'content hash changed since approval', currentHash });
        } else if (!backedUp) {
          results.push({ target, status: 'failed', message: 'not in the backup', currentHash });
        } else {
          repository.splice(index, 1);
          const script = this.scripts.get(request.host.toLowerCase());
          if (script?.removeCrashes) {
            script.removeCrashes -= 1;
            throw new CodedError(ErrorCode.ScriptError, `${request.host}: the shell died in the middle of the removal`, { host: request.host });
          }
          results.push({ target, status: 'removed', message: 'removed', currentHash });
        }
      }
      const verified = request.backup.objects.every((object) => !repository.some((entry) => sameObject(entry, object)));
      return { host: request.host, backup: request.backup, results, autorecoverRemoved: [], verified };
    });
  }

  async restore(request: RestoreRequest, signal: AbortSignal): Promise<RestoreResult> {
    return this.operation('restore', request.host, signal, () => {
      const repository = this.repository(request.host);
      const results: RestoreResult['results'] = request.backup.objects.map((object) => {
        if (repository.some((entry) => sameObject(entry, object))) return { target: object, status: 'already-present', message: 'present' };
        repository.push({ kind: object.kind, namespace: object.namespace, className: object.className, properties: { ...object.properties } });
        return { target: object, status: 'restored', message: 'restored' };
      });
      return { host: request.host, results, verified: true };
    });
  }

  private repository(host: string): FakeObject[] {
    const repository = this.repositories.get(host.toLowerCase());
    if (!repository) throw new CodedError(ErrorCode.HostUnreachable, `${host}: no such host`, { host });
    return repository;
  }

  private async operation<T>(op: Operation, host: string, signal: AbortSignal, work: () => T): Promise<T> {
    const call: FakeFleet['calls'][number] = { op, host, at: Date.now() };
    this.calls.push(call);
    const key = host.toLowerCase();
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    this.maxInFlightPerHost = Math.max(this.maxInFlightPerHost, this.inFlight.get(key)!);
    try {
      await abortableDelay(this.scripts.get(key)?.delayMs ?? 0, signal);
      return work();
    } catch (error) {
      call.aborted = signal.aborted;
      throw error;
    } finally {
      call.end = Date.now();
      this.inFlight.set(key, this.inFlight.get(key)! - 1);
    }
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function sameObject(object: FakeObject, target: { kind: ObjectKind; namespace: string; className: string; key: string }): boolean {
  return (
    object.kind === target.kind &&
    normalizeNamespace(object.namespace) === normalizeNamespace(target.namespace) &&
    object.className.toLowerCase() === target.className.toLowerCase() &&
    objectKey(object.kind, object.properties).toLowerCase() === target.key.toLowerCase()
  );
}

function collectionOf(host: string, objects: FakeObject[], events: EventRecord[], lookbackHours: number): Collection {
  const of = (kind: ObjectKind) =>
    objects
      .filter((object) => object.kind === kind)
      .map((object) => ({
        namespace: object.namespace,
        className: object.className,
        properties: object.properties,
        creatorSid: 'S-1-5-21-1-2-3-1001',
        creatorAccount: 'CORP\\mallory',
        contentHash: contentHashOf(object.namespace, object.className, object.properties),
      }));
  return {
    schemaVersion: 1,
    host: { name: host, fqdn: null, osBuild: '10.0.19045', powershellVersion: '5.1', sysmon: null, wmiActivityLogEnabled: true },
    collectedAt: new Date().toISOString(),
    collector: { name: 'fake-host', version: '1.0.0' },
    namespaces: ['root', 'root\\subscription', 'root\\cimv2'],
    filters: of('filter'),
    consumers: of('consumer'),
    bindings: of('binding'),
    timers: of('timer'),
    errors: [],
    autorecoverMofs: [],
    events,
    eventsTruncated: false,
    lookbackHours: lookbackHours > 0 ? lookbackHours : null,
  };
}

/** A malicious subscription as Empire and similar tools install it: start-up trigger, encoded PowerShell. */
export function maliciousSubscription(name = 'Updater'): FakeObject[] {
  const namespace = 'root\\subscription';
  return [
    {
      kind: 'filter',
      namespace,
      className: '__EventFilter',
      properties: {
        Name: name,
        EventNamespace: 'root\\cimv2',
        QueryLanguage: 'WQL',
        Query: "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240",
      },
    },
    {
      kind: 'consumer',
      namespace,
      className: 'CommandLineEventConsumer',
      properties: {
        Name: name,
        CommandLineTemplate: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -NonI -W hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA',
      },
    },
    {
      kind: 'binding',
      namespace,
      className: '__FilterToConsumerBinding',
      properties: { Filter: `__EventFilter.Name="${name}"`, Consumer: `CommandLineEventConsumer.Name="${name}"` },
    },
  ];
}
