import type { AllowlistEntry } from '../analysis/allowlist.js';
import { analyzeObjects } from '../analysis/analyze.js';
import type { Collection } from '../collection.js';
import type { Finding } from '../finding.js';
import { objectsFromCollection, type WmiObject } from '../wmi-object.js';
import { EventIndex } from './event-index.js';
import { objectsFromEvents } from './event-objects.js';
import { mergeObjects } from './merge-objects.js';
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
  const objects = mergeObjects(collected, objectsFromEvents(index.wmiEvents));
  return traceOrigins(analyzeObjects(objects, { allowlist: options.allowlist }), index, {
    ...(options.autorecoverMofs ? { autorecoverMofs: options.autorecoverMofs } : {}),
  });
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
