import { describe, expect, it } from 'vitest';
import { shareStrings, type StringPool } from '../../../src/domain/origin/shared-strings.js';

describe('sharing equal strings', () => {
  it('leaves every value of a tree of objects and arrays as it was', () => {
    const long = 'powershell.exe -NoProfile -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA';
    const tree = () => ({ id: 'a1', action: `${long}`, reasons: [{ rule: 'r', message: `ran ${long}` }], origin: { evidence: [{ time: '2024-01-01T10:00:00.000Z', recordId: 7 }], chain: [[`${long}`, null, 3, true]] }, deleted: null });
    const pool: StringPool = new Map();
    const first = shareStrings(tree(), pool);
    const second = shareStrings(tree(), pool);
    expect(first).toEqual(tree());
    expect(second).toEqual(tree());
    expect([...pool.keys()].sort()).toEqual([long, `ran ${long}`].sort());
  });

  it('stops adding to the pool at its bound', () => {
    const pool: StringPool = new Map();
    const texts = Array.from({ length: 100_010 }, (_, index) => `a distinct text of some length, number ${index}`);
    expect(shareStrings(texts, pool)).toHaveLength(100_010);
    expect(pool.size).toBe(100_000);
    expect(texts.at(-1)).toBe('a distinct text of some length, number 100009');
  });
});
