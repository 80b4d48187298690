import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/slack/group-commit.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

const endOfTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('starts work added in one turn together at the end of that turn', async () => {
    const commit = new GroupCommit();
    const started: number[] = [];
    for (const index of [1, 2, 3]) commit.add(async () => void started.push(index));
    expect(started).toEqual([]);
    await endOfTurn();
    expect(started).toEqual([1, 2, 3]);
  });

  it('holds work that arrives while a group is in flight and starts it as one group when that group is done', async () => {
    const commit = new GroupCommit(60_000);
    const first = deferred();
    const started: string[] = [];
    commit.add(async () => {
      started.push('a');
      await first.promise;
    });
    await endOfTurn();
    commit.add(async () => void started.push('b'));
    await endOfTurn();
    commit.add(async () => void started.push('c'));
    await endOfTurn();
    expect(started).toEqual(['a']);
    first.resolve();
    await endOfTurn();
    expect(started).toEqual(['a', 'b', 'c']);
  });

  it('does not hold the next group behind one that never finishes for longer than its limit', async () => {
    const commit = new GroupCommit(20);
    const started: string[] = [];
    commit.add(() => new Promise(() => undefined));
    await endOfTurn();
    commit.add(async () => void started.push('next'));
    await endOfTurn();
    expect(started).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(started).toEqual(['next']);
  });

  it('keeps going after work in a group rejects', async () => {
    const commit = new GroupCommit();
    const started: string[] = [];
    commit.add(() => Promise.reject(new Error('answered elsewhere')));
    await endOfTurn();
    commit.add(async () => void started.push('after'));
    await endOfTurn();
    await endOfTurn();
    expect(started).toEqual(['after']);
  });
});
