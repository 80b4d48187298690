import type { AllowlistEntry } from '../analysis/allowlist.js';
import { analyzeObjects, compareFindingOrder, findingOrder, type FindingOrder } from '../analysis/analyze.js';
import type { Collection } from '../collection.js';
import type { Finding } from '../finding.js';
import { objectsFromCollection, type WmiObject } from '../wmi-object.js';
import { EventIndex } from './event-index.js';
import { objectsFromEvents } from './event-objects.js';
import { mergeObjects } from './merge-objects.js';
import { shareStrings, type StringPool } from './shared-strings.js';
import { traceOrigins } from './trace.js';

/**
 * The whole domain path for objects and events together: rebuild what the events describe, merge
 * it with the collected objects (one object per identity), analyze, and trace every finding.
 */
export interface AnalyzeWithEventsOptions {
  allowlist: readonly AllowlistEntry[];
  autorecoverMofs?: ReadonlyArray<{ path: string; present: boolean }>;
}

export function analyzeWithEvents(collected: readonly WmiObject[], index: EventIndex, options: AnalyzeWithEventsOptions): Finding[] {
  return analyzedAndTraced(collected, index, options).traced;
}

/** The findings as analyzed (in the analyzer's order) and the same findings traced, position for position. */
function analyzedAndTraced(collected: readonly WmiObject[], index: EventIndex, options: AnalyzeWithEventsOptions): { analyzed: Finding[]; traced: Finding[] } {
  const objects = mergeObjects(collected, objectsFromEvents(index.wmiEvents));
  const analyzed = analyzeObjects(objects, { allowlist: options.allowlist });
  const traced = traceOrigins(analyzed, index, {
    ...(options.autorecoverMofs ? { autorecoverMofs: options.autorecoverMofs } : {}),
  });
  return { analyzed, traced };
}

/** The objects and events of some hosts: every host's, by `hostMatchKey`, all in one part. */
export interface HostsPart {
  collected: readonly WmiObject[];
  index: EventIndex;
}

/**
 * `analyzeWithEvents` over an input split by host, one part at a time, so only one part's events
 * need be held: rebuilding, merging, joining and tracing never look across hosts (SID account names
 * do, and come in a shared `SidAccounts`). The findings come in the order one call over the whole
 * input gives: that of the findings before tracing (tracing may raise a level but does not re-sort).
 */
export function analyzeWithEventsInParts(parts: Iterable<HostsPart>, options: AnalyzeWithEventsOptions): Finding[] {
  const placed: Array<{ order: FindingOrder; finding: Finding }> = [];
  const strings: StringPool = new Map();
  for (const { collected, index } of parts) {
    const { analyzed, traced } = analyzedAndTraced(collected, index, options);
    traced.forEach((finding, position) => placed.push({ order: findingOrder(analyzed[position]!), finding: shareStrings(finding, strings) }));
  }
  placed.sort((a, b) => compareFindingOrder(a.order, b.order));
  return placed.map(({ finding }) => finding);
}

/** Live hunts: validated collections with the events the collector returned. */
export function analyzeCollectionsWithEvents(collections: readonly Collection[], options: Pick<AnalyzeWithEventsOptions, 'allowlist'>): Finding[] {
  const index = new EventIndex();
  for (const collection of collections) collection.events.forEach((event, position) => index.add(event, `${collection.host.name}:events[${position}]`));
  return analyzeWithEvents(collections.flatMap(objectsFromCollection), index, {
    allowlist: options.allowlist,
    autorecoverMofs: collections.flatMap((collection) => collection.autorecoverMofs),
  });
}
