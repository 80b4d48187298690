export { buildReport, collectionProblems, hostSummaryOf, mergeHostSummaries, REPORT_VERSION, type BuildReportInput, type HostSummary, type Problem } from './build-report.js';
export { formatHuntId, huntDay, isHuntId, parseHuntId, type HuntIdParts } from './hunt-id.js';
export { renderJson } from './render-json.js';
export { renderMarkdown } from './render-markdown.js';
export { renderText } from './render-text.js';
