import type { AllowlistEntry } from '../domain/analysis/allowlist.js';
import type { Finding } from '../domain/finding.js';
import type { EventIndexOptions } from '../domain/origin/event-index.js';
import { hostMatchKey } from '../domain/origin/host-match.js';
import { analyzeWithEventsInParts, type HostsPart } from '../domain/origin/analyze-with-events.js';
import { collectionProblems, hostSummaryOf, mergeHostSummaries, type HostSummary, type Problem } from '../domain/report/build-report.js';
import { objectsFromCollection, type WmiObject } from '../domain/wmi-object.js';
import { CodedError } from '../errors.js';
import { EventSpill, HOST_GROUPS } from './event-spill.js';
import { readInputs, type InputFileSummary, type InputPath, type LoadOptions } from './input-loader.js';

/**
 * Offline analysis of everything a responder has: collections and exported event logs together.
 * Objects the events describe are rebuilt and merged with the collected ones (one finding per
 * object), analyzed, and traced to their origin. The events kept wait on disk (`EventSpill`) and
 * are analyzed one group of hosts at a time, so memory does not grow with the input.
 */
export interface OfflineAnalysis {
  findings: Finding[];
  hosts: HostSummary[];
  problems: Problem[];
  files: InputFileSummary[];
  skipped: string[];
}

export interface OfflineOptions extends LoadOptions {
  allowlist: readonly AllowlistEntry[];
  index?: EventIndexOptions;
}

export async function analyzeInputs(inputs: ReadonlyArray<InputPath | string>, options: OfflineOptions): Promise<OfflineAnalysis> {
  const spill = new EventSpill(options.index);
  try {
    return await analyzeSpilled(inputs, options, spill);
  } finally {
    spill.remove();
  }
}

async function analyzeSpilled(inputs: ReadonlyArray<InputPath | string>, options: OfflineOptions, spill: EventSpill): Promise<OfflineAnalysis> {
  const paths = inputs.map((input) => (typeof input === 'string' ? { path: input, fromFolder: false } : input));
  const loaded = await readInputs(paths, options, spill);
  const collected = loaded.collections.flatMap(({ source, collection }) => {
    try {
      return objectsFromCollection(collection);
    } catch (error) {
      if (error instanceof CodedError) throw new CodedError(error.code, `${source}: ${error.message}`, { ...error.details, source }, { cause: error });
      throw error;
    }
  });
  const findings = analyzeWithEventsInParts(hostGroups(collected, spill), {
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
  };
}

/** Each group of hosts with its collected objects and its events, indexed only when its turn comes. */
function* hostGroups(collected: readonly WmiObject[], spill: EventSpill): Generator<HostsPart> {
  const collectedByGroup = new Map<number, WmiObject[]>();
  for (const object of collected) {
    const group = spill.groupOf(object.host);
    const objects = collectedByGroup.get(group);
    if (objects) objects.push(object);
    else collectedByGroup.set(group, [object]);
  }
  for (let group = 0; group < HOST_GROUPS; group += 1) {
    yield { collected: collectedByGroup.get(group) ?? [], index: spill.indexOf(group) };
  }
}
