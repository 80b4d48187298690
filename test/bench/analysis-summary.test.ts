import { describe, expect, it } from 'vitest';
import { analysisSummary, analysisTarget, runAnalysisBench } from '../../bench/analysis.js';
import { assembleResults, renderMarkdown, valueAt } from '../../bench/support/results.js';

/** `ANALYSIS_BENCH_FORMATS=event-xml` alone: event XML has no JSON.parse yardstick, so no ratio to judge. */
describe('the analysis benchmark run on event XML alone', () => {
  it('summarizes what it measured, with no ratio and no verdict on the JSON-lines target', async () => {
    const analysis = await runAnalysisBench({ sizes: [200], formats: ['event-xml'] });
    expect(analysis.summary).toMatchObject({ records: 200, worstFormat: 'event-xml', ratioToJsonParse: null });
    expect(analysis.summary.mbPerSecond).toBeGreaterThan(0);
    expect(analysis.target.met.ratioToJsonParse).toBeNull();
    expect(analysis.summary.slowestFormat).toBe('event-xml');
    expect(analysis.target.met.flatMemory).toBeNull();

    const machine = { date: '2026-11-29T00:00:00.000Z', os: 'Linux', cpuModel: 'test', cores: 2, memoryGb: 24, loadAverageAtStart: [0, 0, 0], node: 'v20', redis: null, pwsh: null };
    const outcomes = { analysis: { ok: true as const, value: analysis } };
    const results = assembleResults(machine, outcomes);
    expect(valueAt(results, 'analysis.mbPerSecond')).toBe(analysis.summary.mbPerSecond);
    expect(valueAt(results, 'analysis.ratioToJsonParse')).toBeNull();
    const markdown = renderMarkdown(machine, outcomes);
    expect(markdown).toMatch(/Analysis \+ tracing, event XML only .* \| not measured \|/);
    expect(markdown).toContain('| event-xml | 200 |');
  }, 120_000);

  it('judges every format by MB/s, event XML included, and peak RSS at 1M against 100k', () => {
    const run = (records: number, mbPerSecond: number, ratio: number | null, peakRssMb: number) => ({
      records, megabytes: records / 1000, seconds: 1, mbPerSecond, eventsPerSecond: 1000, eventsIndexed: 1, findings: 1, hosts: 1, peakRssMb,
      jsonParse: ratio === null ? null : { seconds: 1, mbPerSecond: 200, peakRssMb: 100 }, ratioToJsonParse: ratio,
    });
    const machine = { date: '2026-11-29T00:00:00.000Z', os: 'Linux', cpuModel: 'test', cores: 2, memoryGb: 24, loadAverageAtStart: [0, 0, 0], node: 'v20', redis: null, pwsh: null };
    const verdictOf = (xmlMbPerSecond: number, rss1M: number) => {
      const formats = [
        { format: 'flat-jsonl' as const, sourceRecords: 1, sizes: [run(100_000, 300, 0.7, 120), run(1_000_000, 400, 0.6, rss1M)] },
        { format: 'event-xml' as const, sourceRecords: 1, sizes: [run(100_000, 300, null, 110), run(1_000_000, xmlMbPerSecond, null, 125)] },
      ];
      const summary = analysisSummary(formats);
      const target = analysisTarget(formats);
      const markdown = renderMarkdown(machine, { analysis: { ok: true as const, value: { formats, summary, target } } });
      return { summary, target, row: markdown.split('\n').find((line) => line.startsWith('| Analysis + tracing'))! };
    };
    const met = verdictOf(260, 130);
    expect(met.summary).toMatchObject({ mbPerSecond: 260, slowestFormat: 'event-xml', ratioToJsonParse: 0.6, worstFormat: 'flat-jsonl' });
    expect(met.row).toContain('**met**');
    const slowXml = verdictOf(249, 130);
    expect(slowXml.target.met.mbPerSecond).toBe(false);
    expect(slowXml.row).toContain('**missed**');
    const growing = verdictOf(260, 140);
    expect(growing.target.met.flatMemory).toBe(false);
    expect(growing.row).toContain('**missed**');
  });
});
