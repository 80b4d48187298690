import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { HostSlots } from '../../src/queue/host-slots.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('host slots', () => {
  it('runs at most its size at once and serves waiters in arrival order', async () => {
    const slots = new HostSlots(2);
    const started: number[] = [];
    const releases: Array<() => void> = [];
    const runs = [0, 1, 2, 3].map((index) =>
      slots.run(new AbortController().signal, async () => {
        started.push(index);
        await new Promise<void>((resolve) => releases.push(resolve));
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    releases[1]!();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    releases[0]!();
    await tick();
    expect(started).toEqual([0, 1, 2, 3]);
    releases[2]!();
    releases[3]!();
    await Promise.all(runs);
  });

  it('lets an aborted waiter leave the line without taking a slot, and frees a slot when work throws', async () => {
    const slots = new HostSlots(1);
    let release!: () => void;
    const holder = slots.run(new AbortController().signal, () => new Promise<void>((resolve) => (release = resolve)));
    const leaving = new AbortController();
    const waiter = slots.run(leaving.signal, async () => 'ran');
    leaving.abort(new Error('shutdown'));
    await expect(waiter).rejects.toThrow('shutdown');
    release();
    await holder;
    await expect(slots.run(new AbortController().signal, async () => Promise.reject(new Error('host failed')))).rejects.toThrow('host failed');
    expect(await slots.run(new AbortController().signal, async () => 'next')).toBe('next');
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => new HostSlots(0)).toThrow(expect.objectContaining({ code: ErrorCode.Config }));
  });
});
