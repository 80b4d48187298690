import { loadAllowlist } from '../allowlist/load-allowlist.js';
import type { AllowlistEntry } from '../domain/analysis/allowlist.js';
import { analyzeCollections } from '../domain/analysis/analyze.js';
import type { Collection } from '../domain/collection.js';
import type { Finding, Report } from '../domain/finding.js';
import { EventIndex } from '../domain/origin/event-index.js';
import { traceOrigins } from '../domain/origin/trace.js';
import { buildReport, collectionProblems, hostSummaryOf, type HostSummary, type Problem } from '../domain/report/build-report.js';

/**
 * What the jobs need from the pure domain: findings from a collection, origins for them, and the
 * report. The jobs take this interface so the queue tests can count calls; the service runs
 * DomainAnalysis, which is the analyzer, tracer and report builder themselves.
 */
export interface HuntAnalysis {
  analyze(collection: Collection, options: { allowlist: 'default' | 'none' }): Finding[];
  trace(findings: Finding[], collection: Collection): Finding[];
  hostSummary(collection: Collection): { summary: HostSummary; problems: Problem[] };
  buildReport(input: { huntId: string; generatedAt: string; hosts: HostSummary[]; findings: Finding[]; problems: Problem[] }): Report;
}

export class DomainAnalysis implements HuntAnalysis {
  constructor(private readonly allowlist: readonly AllowlistEntry[]) {}

  static async withDefaultAllowlist(files: string[] = []): Promise<DomainAnalysis> {
    return new DomainAnalysis(await loadAllowlist({ files }));
  }

  analyze(collection: Collection, options: { allowlist: 'default' | 'none' }): Finding[] {
    return analyzeCollections([collection], { allowlist: options.allowlist === 'none' ? [] : this.allowlist });
  }

  trace(findings: Finding[], collection: Collection): Finding[] {
    const index = new EventIndex();
    for (const event of collection.events) index.add(event, `collection:${collection.host.name}`);
    return traceOrigins(findings, index, { autorecoverMofs: collection.autorecoverMofs });
  }

  hostSummary(collection: Collection): { summary: HostSummary; problems: Problem[] } {
    const source = `collector:${collection.collector.name}@${collection.collector.version}`;
    return { summary: hostSummaryOf(collection, source), problems: collectionProblems(collection, source) };
  }

  buildReport(input: { huntId: string; generatedAt: string; hosts: HostSummary[]; findings: Finding[]; problems: Problem[] }): Report {
    return buildReport(input);
  }
}
