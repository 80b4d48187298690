import type { Collection, WmiValue } from './collection.js';
import type { ObjectKind } from './wmi-object.js';

/**
 * The port through which jobs touch a Windows host. Implemented by src/powershell (node-powershell
 * sessions over the local, ssh and winrm transports); tests may implement it with a fake host. The
 * domain and the queue depend on this interface, never on PowerShell.
 */
export interface CollectRequest {
  host: string;
  /** Event look-back window; 0 collects no events. */
  lookbackHours: number;
  /** Upper bound on event records returned. */
  maxEvents: number;
}

/** One object approved for removal, named exactly, with the content hash that was approved. */
export interface RemovalTarget {
  kind: ObjectKind;
  namespace: string;
  className: string;
  /** Name, TimerId, or the binding's Filter|Consumer paths (as in ObjectRef.key). */
  key: string;
  contentHash: string;
}

export interface BackedUpObject extends RemovalTarget {
  properties: Record<string, WmiValue>;
  creatorSid: string | null;
}

/** Everything needed to put the removed objects back: all properties, and a MOF mofcomp can compile. */
export interface RemovalBackup {
  host: string;
  takenAt: string;
  objects: BackedUpObject[];
  /** MOF text recreating the objects (`#pragma namespace` per namespace). */
  mof: string;
  /** Autorecover MOF registry entries that were removed, to re-add on restore. */
  autorecoverEntries: string[];
}

/**
 * `removed-earlier`: an object of the persisted backup that was already gone when the removal ran,
 * because an earlier attempt of the same approved removal (e.g. one whose worker died) removed it.
 */
export type RemovalStatus = 'removed' | 'removed-earlier' | 'skipped-changed' | 'skipped-missing' | 'failed';

export interface RemovalObjectResult {
  target: RemovalTarget;
  status: RemovalStatus;
  /** Why it was skipped or failed; the hash found when it changed. */
  message: string;
  currentHash: string | null;
}

export interface RemovalRequest {
  host: string;
  targets: RemovalTarget[];
  /** Recorded approval that names these targets; carried into the host-side log. */
  approvalId: string;
}

/** The first phase of a removal: reads and backs up the approved objects, changing nothing on the host. */
export interface BackupResult {
  host: string;
  backup: RemovalBackup;
  /** Targets that were not backed up (changed, missing, unreadable), saying why; they will not be removed. */
  results: RemovalObjectResult[];
  /** Where the host kept its own copy of the backup, or null when it could not write one. */
  hostCopy: string | null;
}

/** The second phase: removes only objects of a backup the caller has already persisted. */
export interface BackedUpRemovalRequest extends RemovalRequest {
  backup: RemovalBackup;
}

export interface RemovalResult {
  host: string;
  backup: RemovalBackup;
  results: RemovalObjectResult[];
  autorecoverRemoved: string[];
  /** True when a re-read after removal found none of the removed objects. */
  verified: boolean;
}

export interface RestoreRequest {
  host: string;
  backup: RemovalBackup;
}

export interface RestoreResult {
  host: string;
  results: Array<{ target: RemovalTarget; status: 'restored' | 'already-present' | 'failed'; message: string }>;
  verified: boolean;
}

export interface HostExecutor {
  collect(request: CollectRequest, signal: AbortSignal): Promise<Collection>;
  /** Backs the targets up without changing the host; its result must be persisted before `remove`. */
  backup(request: RemovalRequest, signal: AbortSignal): Promise<BackupResult>;
  /** Removes the targets whose content hash still equals the persisted backup's; idempotent per backup. */
  remove(request: BackedUpRemovalRequest, signal: AbortSignal): Promise<RemovalResult>;
  restore(request: RestoreRequest, signal: AbortSignal): Promise<RestoreResult>;
}
