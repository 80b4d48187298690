import { describe, expect, it } from 'vitest';
import { HostRecorder, type HostOutcome } from '../../src/app/host-recorder.js';
import { hostResult } from '../support/host-result.js';

const outcome = (host: string): HostOutcome => ({
  result: hostResult(host),
  findings: [],
  audit: null,
});

describe('host recorder', () => {
  it('writes the first outcome at once and gathers those that finish meanwhile into the next write', async () => {
    const writes: string[][] = [];
    let release!: () => void;
    const recorder = new HostRecorder(async (outcomes) => {
      writes.push(outcomes.map((entry) => entry.result.host));
      if (writes.length === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    recorder.add(outcome('a'));
    recorder.add(outcome('b'));
    recorder.add(outcome('c'));
    const settled = recorder.settle();
    release();
    await settled;
    expect(writes).toEqual([['a'], ['b', 'c']]);
  });

  it('writes once on settle when nothing was added, so a job with nothing new still learns the progress', async () => {
    const writes: number[] = [];
    const recorder = new HostRecorder(async (outcomes) => void writes.push(outcomes.length));
    await recorder.settle();
    await recorder.settle();
    expect(writes).toEqual([0]);
  });

  it('keeps a failed write and throws it to the job, without writing again or waiting forever', async () => {
    let calls = 0;
    const recorder = new HostRecorder(async () => {
      calls += 1;
      throw new Error('redis is gone');
    });
    recorder.add(outcome('a'));
    await expect(recorder.settle()).rejects.toThrow('redis is gone');
    recorder.add(outcome('b'));
    await expect(recorder.settle()).rejects.toThrow('redis is gone');
    expect(() => recorder.throwIfFailed()).toThrow('redis is gone');
    expect(calls).toBe(1);
  });
});
