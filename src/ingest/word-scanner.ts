/**
 * Finds many words in raw bytes, ASCII letter case ignored, by skipping: a set-wise Horspool
 * search on byte pairs (Wu-Manber). The last two bytes under a window as long as the shortest word
 * tell how far no word can start, so most steps move several bytes at once (6.3 on average over
 * PowerShell records with words of 8 bytes or more) with no state carried from one byte to the
 * next. The Aho-Corasick automaton it replaces looked at every byte through a chain of dependent
 * table loads: 170-250 MB/s over PowerShell records, against 900-970 MB/s for this with the same
 * words (docs/PERFORMANCE.md). Callers that need a word in its exact case check the bytes at the
 * reported position.
 */
export class WordScanner {
  readonly words: readonly string[];
  /** Bytes of a window: the length of the shortest word. */
  private readonly window: number;
  /**
   * How far the window may move when its last two bytes are this pair. Every letter case of a pair
   * has its entry, so the loop folds nothing (folding each byte by table cost a fifth of the speed).
   */
  private readonly shift: Uint8Array;
  /** Words whose first `window` bytes end in this pair (case folded), when its shift is 0. */
  private readonly candidates: Array<readonly number[] | undefined>;
  private readonly folded: readonly Uint8Array[];

  constructor(words: readonly string[]) {
    this.words = words;
    this.folded = words.map((word) => Uint8Array.from(Buffer.from(word, 'latin1'), foldCase));
    this.window = Math.min(...this.folded.map((word) => word.length));
    // A pair of bytes decides each shift (at most window - 1), so words of two bytes would never skip.
    if (!(this.window >= 3) || this.window > 256) throw new Error('words must be 3 to 256 bytes long');
    const window = this.window;
    this.shift = new Uint8Array(0x10000).fill(window - 1);
    this.candidates = [];
    this.folded.forEach((word, index) => {
      for (let at = 1; at < window; at += 1) {
        for (const first of caseVariants(word[at - 1]!)) {
          for (const second of caseVariants(word[at]!)) {
            const pair = (first << 8) | second;
            this.shift[pair] = Math.min(this.shift[pair]!, window - 1 - at);
          }
        }
      }
      const last = (word[window - 2]! << 8) | word[window - 1]!;
      this.candidates[last] = [...(this.candidates[last] ?? []), index];
    });
  }

  /**
   * Scans bytes[start, end) and calls `onWord(wordIndex, endExclusive)` for every word found (in
   * any letter case) that lies wholly inside it, in order of where the words start; stops as soon
   * as `onWord` returns true. True when it stopped.
   */
  scan(bytes: Uint8Array, start: number, end: number, onWord: (word: number, wordEnd: number) => boolean): boolean {
    const last = this.window - 1;
    let at = start + last;
    while (at < end) {
      // The hot loop lives in a plain function over locals: V8 optimizes it far better than a method.
      at = nextCandidate(this.shift, bytes, at, end);
      if (at >= end) return false;
      const wordStart = at - last;
      for (const word of this.candidates[(FOLD[bytes[at - 1]!]! << 8) | FOLD[bytes[at]!]!]!) {
        const folded = this.folded[word]!;
        const wordEnd = wordStart + folded.length;
        if (wordEnd <= end && matchesFolded(bytes, wordStart, folded) && onWord(word, wordEnd)) return true;
      }
      at += 1;
    }
    return false;
  }
}

const FOLD = Uint8Array.from({ length: 256 }, (_, byte) => foldCase(byte));

/** The first window end at or after `from` whose last two bytes may end a word's first window; `end` or beyond when none. */
function nextCandidate(shift: Uint8Array, bytes: Uint8Array, from: number, end: number): number {
  let at = from;
  while (at < end) {
    const step = shift[(bytes[at - 1]! << 8) | bytes[at]!]!;
    if (step === 0) return at;
    at += step;
  }
  return at;
}

function matchesFolded(bytes: Uint8Array, at: number, folded: Uint8Array): boolean {
  for (let index = 0; index < folded.length; index += 1) {
    if (FOLD[bytes[at + index]!] !== folded[index]) return false;
  }
  return true;
}

function caseVariants(folded: number): number[] {
  return folded >= 0x61 && folded <= 0x7a ? [folded, folded - 0x20] : [folded];
}

function foldCase(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
}
