import type { HostResult } from '../../src/store/hunt-store.js';

/** A host's recorded outcome with nothing collected: done unless `overrides` say otherwise. */
export function hostResult(host: string, overrides: Partial<Omit<HostResult, 'host'>> = {}): HostResult {
  return { host, outcome: 'done', collectionId: null, collectionSha256: null, findings: 0, stepFailures: {}, summary: null, problems: [], error: null, ...overrides };
}
