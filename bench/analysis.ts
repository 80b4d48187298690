/**
 * Analysis and tracing throughput on large exports: for each input format, files of 100k and 1M
 * records built from the real recordings (bench/support/event-datasets.ts) go through the whole
 * offline path (`analyzeInputs`: detect, read with the raw-text prefilter, index, rebuild objects,
 * analyze, trace). In the same run, a bare JSON.parse of every line of the same file (same 1 MiB
 * reads, same line cutting) is the yardstick. Each measurement runs in its own process, so peak RSS
 * (process.resourceUsage().maxRSS) belongs to one size alone. Files go to os.tmpdir() and are removed.
 *
 *   npx tsx bench/analysis.ts       (ANALYSIS_BENCH_SIZES=100000,1000000  ANALYSIS_BENCH_FORMATS=flat-jsonl,...)
 *
 * `--retained <file>` (with --expose-gc) reports what the offline path keeps on the heap instead:
 * the most while reading, the result, and for comparison an in-memory index of the same events.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { loadAllowlist } from '../src/allowlist/load-allowlist.js';
import { loadInputs } from '../src/ingest/input-loader.js';
import { analyzeInputs } from '../src/ingest/offline-analysis.js';
import { emitResult, isEntryPoint, runInChild } from './support/child.js';
import { EVENT_FORMATS, writeDataset, type EventFormat } from './support/event-datasets.js';
import { megabytes, peakRssMb, round } from './support/stats.js';

const SELF = fileURLToPath(import.meta.url);
const NEWLINE = 0x0a;

export interface AnalysisRun {
  records: number;
  megabytes: number;
  seconds: number;
  mbPerSecond: number;
  eventsPerSecond: number;
  /** Events the prefilter let through and the analysis indexed. */
  eventsIndexed: number;
  findings: number;
  hosts: number;
  peakRssMb: number;
  jsonParse: { seconds: number; mbPerSecond: number; peakRssMb: number } | null;
  ratioToJsonParse: number | null;
}

export interface AnalysisFormatResult {
  format: EventFormat;
  sourceRecords: number;
  sizes: AnalysisRun[];
}

export interface AnalysisBenchResult {
  formats: AnalysisFormatResult[];
  /**
   * The headline figures, for the largest size: MB/s and events/s of the slowest format, event XML
   * included; the ratio of the worst JSON-lines format (null when only event XML ran: it has no
   * JSON.parse yardstick); the highest peak RSS of any format at each size.
   */
  summary: {
    records: number;
    mbPerSecond: number;
    slowestFormat: EventFormat;
    eventsPerSecond: number;
    ratioToJsonParse: number | null;
    peakRssMb100k: number | null;
    peakRssMb1M: number | null;
    worstFormat: EventFormat;
  };
  /**
   * `ratioToJsonParse` is null when no format had the yardstick; `flatMemory` (peak RSS at 1M at most
   * `peakRssGrowthAtMost` times that at 100k) is null unless both sizes ran.
   */
  target: {
    mbPerSecondAtLeast: number;
    ratioToJsonParseAtMost: number;
    peakRssGrowthAtMost: number;
    met: { mbPerSecond: boolean; ratioToJsonParse: boolean | null; flatMemory: boolean | null };
  };
}

interface AnalyzeMeasurement {
  seconds: number;
  eventsIndexed: number;
  findings: number;
  hosts: number;
  problems: number;
  peakRssMb: number;
}

interface ParseMeasurement {
  seconds: number;
  lines: number;
  peakRssMb: number;
}

async function measureAnalysis(path: string): Promise<AnalyzeMeasurement> {
  const allowlist = await loadAllowlist({ files: [] });
  const began = process.hrtime.bigint();
  const result = await analyzeInputs([path], { cwd: tmpdir(), allowlist });
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  return {
    seconds,
    eventsIndexed: result.files.reduce((sum, file) => sum + file.events, 0),
    findings: result.findings.length,
    hosts: result.hosts.length,
    problems: result.problems.length,
    peakRssMb: peakRssMb(),
  };
}

export interface RetainedAnalysis {
  eventsKept: number;
  findings: number;
  /** The most heap in use after a full GC at any read of the input, above what was in use before. */
  whileReadingMb: number;
  /** Heap in use after a full GC with the whole result held. */
  resultMb: number;
  /** The findings as JSON text, in MB of characters: what the result says, for scale. */
  findingsJsonMb: number;
  /** Heap an `EventIndex` of the same events holds (`loadInputs`): what reading kept before the spill. */
  inMemoryIndexMb: number;
}

