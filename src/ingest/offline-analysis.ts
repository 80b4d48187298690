import type { AllowlistEntry } from '../domain/analysis/allowlist.js';
import type { Finding } from '../domain/finding.js';
import type { EventIndex, EventIndexOptions } from '../domain/origin/event-index.js';
import { hostMatchKey } from '../domain/origin/host-match.js';
import { analyzeWithEvents } from '../domain/origin/analyze-with-events.js';
import { collectionProblems, hostSummaryOf, mergeHostSummaries, type HostSummary, type Problem } from '../domain/report/build-report.js';
import { objectsFromCollection } from '../domain/wmi-object.js';
import { CodedError } from '../errors.js';
import { loadInputs, type InputFileSummary, type InputPath, type LoadOptions } from './input-loader.js';

/**
 * Offline analysis of everything a responder has: collections and exported event logs together.
 * Objects the events describe are rebuilt and merged with the collected ones (one finding per
 * object), analyzed, and traced to their origin.
 */
export interface OfflineAnalysis {
  findings: Finding[];
  hosts: HostSummary[];
  problems: Problem[];
  files: InputFileSummary[];
  skipped: string[];
  index: EventIndex;
}

export interface OfflineOptions extends LoadOptions {
  allowlist: readonly AllowlistEntry[];
  index?: EventIndexOptions;
}

export async function analyzeInputs(inputs: ReadonlyArray<InputPath | string>, options: OfflineOptions): Promise<OfflineAnalysis> {
  const loaded = await loadInputs(inputs.map((input) => (typeof input === 'string' ? { path: input, fromFolder: false } : input)), options);
  const collected = loaded.collections.flatMap(({ source, collection }) => {
    try {
      return objectsFromCollection(collection);
    } catch (error) {
      if (error instanceof CodedError) throw new CodedError(error.code, `${source}: ${error.message}`, { ...error.details, source }, { cause: error });
      throw error;
    }
  });
  const findings = analyzeWithEvents(collected, loaded.index, {
    allowlist: options.allowlist,
    autorecoverMofs: loaded.collections.flatMap(({ collection }) => collection.autorecoverMofs),
  });

  const collectionHosts = loaded.collections.map(({ source, collection }) => hostSummaryOf(collection, source));
  const collectedKeys = new Set(collectionHosts.map((summary) => hostMatchKey(summary.host)));
  const eventHosts: HostSummary[] = loaded.files.flatMap((file) =>
    file.hosts
      .filter((host) => !collectedKeys.has(hostMatchKey(host)))
      .map((host) => ({ host, collectedAt: null, namespacesScanned: null, errors: [], sources: [file.source] })),
  );
  for (const file of loaded.files) {
    for (const summary of collectionHosts) {
      if (file.hosts.some((host) => hostMatchKey(host) === hostMatchKey(summary.host)) && !summary.sources.includes(file.source)) summary.sources.push(file.source);
    }
  }
  return {
    findings,
    hosts: mergeHostSummaries([...collectionHosts, ...eventHosts]),
    problems: [...loaded.collections.flatMap(({ source, collection }) => collectionProblems(collection, source)), ...loaded.problems],
    files: loaded.files,
    skipped: loaded.skipped,
    index: loaded.index,
  };
}
