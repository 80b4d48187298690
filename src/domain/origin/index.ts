export { analyzeCollectionsWithEvents, analyzeWithEvents, type AnalyzeWithEventsOptions } from './analyze-with-events.js';
export { EventIndex, type EventIndexOptions, type IndexedEvent, type ProcessEntry, type ScriptEntry } from './event-index.js';
export { matchIdentity, objectsFromEvents } from './event-objects.js';
export { hostMatchKey } from './host-match.js';
export { hasAutorecoverPragma, mofInstances, sidFromByteList, sysmonValue } from './logged-text.js';
export { mergeObjects } from './merge-objects.js';
export { eventFamily, isRelevantEvent, isUsedEvent, WMI_CREATION_PATTERN, type EventFamily } from './relevant-events.js';
export { renderTraceTree } from './render-trace.js';
export { traceOrigins, type TraceOptions } from './trace.js';