async function measureRetained(path: string): Promise<RetainedAnalysis> {
  const gc = global.gc;
  if (!gc) throw new Error('run with --expose-gc');
  // Code compiled on first use, and bytecode V8 may drop under GC, would count as held data.
  setFlagsFromString('--no-flush-bytecode');
  const allowlist = await loadAllowlist({ files: [] });
  await analyzeInputs([path], { cwd: tmpdir(), allowlist });
  await loadInputs([{ path, fromFolder: false }], { cwd: tmpdir() });
  const heapAfterGc = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed / 1024 / 1024;
  };
  // A value an async call returned stays reachable until the next turn of the event loop.
  const settled = () => new Promise((resolve) => setTimeout(resolve, 0));
  await settled();
  const before = heapAfterGc();
  let whileReading = 0;
  const onProgress = () => {
    whileReading = Math.max(whileReading, heapAfterGc() - before);
  };
  let result: Awaited<ReturnType<typeof analyzeInputs>> | null = await analyzeInputs([path], { cwd: tmpdir(), allowlist, onProgress });
  const resultMb = heapAfterGc() - before;
  const summary = {
    eventsKept: result.files.reduce((sum, file) => sum + file.events, 0),
    findings: result.findings.length,
    findingsJsonMb: JSON.stringify(result.findings).length / 1024 / 1024,
  };
  result = null;
  await settled();
  const beforeIndex = heapAfterGc();
  const loaded = await loadInputs([{ path, fromFolder: false }], { cwd: tmpdir() });
  const inMemoryIndexMb = heapAfterGc() - beforeIndex;
  if (loaded.index.eventsSeen === 0) throw new Error('the export holds no event the index keeps');
  return {
    ...summary,
    whileReadingMb: round(whileReading, 2),
    resultMb: round(resultMb, 2),
    findingsJsonMb: round(summary.findingsJsonMb, 2),
    inMemoryIndexMb: round(inMemoryIndexMb, 2),
  };
}

/** The yardstick: read the file in the same 1 MiB blocks, cut lines, JSON.parse each one. */
async function measureJsonParse(path: string): Promise<ParseMeasurement> {
  const began = process.hrtime.bigint();
  let carry: Buffer | null = null;
  let lines = 0;
  let keys = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    const block: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    carry = null;
    let start = 0;
    for (let end = block.indexOf(NEWLINE, start); end >= 0; end = block.indexOf(NEWLINE, start)) {
      if (end > start) {
        const value = JSON.parse(block.toString('utf8', start, end)) as object;
        if (value) keys += 1;
        lines += 1;
      }
      start = end + 1;
    }
    if (start < block.length) carry = block.subarray(start);
  }
  if (carry && carry.length > 0) {
    JSON.parse(carry.toString('utf8'));
    lines += 1;
  }
  if (keys !== lines) throw new Error('a line parsed to nothing');
  return { seconds: Number(process.hrtime.bigint() - began) / 1e9, lines, peakRssMb: peakRssMb() };
}

