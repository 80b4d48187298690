import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WordScanner } from '../../src/ingest/word-scanner.js';

/** Every (word, end) pair a plain case-insensitive search finds, in order of where the words start. */
function naiveMatches(words: readonly string[], text: string, start: number, end: number): Array<[number, number]> {
  const lower = text.toLowerCase();
  const found: Array<[number, number, number]> = [];
  words.forEach((word, index) => {
    for (let at = lower.indexOf(word.toLowerCase(), start); at >= 0 && at + word.length <= end; at = lower.indexOf(word.toLowerCase(), at + 1)) {
      found.push([at, index, at + word.length]);
    }
  });
  return found.sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, index, wordEnd]) => [index, wordEnd]);
}

function scanned(scanner: WordScanner, text: string, start: number, end: number): Array<[number, number]> {
  const found: Array<[number, number, number]> = [];
  scanner.scan(Buffer.from(text, 'latin1'), start, end, (index, wordEnd) => {
    found.push([wordEnd - scanner.words[index]!.length, index, wordEnd]);
    return false;
  });
  // Words starting at the same byte may come in any order; the starts themselves must ascend.
  expect(found.map(([at]) => at)).toEqual([...found.map(([at]) => at)].sort((a, b) => a - b));
  return found.sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, index, wordEnd]) => [index, wordEnd]);
}

describe('the skipping word scanner', () => {
  it('finds every occurrence of every word, in any letter case, wholly inside the range, exactly as a plain search does', () => {
    // A small alphabet with both letter cases makes overlaps, shared prefixes and near misses common.
    const letter = fc.constantFrom(...'abcABC-."'.split(''));
    const word = fc.array(letter, { minLength: 3, maxLength: 9 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(fc.uniqueArray(word, { minLength: 1, maxLength: 8, selector: (w) => w.toLowerCase() }), fc.array(letter, { maxLength: 300 }), fc.nat(), fc.nat(), (words, chars, a, b) => {
        const text = chars.join('');
        const start = text.length === 0 ? 0 : a % text.length;
        const end = start + (text.length === start ? 0 : b % (text.length - start + 1));
        expect(scanned(new WordScanner(words), text, start, end)).toEqual(naiveMatches(words, text, start, end));
      }),
      { numRuns: 500 },
    );
  });

  it('stops at the first word the caller accepts and says so', () => {
    const scanner = new WordScanner(['consumer', 'instance']);
    const text = Buffer.from('x CONSUMER y Instance z consumer', 'latin1');
    const seen: string[] = [];
    const stopped = scanner.scan(text, 0, text.length, (index, wordEnd) => {
      seen.push(text.toString('latin1', wordEnd - scanner.words[index]!.length, wordEnd));
      return seen.length === 2;
    });
    expect(stopped).toBe(true);
    expect(seen).toEqual(['CONSUMER', 'Instance']);
    expect(scanner.scan(text, 0, 9, () => true)).toBe(false);
  });

  it('refuses words too short to skip by', () => {
    expect(() => new WordScanner(['ab', 'consumer'])).toThrow(/3 to 256 bytes/);
  });
});
