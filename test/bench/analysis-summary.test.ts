import { describe, expect, it } from 'vitest';
import { runAnalysisBench } from '../../bench/analysis.js';
import { assembleResults, renderMarkdown, valueAt } from '../../bench/support/results.js';

/** `ANALYSIS_BENCH_FORMATS=event-xml` alone: event XML has no JSON.parse yardstick, so no ratio to judge. */
describe('the analysis benchmark run on event XML alone', () => {
  it('summarizes what it measured, with no ratio and no verdict on the JSON-lines target', async () => {
    const analysis = await runAnalysisBench({ sizes: [200], formats: ['event-xml'] });
    expect(analysis.summary).toMatchObject({ records: 200, worstFormat: 'event-xml', ratioToJsonParse: null });
    expect(analysis.summary.mbPerSecond).toBeGreaterThan(0);
    expect(analysis.target.met.ratioToJsonParse).toBeNull();

    const machine = { date: '2026-11-29T00:00:00.000Z', os: 'Linux', cpuModel: 'test', cores: 2, memoryGb: 24, loadAverageAtStart: [0, 0, 0], node: 'v20', redis: null, pwsh: null };
    const outcomes = { analysis: { ok: true as const, value: analysis } };
    const results = assembleResults(machine, outcomes);
    expect(valueAt(results, 'analysis.mbPerSecond')).toBe(analysis.summary.mbPerSecond);
    expect(valueAt(results, 'analysis.ratioToJsonParse')).toBeNull();
    const markdown = renderMarkdown(machine, outcomes);
    expect(markdown).toMatch(/Analysis \+ tracing, event XML only .* \| not measured \|/);
    expect(markdown).toContain('| event-xml | 200 |');
  }, 120_000);
});
