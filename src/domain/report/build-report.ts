import type { Collection } from '../collection.js';
import { sortFindings } from '../analysis/analyze.js';
import type { Finding, Report } from '../finding.js';
import { parseHuntId } from './hunt-id.js';

/**
 * The hunt report: the findings of one hunt with what was scanned and what went wrong. A report is
 * `partial` whenever something was not fully read (an input problem, a namespace the collector could
 * not open, events cut at the collector's bound): nothing incomplete is presented as complete.
 */
export const REPORT_VERSION = 1;

export type HostSummary = Report['hosts'][number];
export type Problem = Report['problems'][number];

export interface BuildReportInput {
  huntId: string;
  generatedAt: string;
  hosts: HostSummary[];
  findings: Finding[];
  problems?: Problem[];
}

export function buildReport(input: BuildReportInput): Report {
  parseHuntId(input.huntId);
  const problems = input.problems ?? [];
  return {
    reportVersion: REPORT_VERSION,
    huntId: input.huntId,
    generatedAt: input.generatedAt,
    hosts: input.hosts,
    findings: sortFindings(input.findings),
    problems,
    partial: problems.length > 0 || input.hosts.some((host) => host.errors.length > 0),
  };
}

/** What the report says about a host a collection came from. */
export function hostSummaryOf(collection: Collection, source: string): HostSummary {
  return {
    host: collection.host.name,
    collectedAt: collection.collectedAt,
    namespacesScanned: collection.namespaces.length,
    errors: collection.errors.map(({ namespace, code, message }) => ({ namespace, code, message })),
    sources: [source],
  };
}

/** Problems a collection declares about itself (events cut at the collector's bound). */
export function collectionProblems(collection: Collection, source: string): Problem[] {
  return collection.eventsTruncated
    ? [{ source, position: null, message: `${collection.host.name}: the collector hit its event bound; events are a prefix of the look-back window` }]
    : [];
}

/** One entry per host: sources and errors of several collections of the same host are merged. */
export function mergeHostSummaries(summaries: HostSummary[]): HostSummary[] {
  const byHost = new Map<string, HostSummary>();
  for (const summary of summaries) {
    const key = summary.host.toLowerCase();
    const current = byHost.get(key);
    if (!current) {
      byHost.set(key, { ...summary, errors: [...summary.errors], sources: [...summary.sources] });
      continue;
    }
    current.collectedAt = [current.collectedAt, summary.collectedAt].filter((t): t is string => t !== null).sort().at(-1) ?? null;
    current.namespacesScanned = Math.max(current.namespacesScanned ?? 0, summary.namespacesScanned ?? 0);
    current.errors.push(...summary.errors);
    current.sources.push(...summary.sources.filter((s) => !current.sources.includes(s)));
  }
  return [...byHost.values()];
}
