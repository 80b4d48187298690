/**
 * A collection of a large host: 5,000 subscriptions across 50 namespaces (filters, consumers of five
 * classes, bindings, timers; valid content hashes), taken from collector JSON text through what a hunt
 * job does with it: JSON.parse + schema validation, analysis with the default allowlist, origin
 * tracing, the report, and the text / markdown / JSON renderings. Runs in a child process so its
 * peak RSS is its own.
 *
 *   npx tsx bench/large-host.ts           (LARGE_HOST_SUBSCRIPTIONS / LARGE_HOST_NAMESPACES to change)
 */
import { fileURLToPath } from 'node:url';
import { DomainAnalysis } from '../src/app/analysis.js';
import { parseCollection } from '../src/domain/collection.js';
import { buildReport, formatHuntId, renderJson, renderMarkdown, renderText } from '../src/domain/report/index.js';
import { emitResult, isEntryPoint, runInChild } from './support/child.js';
import { syntheticCollection } from './support/collections.js';
import { megabytes, msSince, peakRssMb, round } from './support/stats.js';

export interface LargeHostBenchResult {
  subscriptions: number;
  namespaces: number;
  objects: number;
  collectionMegabytes: number;
  findings: number;
  stagesMs: { parseAndValidate: number; analyze: number; trace: number; report: number; renderText: number; renderMarkdown: number; renderJson: number };
  totalMs: number;
  renderedMegabytes: { text: number; markdown: number; json: number };
  rssMb: { beforeAnalysis: number; peak: number };
}

export async function runLargeHostBench(options: { subscriptions?: number; namespaces?: number } = {}): Promise<LargeHostBenchResult> {
  const subscriptions = options.subscriptions ?? Number(process.env.LARGE_HOST_SUBSCRIPTIONS ?? 5_000);
  const namespaces = options.namespaces ?? Number(process.env.LARGE_HOST_NAMESPACES ?? 50);
  return runInChild<LargeHostBenchResult>(fileURLToPath(import.meta.url), ['--measure', String(subscriptions), String(namespaces)]);
}

async function measure(subscriptions: number, namespaces: number): Promise<LargeHostBenchResult> {
  const text = JSON.stringify(syntheticCollection({ host: 'BIG-HOST-01', subscriptions, namespaces }));
  const analysis = await DomainAnalysis.withDefaultAllowlist();
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;

  const stage = <T>(work: () => T): [T, number] => {
    const began = process.hrtime.bigint();
    const value = work();
    return [value, msSince(began)];
  };
  const [collection, parseMs] = stage(() => parseCollection(JSON.parse(text), 'bench collection'));
  const [findings, analyzeMs] = stage(() => analysis.analyze(collection, { allowlist: 'default' }));
  const [traced, traceMs] = stage(() => analysis.trace(findings, collection));
  const [report, reportMs] = stage(() => {
    const { summary, problems } = analysis.hostSummary(collection);
    return buildReport({ huntId: formatHuntId('20261129', 1), generatedAt: '2026-11-29T09:31:00.000Z', hosts: [summary], findings: traced, problems });
  });
  const [textOut, textMs] = stage(() => renderText(report));
  const [markdown, markdownMs] = stage(() => renderMarkdown(report));
  const [json, jsonMs] = stage(() => renderJson(report));
  if (findings.length < subscriptions) throw new Error(`expected at least ${subscriptions} findings, got ${findings.length}`);

  const stagesMs = {
    parseAndValidate: round(parseMs, 1),
    analyze: round(analyzeMs, 1),
    trace: round(traceMs, 1),
    report: round(reportMs, 1),
    renderText: round(textMs, 1),
    renderMarkdown: round(markdownMs, 1),
    renderJson: round(jsonMs, 1),
  };
  return {
    subscriptions,
    namespaces,
    objects: collection.filters.length + collection.consumers.length + collection.bindings.length + collection.timers.length,
    collectionMegabytes: megabytes(Buffer.byteLength(text)),
    findings: findings.length,
    stagesMs,
    totalMs: round(parseMs + analyzeMs + traceMs + reportMs + textMs + markdownMs + jsonMs, 1),
    renderedMegabytes: { text: megabytes(Buffer.byteLength(textOut)), markdown: megabytes(Buffer.byteLength(markdown)), json: megabytes(Buffer.byteLength(json)) },
    rssMb: { beforeAnalysis: megabytes(rssBefore), peak: peakRssMb() },
  };
}

if (isEntryPoint(import.meta.url)) {
  const [flag, subscriptions, namespaces] = process.argv.slice(2);
  if (flag === '--measure') {
    emitResult(await measure(Number(subscriptions), Number(namespaces)));
  } else {
    const result = await runLargeHostBench();
    emitResult(result);
  }
}
