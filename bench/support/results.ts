import type { AnalysisBenchResult } from '../analysis.js';
import type { FanoutBenchResult } from '../fanout.js';
import type { LargeHostBenchResult } from '../large-host.js';
import type { PowerShellBenchResult } from '../powershell.js';
import type { SlackAckBenchResult } from '../slack-ack.js';
import type { MachineDescription } from './machine.js';
import { round } from './stats.js';

/**
 * bench/results.json: the figures of one run, under keys other runs can be compared on. A benchmark
 * that could not run keeps its keys, with null values and the reason.
 */
export const REQUIRED_KEYS = [
  'slackAck.p50Ms',
  'slackAck.p99Ms',
  'fanout.idealSeconds',
  'fanout.wallSeconds',
  'fanout.ratioToIdeal',
  'fanout.perHostOverheadMs',
  'powershell.poolMsPerCall',
  'powershell.spawnMsPerCall',
  'powershell.poolToSpawnRatio',
  'analysis.mbPerSecond',
  'analysis.eventsPerSecond',
  'analysis.ratioToJsonParse',
  'analysis.peakRssMb100k',
  'analysis.peakRssMb1M',
] as const;

export type Outcome<T> = ({ ok: true; value: T } | { ok: false; reason: string }) & { measuredAt?: string };

export interface EvtxBenchResult {
  file: { megabytes: number; chunks: number };
  records: number;
  problems: number;
  seconds: number;
  megabytesPerSecond: number;
  recordsPerSecond: number;
  rssMegabytes: Record<string, number>;
  maxRssMegabytesWholeProcess: number;
}

export interface BenchOutcomes {
  slackAck?: Outcome<SlackAckBenchResult>;
  fanout?: Outcome<FanoutBenchResult>;
  powershell?: Outcome<PowerShellBenchResult>;
  analysis?: Outcome<AnalysisBenchResult>;
  largeHost?: Outcome<LargeHostBenchResult>;
  evtx?: Outcome<EvtxBenchResult>;
}

type Json = Record<string, unknown>;

function section<T>(outcome: Outcome<T> | undefined, headline: (value: T) => Json, nullKeys: string[]): Json {
  if (!outcome) return { ...Object.fromEntries(nullKeys.map((key) => [key, null])), notRun: 'not selected in this run' };
  const when = outcome.measuredAt ? { measuredAt: outcome.measuredAt } : {};
  if (!outcome.ok) return { ...Object.fromEntries(nullKeys.map((key) => [key, null])), notRun: outcome.reason, ...when };
  return { ...headline(outcome.value), ...when, details: outcome.value };
}

function keysOf(prefix: string): string[] {
  return REQUIRED_KEYS.filter((key) => key.startsWith(`${prefix}.`)).map((key) => key.slice(prefix.length + 1));
}

export function assembleResults(machine: MachineDescription, outcomes: BenchOutcomes): Json {
  return {
    machine,
    slackAck: section(
      outcomes.slackAck,
      (value) => ({ p50Ms: value.p50Ms, p99Ms: value.p99Ms, maxMs: value.maxMs, firstBurst: value.firstBurst, target: value.target }),
      [...keysOf('slackAck'), 'maxMs'],
    ),
    fanout: section(
      outcomes.fanout,
      (value) => ({
        idealSeconds: value.idealSeconds,
        wallSeconds: value.wallSeconds,
        ratioToIdeal: value.ratioToIdeal,
        perHostOverheadMs: value.perHostOverheadMs,
        overheadGrowth: value.overheadGrowth,
        target: value.target,
      }),
      keysOf('fanout'),
    ),
    powershell: section(
      outcomes.powershell,
      (value) => ({ poolMsPerCall: value.poolMsPerCall, spawnMsPerCall: value.spawnMsPerCall, poolToSpawnRatio: value.poolToSpawnRatio, target: value.target }),
      keysOf('powershell'),
    ),
    analysis: section(
      outcomes.analysis,
      (value) => ({
        mbPerSecond: value.summary.mbPerSecond,
        eventsPerSecond: value.summary.eventsPerSecond,
        ratioToJsonParse: value.summary.ratioToJsonParse,
        peakRssMb100k: value.summary.peakRssMb100k,
        peakRssMb1M: value.summary.peakRssMb1M,
        target: value.target,
      }),
      keysOf('analysis'),
    ),
    largeHost: section(outcomes.largeHost, (value) => ({ totalMs: value.totalMs, peakRssMb: value.rssMb.peak, findings: value.findings }), ['totalMs', 'peakRssMb']),
    evtx: section(
      outcomes.evtx,
      (value) => ({ mbPerSecond: value.megabytesPerSecond, recordsPerSecond: value.recordsPerSecond, peakRssMb: value.maxRssMegabytesWholeProcess }),
      ['mbPerSecond', 'recordsPerSecond', 'peakRssMb'],
    ),
  };
}

