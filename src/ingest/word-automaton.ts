/**
 * Finds many words in raw bytes in one pass, ASCII letter case ignored (an Aho-Corasick automaton
 * turned into a table of byte classes small enough for the L1 cache). One pass finds the
 * case-sensitive candidate words and the case-insensitive WMI anchors together, on bytes, where
 * the regular expressions took a pass each over a decoded string (a case-insensitive alternation
 * of short words is V8's slow case: 230-330 MB/s). Callers that need a word in its exact case check
 * the bytes at the reported position.
 */
export class WordAutomaton {
  /** Next state by `(state << classBits) | classOf[byte]`; states at or above `firstMatching` end at least one word. */
  private readonly table: Uint16Array;
  /** Bytes the words do not use share one class, so the table stays small enough for the L1 cache. */
  private readonly classOf: Uint8Array;
  private readonly classBits: number;
  private readonly firstMatching: number;
  /** Word indices ending at each state (index - firstMatching), longest first. */
  private readonly endings: ReadonlyArray<readonly number[]>;
  readonly words: readonly string[];

  constructor(words: readonly string[]) {
    this.words = words;
    const trie: Array<Map<number, number>> = [new Map()];
    const ends: number[][] = [[]];
    words.forEach((word, index) => {
      let state = 0;
      for (const code of lowerBytes(word)) {
        let next = trie[state]!.get(code);
        if (next === undefined) {
          next = trie.length;
          trie.push(new Map());
          ends.push([]);
          trie[state]!.set(code, next);
        }
        state = next;
      }
      ends[state]!.push(index);
    });
    const count = trie.length;
    if (count >= 0x8000) throw new Error('too many words for one automaton');
    const next = new Int32Array(count * 256);
    const fail = new Int32Array(count);
    const queue: number[] = [];
    for (let byte = 0; byte < 256; byte += 1) {
      const child = trie[0]!.get(byte);
      next[byte] = child ?? 0;
      if (child !== undefined) queue.push(child);
    }
    for (let head = 0; head < queue.length; head += 1) {
      const state = queue[head]!;
      ends[state]!.push(...ends[fail[state]!]!);
      for (let byte = 0; byte < 256; byte += 1) {
        const child = trie[state]!.get(byte);
        if (child === undefined) next[state * 256 + byte] = next[fail[state]! * 256 + byte]!;
        else {
          fail[child] = next[fail[state]! * 256 + byte]!;
          next[state * 256 + byte] = child;
          queue.push(child);
        }
      }
    }
    // Renumber so that matching states come last: the scan loop then tests one comparison per byte.
    const order = [...Array(count).keys()].sort((a, b) => Number(ends[a]!.length > 0) - Number(ends[b]!.length > 0));
    const renamed = new Int32Array(count);
    order.forEach((state, index) => (renamed[state] = index));
    this.firstMatching = order.findIndex((state) => ends[state]!.length > 0);
    if (this.firstMatching < 0) this.firstMatching = count;
    const used = [...new Set(words.flatMap(lowerBytes))];
    this.classOf = new Uint8Array(256);
    for (let byte = 0; byte < 256; byte += 1) this.classOf[byte] = used.indexOf(foldCase(byte)) + 1;
    this.classBits = Math.ceil(Math.log2(used.length + 1));
    const representative = [0, ...used];
    if (used.includes(0)) throw new Error('words may not hold a NUL byte');
    this.table = new Uint16Array(count << this.classBits);
    for (let state = 0; state < count; state += 1) {
      representative.forEach((byte, byteClass) => {
        this.table[(renamed[state]! << this.classBits) | byteClass] = renamed[next[state * 256 + byte]!]!;
      });
    }
    this.endings = order.slice(this.firstMatching).map((state) => [...new Set(ends[state]!)].sort((a, b) => words[b]!.length - words[a]!.length));
  }

  /**
   * Scans bytes[start, end) and calls `onWord(wordIndex, endExclusive)` for every word found (in
   * any letter case), in order of position; stops as soon as `onWord` returns true. True when it stopped.
   */
  scan(bytes: Uint8Array, start: number, end: number, onWord: (word: number, wordEnd: number) => boolean): boolean {
    let state = 0;
    let at = start;
    while (at < end) {
      // The hot loop lives in a plain function over locals: V8 optimizes it far better than a method.
      const found = nextMatch(this.table, this.classOf, this.classBits, this.firstMatching, bytes, state, at, end);
      if (found < 0) return false;
      state = matchState;
      for (const word of this.endings[state - this.firstMatching]!) {
        if (found + 1 - this.words[word]!.length >= start && onWord(word, found + 1)) return true;
      }
      at = found + 1;
    }
    return false;
  }
}

/** The state the last nextMatch stopped in. */
let matchState = 0;

/** Position of the next byte at which a word ends, or -1; leaves the state reached there in matchState. */
function nextMatch(table: Uint16Array, classOf: Uint8Array, classBits: number, firstMatching: number, bytes: Uint8Array, from: number, start: number, end: number): number {
  let state = from;
  for (let at = start; at < end; at += 1) {
    state = table[(state << classBits) | classOf[bytes[at]!]!]!;
    if (state >= firstMatching) {
      matchState = state;
      return at;
    }
  }
  return -1;
}

function foldCase(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
}

function lowerBytes(word: string): number[] {
  return [...Buffer.from(word, 'latin1')].map(foldCase);
}