export async function runAnalysisBench(
  options: { sizes?: number[]; formats?: EventFormat[] } = {},
): Promise<AnalysisBenchResult> {
  const sizes = options.sizes ?? (process.env.ANALYSIS_BENCH_SIZES ?? '100000,1000000').split(',').map(Number);
  const formats = options.formats ?? ((process.env.ANALYSIS_BENCH_FORMATS?.split(',') as EventFormat[] | undefined) ?? [...EVENT_FORMATS]);
  const dir = await mkdtemp(join(tmpdir(), 'wmi-hunter-bench-analysis-'));
  const results: AnalysisFormatResult[] = [];
  try {
    for (const format of formats) {
      const runs: AnalysisRun[] = [];
      let sourceRecords = 0;
      for (const records of sizes) {
        const path = join(dir, `${format}-${records}.${format === 'event-xml' ? 'xml' : 'jsonl'}`);
        const written = await writeDataset(format, records, path);
        sourceRecords = written.sourceRecords;
        try {
          const jsonLines = format !== 'event-xml';
          const parse = jsonLines ? await runInChild<ParseMeasurement>(SELF, ['--parse', path]) : null;
          const analysis = await runInChild<AnalyzeMeasurement>(SELF, ['--analyze', path]);
          if (analysis.problems > 0) throw new Error(`${format}: ${analysis.problems} records could not be read`);
          if (parse && parse.lines !== records) throw new Error(`${format}: the yardstick parsed ${parse.lines} lines of ${records}`);
          const mb = written.bytes / 1024 / 1024;
          runs.push({
            records,
            megabytes: round(mb, 1),
            seconds: round(analysis.seconds, 3),
            mbPerSecond: round(mb / analysis.seconds, 1),
            eventsPerSecond: Math.round(records / analysis.seconds),
            eventsIndexed: analysis.eventsIndexed,
            findings: analysis.findings,
            hosts: analysis.hosts,
            peakRssMb: analysis.peakRssMb,
            jsonParse: parse ? { seconds: round(parse.seconds, 3), mbPerSecond: round(mb / parse.seconds, 1), peakRssMb: parse.peakRssMb } : null,
            ratioToJsonParse: parse ? round(analysis.seconds / parse.seconds, 3) : null,
          });
        } finally {
          await rm(path, { force: true });
        }
      }
      results.push({ format, sourceRecords, sizes: runs });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { formats: results, summary: analysisSummary(results), target: analysisTarget(results) };
}

/** The largest run of each JSON-lines format, or of every format when none of them ran. */
/** Each format's largest run; `jsonLinesFirst` keeps only the JSON-lines formats when any ran. */
function largestRuns(results: AnalysisFormatResult[], jsonLinesFirst: boolean): Array<{ format: EventFormat; run: AnalysisRun }> {
  const measured = results.filter((result) => result.sizes.length > 0);
  const jsonLines = measured.filter((result) => result.format !== 'event-xml');
  return (jsonLinesFirst && jsonLines.length > 0 ? jsonLines : measured).map((result) => ({
    format: result.format,
    run: result.sizes.reduce((a, b) => (b.records > a.records ? b : a)),
  }));
}

const PEAK_RSS_GROWTH_AT_MOST = 1.1;

function peakRssAt(results: AnalysisFormatResult[], records: number): number | null {
  const values = results.flatMap((result) => result.sizes.filter((run) => run.records === records).map((run) => run.peakRssMb));
  return values.length ? Math.max(...values) : null;
}

export function analysisSummary(results: AnalysisFormatResult[]): AnalysisBenchResult['summary'] {
  const largest = largestRuns(results, true);
  if (largest.length === 0) throw new Error('the analysis benchmark measured no format (no sizes or formats given)');
  // The worst JSON-lines format by its ratio; with event XML alone, the slowest.
  const worst = largest.reduce((a, b) =>
    (b.run.ratioToJsonParse ?? 0) > (a.run.ratioToJsonParse ?? 0) || (b.run.ratioToJsonParse === null && b.run.mbPerSecond < a.run.mbPerSecond) ? b : a,
  );
  const every = largestRuns(results, false);
  const slowest = every.reduce((a, b) => (b.run.mbPerSecond < a.run.mbPerSecond ? b : a));
  return {
    records: worst.run.records,
    mbPerSecond: slowest.run.mbPerSecond,
    slowestFormat: slowest.format,
    eventsPerSecond: Math.min(...every.map(({ run }) => run.eventsPerSecond)),
    ratioToJsonParse: worst.run.ratioToJsonParse,
    peakRssMb100k: peakRssAt(results, 100_000),
    peakRssMb1M: peakRssAt(results, 1_000_000),
    worstFormat: worst.format,
  };
}

export function analysisTarget(results: AnalysisFormatResult[]): AnalysisBenchResult['target'] {
  const ratios = largestRuns(results, true).flatMap(({ run }) => (run.ratioToJsonParse === null ? [] : [run.ratioToJsonParse]));
  const rss100k = peakRssAt(results, 100_000);
  const rss1M = peakRssAt(results, 1_000_000);
  return {
    mbPerSecondAtLeast: 250,
    ratioToJsonParseAtMost: 0.75,
    peakRssGrowthAtMost: PEAK_RSS_GROWTH_AT_MOST,
    met: {
      mbPerSecond: largestRuns(results, false).every(({ run }) => run.mbPerSecond >= 250),
      ratioToJsonParse: ratios.length === 0 ? null : ratios.every((ratio) => ratio <= 0.75),
      flatMemory: rss100k === null || rss1M === null ? null : rss1M <= rss100k * PEAK_RSS_GROWTH_AT_MOST,
    },
  };
}

if (isEntryPoint(import.meta.url)) {
  const [flag, path] = process.argv.slice(2);
  if (flag === '--analyze') emitResult(await measureAnalysis(path!));
  else if (flag === '--parse') emitResult(await measureJsonParse(path!));
  else if (flag === '--retained') emitResult(await measureRetained(path!));
  else {
    const result = await runAnalysisBench();
    emitResult(result);
  }
}
