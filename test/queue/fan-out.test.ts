import { describe, expect, it } from 'vitest';
import { fanOutPlan, hostBatches, MOST_HOSTS_PER_JOB } from '../../src/queue/fan-out.js';

const fleet = (count: number) => Array.from({ length: count }, (_, index) => `h${index}`);

describe('fan-out plan', () => {
  it('never lets jobs x hosts per job exceed the global limit, nor a job exceed the worker limit', () => {
    for (const workerConcurrency of [1, 4, 8, 25, 30, 199, 200, 1000]) {
      for (const globalConcurrency of [1, 7, 20, 30, 199, 200, 10_000]) {
        const plan = fanOutPlan({ workerConcurrency, globalConcurrency });
        expect(plan.jobsAtOnce * plan.hostsAtOncePerJob).toBeLessThanOrEqual(globalConcurrency);
        expect(plan.hostsAtOncePerJob).toBeLessThanOrEqual(Math.max(1, Math.min(workerConcurrency, globalConcurrency)));
        expect(plan.hostsAtOncePerJob).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('uses the whole global limit when it divides evenly: 200 hosts as 8 jobs of 25', () => {
    expect(fanOutPlan({ workerConcurrency: 200, globalConcurrency: 200 })).toEqual({ jobsAtOnce: 8, hostsAtOncePerJob: 25 });
    expect(fanOutPlan({ workerConcurrency: 8, globalConcurrency: 200 })).toEqual({ jobsAtOnce: 25, hostsAtOncePerJob: 8 });
  });
});

describe('host batches', () => {
  it('keeps every host once, in order, in near-equal batches filling every job slot', () => {
    for (const [count, slots] of [
      [1, 8],
      [12, 8],
      [1_000, 8],
      [10_000, 8],
      [50_000, 25],
      [1_001, 3],
    ] as const) {
      const hosts = fleet(count);
      const batches = hostBatches(hosts, slots);
      expect(batches.flat()).toEqual(hosts);
      const sizes = batches.map((batch) => batch.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(MOST_HOSTS_PER_JOB);
      if (count >= slots) expect(batches.length % slots).toBe(0);
    }
  });

  it('gives a small hunt one host per job, and a fleet 125-host batches across 8 slots', () => {
    expect(hostBatches(fleet(3), 8)).toEqual([['h0'], ['h1'], ['h2']]);
    expect(hostBatches(fleet(1_000), 8).map((batch) => batch.length)).toEqual(Array(8).fill(125));
    expect(hostBatches(fleet(10_000), 8)).toHaveLength(80);
  });
});