/** The value at a dotted path, or undefined when a step is missing. */
export function valueAt(document: unknown, path: string): unknown {
  let current: unknown = document;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || !(part in current)) return undefined;
    current = (current as Json)[part];
  }
  return current;
}

const fmt = (value: unknown): string => (value === null || value === undefined ? '—' : typeof value === 'number' ? String(value) : String(value));
const verdict = (met: boolean | undefined | 'no target'): string => (met === 'no target' ? 'no target' : met === undefined ? 'not measured' : met ? '**met**' : '**missed**');

/** The generated part of docs/PERFORMANCE.md: machine, then one table per benchmark. */
export function renderMarkdown(machine: MachineDescription, outcomes: BenchOutcomes): string {
  const lines: string[] = [];
  lines.push(`Measured ${machine.date} on ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGb} GB, ${machine.os}; ` +
    `Node ${machine.node}, Redis ${fmt(machine.redis)}, PowerShell ${fmt(machine.pwsh)}; load average at start ${machine.loadAverageAtStart.join(' / ')} ` +
    '(the machine is shared: read the ratios, which are taken side by side in the same run, rather than absolute times).', '');

  lines.push('| benchmark | figure | target | verdict | measured |', '|---|---|---|---|---|');
  let when = '';
  const row = (name: string, figure: string, target: string, met: boolean | undefined | 'no target') => lines.push(`| ${name} | ${figure} | ${target} | ${verdict(met)} | ${when} |`);
  const measured = (outcome: Outcome<unknown> | undefined) => {
    when = outcome?.measuredAt?.slice(0, 16).replace('T', ' ') ?? '';
  };
  const slack = outcomes.slackAck;
  measured(slack);
  if (slack?.ok) {
    const floor = slack.value.floorLaterBursts;
    // Results written before the yardstick was measured have none.
    const plain = slack.value.plainBolt as SlackAckBenchResult['plainBolt'] | undefined;
    row('Slack ack, 100 concurrent, bursts after the first', `p50 ${slack.value.p50Ms} ms, p99 ${slack.value.p99Ms} ms, max ${slack.value.maxMs} ms (first burst: p50 ${slack.value.firstBurst.p50Ms}, p99 ${slack.value.firstBurst.p99Ms}, max ${slack.value.firstBurst.maxMs} ms); ${slack.value.queuedAcks} queued acks, ${slack.value.hostJobsInRedis} host jobs in Redis; floor (bare HTTP server, same client): p50 ${floor ? floor.p50Ms : '—'}, p99 ${floor ? floor.p99Ms : '—'} ms; plain Bolt handler adding one BullMQ job (the issue's yardstick), same client: ${plain ? `p50 ${plain.laterBursts.p50Ms}, p99 ${plain.laterBursts.p99Ms} ms` : '—'}`, 'p99 ≤ 50 ms, every "queued" ack in Redis', slack.value.target.met);
  }
  else row('Slack ack', `not run: ${slack ? slack.reason : 'not selected'}`, 'p99 ≤ 50 ms', undefined);
  const fanout = outcomes.fanout;
  measured(fanout);
  if (fanout?.ok) {
    for (const run of fanout.value.runs) {
      row(`Fan-out, ${run.hosts} hosts at ${run.concurrency}, ${run.latencyMs} ms per host`, `wall ${run.wallSeconds} s vs ideal ${run.idealSeconds} s = ${run.ratioToIdeal} x; ${run.perHostOverheadMs} ms per host; first collect after ${run.firstCollectAfterMs} ms, finished ${run.finishAfterLastAnswerMs} ms after the last answer; ${run.maxConcurrentCollects} collects at once; CPU: service ${fmt(run.serviceCpuSeconds)} s, redis ${fmt(run.redisCpuSeconds)} s; ${run.status}`, '≤ 1.10 x ideal', run.ratioToIdeal <= 1.1);
    }
  } else row('Fan-out', `not run: ${fanout ? fanout.reason : 'not selected'}`, '≤ 1.10 x ideal', undefined);
  const ps = outcomes.powershell;
  measured(ps);
  if (ps?.ok) row(`PowerShell, ${ps.value.calls} calls`, `pool ${ps.value.poolMsPerCall} ms/call, fresh pwsh ${ps.value.spawnMsPerCall} ms/call, ratio ${ps.value.poolToSpawnRatio} (1/${Math.round(1 / ps.value.poolToSpawnRatio)}); session start ${ps.value.sessionStartMs} ms once`, 'ratio ≤ 1/50 (0.02)', ps.value.target.met);
  else row('PowerShell', `not run: ${ps ? ps.reason : 'not selected'}`, 'ratio ≤ 0.02', undefined);
  const analysis = outcomes.analysis;
  measured(analysis);
  if (analysis?.ok) {
    const s = analysis.value.summary;
    const met = analysis.value.target.met;
    // Event XML alone has no JSON.parse yardstick: its figures are reported, the target not judged.
    const jsonLines = s.ratioToJsonParse !== null;
    const growth = s.peakRssMb100k && s.peakRssMb1M ? ` (${round(s.peakRssMb1M / s.peakRssMb100k, 2)} x)` : '';
    row(
      jsonLines ? 'Analysis + tracing, every format (slowest; worst ratio)' : 'Analysis + tracing, event XML only (no JSON-lines format run)',
      `${s.mbPerSecond} MB/s (slowest: ${s.slowestFormat}), ${s.eventsPerSecond} events/s (fewest)${jsonLines ? `; ${s.ratioToJsonParse} x JSON.parse (${s.worstFormat})` : ''}; peak RSS ${fmt(s.peakRssMb100k)} MB at 100k, ${fmt(s.peakRssMb1M)} MB at 1M${growth}`,
      `≥ 250 MB/s in every format, ≤ 0.75 x JSON.parse, peak RSS at 1M ≤ ${analysis.value.target.peakRssGrowthAtMost} x at 100k`,
      met.ratioToJsonParse === null ? undefined : met.mbPerSecond && met.ratioToJsonParse && met.flatMemory !== false,
    );
  } else row('Analysis + tracing', `not run: ${analysis ? analysis.reason : 'not selected'}`, '≥ 250 MB/s, ≤ 0.75 x JSON.parse', undefined);
  const large = outcomes.largeHost;
  measured(large);
  if (large?.ok) row(`Large host, ${large.value.subscriptions} subscriptions in ${large.value.namespaces} namespaces`, `${large.value.totalMs} ms in all, peak RSS ${large.value.rssMb.peak} MB`, 'report', 'no target');
  const evtx = outcomes.evtx;
  measured(evtx);
  if (evtx?.ok) row(`EVTX reader, ${evtx.value.file.megabytes} MB`, `${evtx.value.megabytesPerSecond} MB/s, ${evtx.value.recordsPerSecond} records/s, peak RSS ${evtx.value.maxRssMegabytesWholeProcess} MB`, 'report', 'no target');
  else if (evtx) row('EVTX reader', `not run: ${evtx.ok ? '' : evtx.reason}`, 'report', undefined);

  if (analysis?.ok) {
    lines.push('', '### Analysis and tracing, per input format', '', '| format | records | MB | s | MB/s | events/s | JSON.parse MB/s | ratio to JSON.parse | events kept | findings | hosts | peak RSS MB |', '|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const format of analysis.value.formats) {
      for (const run of format.sizes) {
        lines.push(`| ${format.format} | ${run.records} | ${run.megabytes} | ${run.seconds} | ${run.mbPerSecond} | ${run.eventsPerSecond} | ${fmt(run.jsonParse?.mbPerSecond)} | ${fmt(run.ratioToJsonParse)} | ${run.eventsIndexed} | ${run.findings} | ${run.hosts} | ${run.peakRssMb} |`);
      }
    }
  }
  if (large?.ok) {
    lines.push('', '### Large host, by stage (ms)', '', `| ${Object.keys(large.value.stagesMs).join(' | ')} | total |`, `|${'---|'.repeat(Object.keys(large.value.stagesMs).length + 1)}`, `| ${Object.values(large.value.stagesMs).join(' | ')} | ${large.value.totalMs} |`);
  }
  if (slack?.ok) {
    lines.push('', '### Slack acknowledgement, per burst (ms)', '', '| burst | p50 | p99 | max |', '|---|---|---|---|');
    slack.value.perBurst.forEach((burst, index) => lines.push(`| ${index + 1} | ${burst.p50Ms} | ${burst.p99Ms} | ${burst.maxMs} |`));
  }
  return lines.join('\n');
}
