import { describe, expect, it } from 'vitest';
import { runAnalysisBench, type AnalysisBenchResult } from '../../bench/analysis.js';
import { runFanoutBench, type FanoutBenchResult } from '../../bench/fanout.js';
import { runLargeHostBench, type LargeHostBenchResult } from '../../bench/large-host.js';
import { runPowerShellBench, type PowerShellBenchResult } from '../../bench/powershell.js';
import { runSlackAckBench, type SlackAckBenchResult } from '../../bench/slack-ack.js';
import { BENCH_ROOT, runPrintingJson } from '../../bench/support/child.js';
import { describeMachine } from '../../bench/support/machine.js';
import { assembleResults, REQUIRED_KEYS, renderMarkdown, valueAt, type EvtxBenchResult } from '../../bench/support/results.js';
import { findPwsh, findRedisServer } from '../../bench/support/tools.js';
import { requireService } from '../support/services.js';

/**
 * Every benchmark at a tiny size, through the same code `npm run bench` runs, to prove the harness
 * works and results.json gets every key. No assertion here is about speed.
 */
const pwsh = requireService('pwsh', findPwsh() !== null, 'install PowerShell 7 (.ci/setup.sh)');
const redisServer = requireService('redis-server', findRedisServer() !== null, 'apt-get install redis-server (.ci/setup.sh)');

describe.skipIf(!pwsh || !redisServer)('the benchmarks at a tiny size', () => {
  let powershell: PowerShellBenchResult;
  let largeHost: LargeHostBenchResult;
  let analysis: AnalysisBenchResult;
  let fanout: FanoutBenchResult;
  let slackAck: SlackAckBenchResult;
  let evtx: EvtxBenchResult;

  it('runs the same script through the pool and through fresh pwsh processes', async () => {
    powershell = await runPowerShellBench({ calls: 5 });
    expect(powershell.calls).toBe(5);
    expect(powershell.poolMsPerCall).toBeGreaterThan(0);
    expect(powershell.spawnMsPerCall).toBeGreaterThan(0);
  }, 180_000);

  it('analyzes and renders a large-host collection in a child process', async () => {
    largeHost = await runLargeHostBench({ subscriptions: 50, namespaces: 5 });
    expect(largeHost.findings).toBe(50);
    expect(largeHost.objects).toBeGreaterThanOrEqual(150);
    expect(largeHost.rssMb.peak).toBeGreaterThan(0);
  }, 120_000);

  it('measures analysis and the JSON.parse yardstick on every input format', async () => {
    analysis = await runAnalysisBench({ sizes: [200] });
    expect(analysis.formats.map((format) => format.format)).toEqual(['flat-jsonl', 'winlogbeat-jsonl', 'evtx-dump-jsonl', 'event-xml']);
    for (const format of analysis.formats) {
      expect(format.sizes[0]!.records).toBe(200);
      expect(format.sizes[0]!.ratioToJsonParse === null).toBe(format.format === 'event-xml');
    }
  }, 240_000);

  it('fans a hunt out through the real service and finishes it', async () => {
    fanout = await runFanoutBench({ hosts: [20], concurrency: 5, latencyMs: 20 });
    expect(fanout.runs[0]).toMatchObject({ hosts: 20, status: 'completed', hostsDone: 20, hostsFailed: 0, maxConcurrentCollects: 5 });
  }, 120_000);

  it('acknowledges signed slash commands only once each hunt is in Redis', async () => {
    slackAck = await runSlackAckBench({ bursts: 2, burstSize: 5 });
    expect(slackAck.queuedAcks).toBe(10);
    expect(slackAck.hostJobsInRedis).toBe(10);
    expect(slackAck.plainBolt).toMatchObject({ queuedAcks: 10, jobsInRedis: 10 });
  }, 120_000);

  it('counts the servers\' TurboFan compiles per burst when asked, and still finds their URLs among V8\'s trace lines', async () => {
    const traced = await runSlackAckBench({ bursts: 2, burstSize: 5, traceJit: true });
    expect(traced.queuedAcks).toBe(10);
    for (const server of [traced.jit!.receiver, traced.jit!.floor, traced.jit!.plainBolt]) {
      expect(server.perBurst).toHaveLength(2);
      for (const burst of server.perBurst) expect(burst.ms >= 0 && Number.isInteger(burst.compiles)).toBe(true);
    }
    // Loading the engine (playbooks, schemas) before listening is hot enough to be compiled.
    expect(traced.jit!.receiver.startup.compiles).toBeGreaterThan(0);
    expect(slackAck.jit).toBeUndefined();
  }, 120_000);

  it('runs the EVTX reader benchmark', async () => {
    evtx = await runPrintingJson<EvtxBenchResult>(`${BENCH_ROOT}evtx.ts`, { EVTX_BENCH_MB: '1' });
    expect(evtx.records).toBeGreaterThan(0);
    expect(evtx.problems).toBe(0);
  }, 120_000);

  it('writes every required key of results.json, and a table for each benchmark', () => {
    const machine = describeMachine();
    const outcomes = {
      powershell: { ok: true as const, value: powershell },
      largeHost: { ok: true as const, value: largeHost },
      analysis: { ok: true as const, value: analysis },
      fanout: { ok: true as const, value: fanout },
      slackAck: { ok: true as const, value: slackAck },
      evtx: { ok: true as const, value: evtx },
    };
    const results = assembleResults(machine, outcomes);
    for (const key of REQUIRED_KEYS) {
      const value = valueAt(results, key);
      // 100k / 1M peak RSS exist only when those sizes ran; the key is there all the same.
      if (key === 'analysis.peakRssMb100k' || key === 'analysis.peakRssMb1M') expect(value, key).toBeNull();
      else expect(value, key).toBeTypeOf('number');
    }
    expect(valueAt(results, 'evtx.mbPerSecond')).toBeTypeOf('number');
    expect(machine.cores).toBeGreaterThan(0);
    const markdown = renderMarkdown(machine, outcomes);
    for (const heading of ['Slack ack', 'Fan-out', 'PowerShell', 'Analysis + tracing', 'Large host', 'EVTX reader']) expect(markdown).toContain(heading);
  });

  it('keeps every required key, as null with the reason, when a benchmark cannot run', () => {
    const machine = { date: '2026-11-29T00:00:00.000Z', os: 'Linux', cpuModel: 'test', cores: 2, memoryGb: 24, loadAverageAtStart: [0, 0, 0], node: 'v20', redis: null, pwsh: null };
    const results = assembleResults(machine, { slackAck: { ok: false, reason: 'the Slack receiver is not there' } });
    for (const key of REQUIRED_KEYS) expect(valueAt(results, key), key).toBeNull();
    expect(valueAt(results, 'slackAck.notRun')).toBe('the Slack receiver is not there');
  });
});
