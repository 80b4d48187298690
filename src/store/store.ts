import type { Redis } from 'ioredis';
import { AlertGuard } from './alert-guard.js';
import { ApprovalStore } from './approval-store.js';
import { AuditLog } from './audit-log.js';
import { EvidenceStore } from './evidence-store.js';
import { HostLock } from './host-lock.js';
import { HuntStore } from './hunt-store.js';
import { Stats } from './stats.js';
import { StoreKeys } from './store-keys.js';

/** Everything the service keeps, on one Redis connection and one evidence directory. */
export interface Store {
  keys: StoreKeys;
  hunts: HuntStore;
  approvals: ApprovalStore;
  audit: AuditLog;
  alerts: AlertGuard;
  hostLocks: HostLock;
  evidence: EvidenceStore;
  stats: Stats;
  redis: Redis;
}

export function createStore(redis: Redis, options: { prefix: string; evidenceDir: string; now?: () => Date }): Store {
  const keys = new StoreKeys(options.prefix);
  return {
    keys,
    hunts: new HuntStore(redis, keys),
    approvals: new ApprovalStore(redis, keys),
    audit: new AuditLog(redis, keys.audit(), options.now),
    alerts: new AlertGuard(redis, keys),
    hostLocks: new HostLock(redis, keys),
    evidence: new EvidenceStore(options.evidenceDir),
    stats: new Stats(redis, keys.stats()),
    redis,
  };
}
