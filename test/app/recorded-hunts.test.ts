import { describe, expect, it } from 'vitest';
import { RecordedHunts, type RecordedHost } from '../../src/app/recorded-hunts.js';
import { hostResult } from '../support/host-result.js';

const recorded = (host: string, findingChars = 0): RecordedHost => ({
  result: hostResult(host, { findings: findingChars > 0 ? 1 : 0 }),
  findings: [],
  findingTexts: findingChars > 0 ? ['x'.repeat(findingChars)] : [],
});

describe('hosts kept as they are recorded, for the finalize', () => {
  it('gives every host of the hunt, in the hunt order, only once each one is kept', () => {
    const kept = new RecordedHunts(1 << 20);
    kept.add('H1', [recorded('b'), recorded('a')], 2);
    expect(kept.covering('H1', ['a', 'b', 'c'])).toBeNull();
    kept.add('H1', [recorded('c')], 3);
    expect(kept.covering('H1', ['a', 'b', 'c'])?.map((host) => host.result.host)).toEqual(['a', 'b', 'c']);
    expect(kept.covering('H2', [])).toBeNull();
  });

  it('does not stand in for a hunt whose hosts differ from those kept', () => {
    const kept = new RecordedHunts(1 << 20);
    kept.add('H1', [recorded('a'), recorded('b')], 2);
    expect(kept.covering('H1', ['a', 'B'])).toBeNull();
    expect(kept.covering('H1', ['a'])).toBeNull();
    expect(kept.covering('H1', ['a', 'b', 'b'])).toBeNull();
  });

  it('keeps the last recording of a host recorded again (Redis lost the first), counting it once', () => {
    const kept = new RecordedHunts(1 << 20);
    kept.add('H1', [recorded('a', 10)], 1);
    const again = recorded('a', 20);
    kept.add('H1', [again], 1);
    expect(kept.covering('H1', ['a'])).toEqual([again]);
  });

  it('gives up a hunt as soon as a write shows hosts recorded by another process', () => {
    const kept = new RecordedHunts(1 << 20);
    kept.add('H1', [recorded('a', 100)], 1);
    // This process's next write finds three hosts counted: one of them was recorded elsewhere.
    kept.add('H1', [recorded('b', 100)], 3);
    expect(kept.keptChars).toBe(0);
    kept.add('H1', [recorded('c')], 3);
    expect(kept.covering('H1', ['a', 'b', 'c'])).toBeNull();

    // A write that recorded nothing new (its hosts were done elsewhere) says so too.
    kept.add('H2', [recorded('a', 100)], 1);
    kept.add('H2', [], 2);
    expect(kept.keptChars).toBe(0);
    expect(kept.covering('H2', ['a'])).toBeNull();
  });

  it('forgets the oldest hunt to make room, and gives up a hunt that cannot fit alone', () => {
    // Each host costs its findings' text plus about 1 KB.
    const kept = new RecordedHunts(6_000);
    kept.add('old', [recorded('a', 2_000)], 1);
    kept.add('new', [recorded('a', 1_000)], 1);
    expect(kept.covering('old', ['a'])).not.toBeNull();
    kept.add('new', [recorded('b', 1_000)], 2);
    expect(kept.covering('old', ['a'])).toBeNull();
    expect(kept.covering('new', ['a', 'b'])).not.toBeNull();
    expect(kept.keptChars).toBeLessThanOrEqual(6_000);

    kept.add('huge', [recorded('a', 1_000), recorded('b', 4_000)], 2);
    expect(kept.covering('huge', ['a', 'b'])).toBeNull();
    expect(kept.covering('new', ['a', 'b'])).not.toBeNull();
    // Given up for good: later hosts are not kept either, so a partial hunt never looks whole.
    kept.add('huge', [recorded('c')], 3);
    expect(kept.covering('huge', ['c'])).toBeNull();
    expect(kept.keptChars).toBeLessThanOrEqual(6_000);
  });

  it('releases a hunt when it is dropped', () => {
    const kept = new RecordedHunts(1 << 20);
    kept.add('H1', [recorded('a', 100)], 1);
    expect(kept.keptChars).toBeGreaterThan(100);
    kept.drop('H1');
    expect(kept.keptChars).toBe(0);
    expect(kept.covering('H1', ['a'])).toBeNull();
  });

  it('keeps nothing with a budget of 0', () => {
    const kept = new RecordedHunts(0);
    kept.add('H1', [recorded('a')], 1);
    expect(kept.covering('H1', ['a'])).toBeNull();
    expect(kept.keptChars).toBe(0);
  });
});
