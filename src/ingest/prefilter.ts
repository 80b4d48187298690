/**
 * The cheap test a raw record passes before it is parsed. Every event the analysis uses (see
 * isUsedEvent) carries one of these words in every export shape — as a field name in JSON and XML,
 * as a label in a rendered message, or in its channel name:
 *   Sysmon 1   ParentCommandLine        Security 4688  NewProcessName / New Process Name
 *   Sysmon 19  EventNamespace           Security 4662  ObjectServer / Object Server, then WMI
 *   Sysmon 20  Destination (the field: followed by " ' : or \, so not DestinationIp)
 *   Sysmon 21  Consumer                 WMI-Activity   WMI-Activity (channel, provider)
 * PowerShell records (ScriptBlockText, Scriptblock text, ContextInfo, HostApplication, Host
 * Application) count only when their raw text also shows WMI object creation, which is all the
 * analysis keeps of them; JSON and XML escaping leave the words of that pattern intact.
 * A record failing the test cannot be a used event, so it is skipped unparsed; one passing is
 * parsed and selected by isUsedEvent (a superset, never a miss). test/ingest/prefilter.test.ts
 * proves on the real datasets that the shortcut yields exactly the events a full parse does.
 */
import { RELEVANT_EVENT_IDS } from '../domain/origin/relevant-events.js';
import { EVENT_ID_FIELD_NAMES, integerValue } from './flat-record.js';
import { WordScanner } from './word-scanner.js';

const SCRIPT_WORDS = new Set(['ScriptBlockText', 'Scriptblock text', 'ContextInfo', 'HostApplication', 'Host Application']);
const CANDIDATE_WORDS = [
  'ParentCommandLine',
  'NewProcessName',
  'New Process Name',
  'EventNamespace',
  'Destination',
  'Consumer',
  'WMI-Activity',
  'ObjectServer',
  'Object Server',
  ...SCRIPT_WORDS,
];
const CANDIDATE_SOURCE = groupedByFirstCharacter(CANDIDATE_WORDS);
const OBJECT_SERVER_WMI = /(?:ObjectServer\W{1,12}|Object Server:\s*)WMI\b/y;

/**
 * Every alternative of the WMI-creation pattern contains one of these; one case-insensitive pass for
 * them is much faster than the pattern over long script records, and a superset. They are the
 * longest words that still cover every alternative (test/ingest/prefilter.test.ts): long words
 * both let the JSON-lines scan skip further and occur by chance far less than 'wmi' or 'cim' did.
 * (A lower-cased copy searched once per anchor was the cost of script-heavy exports: a copy of
 * every long record, then eight passes over it.)
 */
export const WMI_CREATION_ANCHORS = ['instance', 'register', 'eventfilter', 'consumer', 'autorecover', 'mofcomp', 'wmic', '.put('];
const escapedForPattern = (word: string) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const WMI_CREATION_ANCHOR_PATTERN = new RegExp(WMI_CREATION_ANCHORS.map(escapedForPattern).join('|'), 'i');

function mayShowWmiCreation(text: string): boolean {
  return WMI_CREATION_ANCHOR_PATTERN.test(text);
}

/** `P(?:arentCommandLine)|N(?:ewProcessName|ew Process Name)|...`: the same words, scanned about 1.4x faster. */
function groupedByFirstCharacter(words: readonly string[]): string {
  const groups = new Map<string, string[]>();
  for (const word of words) {
    const rest = groups.get(word[0]!) ?? [];
    rest.push(word.slice(1));
    groups.set(word[0]!, rest);
  }
  return [...groups].map(([first, rests]) => `${first}(?:${rests.join('|')})`).join('|');
}

/** Whether the raw text of one record may be a used event. */
export function passesPrefilter(text: string): boolean {
  // Fresh per call: a global pattern's lastIndex is scan state.
  const pattern = new RegExp(CANDIDATE_SOURCE, 'g');
  let scriptChecked = false;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const word = match[0];
    const at = match.index;
    if (word === 'Destination') {
      const next = text[at + word.length];
      // `\` for XML held in a JSON string (Name=\"Destination\").
      if (next === '"' || next === "'" || next === ':' || next === '\\') return true;
    } else if (word === 'ObjectServer' || word === 'Object Server') {
      OBJECT_SERVER_WMI.lastIndex = at;
      if (OBJECT_SERVER_WMI.test(text)) return true;
    } else if (SCRIPT_WORDS.has(word)) {
      if (!scriptChecked) {
        scriptChecked = true;
        if (mayShowWmiCreation(text)) return true;
      }
    } else {
      return true;
    }
  }
  return false;
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;
/** Under V8's large-object threshold (128 KiB of one-byte text), so segment strings are young garbage. */
const SEGMENT_BYTES = 96 * 1024;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const MINUS = 0x2d;

/** An event-id field name as a JSON key, or a `\u` escape (which could spell any word). */
const ID_FIELD_OR_ESCAPE = new RegExp(`"(?:${EVENT_ID_FIELD_NAMES.join('|')})"|\\\\u`, 'g');

const WordKind = { Decisive: 0, Destination: 1, ObjectServer: 2, Script: 3, Anchor: 4 } as const;
type WordKind = (typeof WordKind)[keyof typeof WordKind];

/** The scan skips up to this many bytes less one at a step, so the words it looks for are at least this long. */
const SCANNED_WORD_BYTES = 8;

const LINE_WORDS: ReadonlyArray<{ word: string; kind: WordKind }> = [
  ...CANDIDATE_WORDS.map((word) => ({
    word,
    kind: SCRIPT_WORDS.has(word)
      ? WordKind.Script
      : word === 'Destination'
        ? WordKind.Destination
        : word === 'ObjectServer' || word === 'Object Server'
          ? WordKind.ObjectServer
          : WordKind.Decisive,
  })),
  ...WMI_CREATION_ANCHORS.filter((word) => word.length >= SCANNED_WORD_BYTES).map((word) => ({ word, kind: WordKind.Anchor })),
];
const LINE_SCANNER = new WordScanner(LINE_WORDS.map(({ word }) => word));
/**
 * The anchors too short for the skipping scan, searched (only in lines holding a script word and
 * no longer anchor) by a case-insensitive expression: three words run at 2-3 GB/s where eight ran
 * at 250-300 MB/s (and four, with '#pragma', at 370 MB/s: hence 'autorecover' for that one).
 */
const SHORT_ANCHOR_PATTERN = new RegExp(WMI_CREATION_ANCHORS.filter((word) => word.length < SCANNED_WORD_BYTES).map(escapedForPattern).join('|'), 'i');
const BACKSLASH_U = Buffer.from('\\u', 'latin1');
const LINE_WORD_BYTES = LINE_WORDS.map(({ word }) => Buffer.from(word, 'latin1'));

/**
 * Long stretches of text recur from line to line: PowerShell writes a session's whole command line
 * (HostApplication, often a long -enc blob) into every pipeline and engine record, and shippers
 * add a rendered copy of the data. A stretch of a rejected line holding no quote, backslash or
 * newline and none of the words the test looks for is remembered (a few, by their bytes); where it
 * occurs again, only its edges are searched. Any word the test looks for (LINE_WORDS, the short
 * anchors, `\u`) that overlaps the stretch's core — the stretch less `CLEAN_EDGE_BYTES` at each
 * end — is at most one byte longer than that margin, so it lies wholly inside the stretch, where
 * none is: skipping the core changes no answer. (The id test needs the same margin: its matches
 * start with a quote or a backslash, which such a stretch never holds.)
 */
const CLEAN_EDGE_BYTES = Math.max(...LINE_WORDS.map(({ word }) => word.length), ...WMI_CREATION_ANCHORS.map((word) => word.length), BACKSLASH_U.length) - 1;
const MIN_CLEAN_RUN_BYTES = 1024;
const MAX_CLEAN_RUN_BYTES = 64 * 1024;
const CLEAN_RUNS_KEPT = 4;
/** Only lines this long are searched for clean stretches: on shorter ones the search costs more than it saves. */
const LONG_LINE_BYTES = 4096;
/** A stretch is looked for by its first bytes (a native search several times faster than for all of it), then compared whole. */
const CLEAN_RUN_PROBE_BYTES = 64;
/** Long rejected lines between two attempts to remember a stretch, so lines that share none pay for few attempts. */
const LINES_BETWEEN_ATTEMPTS = 16;
/** Bytes a clean stretch never holds: a quote or backslash (an escape could spell a word), a line break. */
const ENDS_PLAIN_TEXT = Uint8Array.from({ length: 256 }, (_, byte) => (byte === NEWLINE || byte === 0x0d || byte === QUOTE || byte === BACKSLASH ? 1 : 0));

/**
 * The prefilter of JSON lines, on raw bytes, one block of whole lines at a time. A line is parsed
 * only when it passes two tests, each of which every used event passes:
 *
 * 1. Event id: some event-id field of the line (EVENT_ID_FIELD_NAMES, as a key anywhere in it)
 *    holds an id some family uses (RELEVANT_EVENT_IDS), or a value that cannot be judged on its
 *    bytes (an object such as evtx_dump's {"#text":…}, a string with an escape), or the line has
 *    no such field at all (so that the parser reports it). The record's id is the value of one of
 *    those fields, so a line where all of them are irrelevant holds no used event.
 *    Most lines (Sysmon 10 process access, network, registry, logons) stop here, after one
 *    regular-expression pass for the field names.
 * 2. Words: passesPrefilter's test, run as one skipping case-folding scan over the line's bytes
 *    (candidate words in their exact case, the longer WMI-creation anchors in any case), then a
 *    native search for `\u` escapes and, in script records only, one for the short anchors.
 *
 * A JSON `\u` escape can spell any letter of a field name or word, so a line holding one anywhere
 * skips both tests and is parsed. The tests never reject a line the full parse would keep
 * (test/ingest/json-lines-prefilter.test.ts, and the exactness tests on real and replicated data).
 */
export class JsonLinesPrefilter {
  private bytes: Buffer = Buffer.alloc(0);
  private blockEnd = 0;
  /** The latin1 text of bytes[textStart, textEnd): whole lines, at most SEGMENT_BYTES unless one line is longer. */
  private text = '';
  private textStart = 0;
  private textEnd = 0;
  private readonly idPattern = new RegExp(ID_FIELD_OR_ESCAPE.source, 'g');
  /** The next id field or escape at or after the line being tested: where it starts and ends in the block (-1: unknown). */
  private nextAt = -1;
  private nextEnd = -1;
  private lineEnd = 0;
  private scriptSeen = false;
  private anchorSeen = false;
  /** Clean stretches of earlier lines, most recently useful first (see CLEAN_EDGE_BYTES). */
  private readonly cleanRuns: Buffer[] = [];
  /** The line's stretches to search: [from, to) pairs, the cores of clean stretches left out. */
  private readonly pieces: number[] = [];
  /** Where every word the scan reported in the line starts and ends. */
  private readonly found: number[] = [];
  private longLinesUntilAttempt = 0;

  /** A new block; lines are then tested in order with `mayBeUsed`. `end` is where its whole lines end. */
  startBlock(bytes: Buffer, end: number): void {
    this.bytes = bytes;
    this.blockEnd = end;
    this.text = '';
    this.textStart = 0;
    this.textEnd = 0;
    this.nextAt = -1;
  }

  /** Whether the line bytes[start, end) of the block may be a used event. */
  mayBeUsed(start: number, end: number): boolean {
    if (end > this.textEnd) this.decodeSegment(start, end);
    const skipped = this.findPieces(start, end);
    if (skipped === 0) return this.mayHaveRelevantId(start, end) && this.mayHaveWords(start, end, 0);
    return this.mayHaveRelevantIdInPieces(start, end) && this.mayHaveWords(start, end, skipped);
  }

  /**
   * Text is decoded a segment of lines at a time, not a whole block: strings under V8's
   * large-object size die young in the scavenger instead of piling up in the old generation until a
   * full collection (peak RSS at 100k records: 163-191 MB with 1 MiB strings, 140-146 MB with these).
   */
  private decodeSegment(start: number, lineEnd: number): void {
    let segmentEnd = lineEnd;
    if (start + SEGMENT_BYTES < this.blockEnd) {
      const lastNewline = this.bytes.lastIndexOf(NEWLINE, start + SEGMENT_BYTES);
      if (lastNewline > lineEnd) segmentEnd = lastNewline;
    } else {
      segmentEnd = this.blockEnd;
    }
    this.text = this.bytes.toString('latin1', start, segmentEnd);
    this.textStart = start;
    this.textEnd = segmentEnd;
    this.nextAt = -1;
  }

  private mayHaveRelevantId(start: number, end: number): boolean {
    let sawIdField = false;
    for (;;) {
      if (this.nextAt < start) this.findNext(start);
      // A line with no event-id field at all goes on: the parser reports it as no event record.
      if (this.nextAt >= end) return !sawIdField;
      const verdict =
        this.bytes[this.nextAt] === BACKSLASH
          ? isUnicodeEscape(this.bytes, start, this.nextAt)
            ? IdVerdict.MayBeRelevant
            : IdVerdict.NotAKey
          : idVerdict(this.bytes, this.nextEnd, end);
      if (verdict === IdVerdict.MayBeRelevant) {
        this.nextAt = -1;
        return true;
      }
      if (verdict === IdVerdict.Irrelevant) sawIdField = true;
      this.findNext(this.nextEnd);
    }
  }

  /** mayHaveRelevantId over `pieces`: no id field name or escape can overlap a clean stretch's core. */
  private mayHaveRelevantIdInPieces(start: number, end: number): boolean {
    const pieces = this.pieces;
    const pattern = this.idPattern;
    this.nextAt = -1;
    let sawIdField = false;
    for (let at = 0; at < pieces.length; at += 2) {
      const from = pieces[at]!;
      const text = this.text.slice(from - this.textStart, pieces[at + 1]! - this.textStart);
      pattern.lastIndex = 0;
      for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
        const matchAt = from + match.index;
        const verdict =
          this.bytes[matchAt] === BACKSLASH
            ? isUnicodeEscape(this.bytes, start, matchAt)
              ? IdVerdict.MayBeRelevant
              : IdVerdict.NotAKey
            : idVerdict(this.bytes, matchAt + match[0].length, end);
        if (verdict === IdVerdict.MayBeRelevant) return true;
        if (verdict === IdVerdict.Irrelevant) sawIdField = true;
      }
    }
    return !sawIdField;
  }

  private findNext(from: number): void {
    this.idPattern.lastIndex = from - this.textStart;
    const match = this.idPattern.exec(this.text);
    this.nextAt = match ? this.textStart + match.index : Number.MAX_SAFE_INTEGER;
    this.nextEnd = match ? this.nextAt + match[0].length : Number.MAX_SAFE_INTEGER;
  }

  private mayHaveWords(start: number, end: number, skipped: number): boolean {
    this.lineEnd = end;
    this.scriptSeen = false;
    this.anchorSeen = false;
    this.found.length = 0;
    const pieces = this.pieces;
    for (let at = 0; at < pieces.length; at += 2) {
      if (LINE_SCANNER.scan(this.bytes, pieces[at]!, pieces[at + 1]!, this.onWord)) return true;
    }
    for (let at = 0; at < pieces.length; at += 2) {
      if (this.hasUnicodeEscape(start, pieces[at]!, pieces[at + 1]!)) return true;
    }
    if (this.scriptSeen) {
      for (let at = 0; at < pieces.length; at += 2) {
        if (SHORT_ANCHOR_PATTERN.test(this.text.slice(pieces[at]! - this.textStart, pieces[at + 1]! - this.textStart))) return true;
      }
    }
    // A long line mostly unknown may hold a stretch that later lines repeat.
    if (end - start >= LONG_LINE_BYTES && skipped * 2 < end - start && --this.longLinesUntilAttempt <= 0) {
      this.longLinesUntilAttempt = LINES_BETWEEN_ATTEMPTS;
      this.rememberCleanRun(start, end);
    }
    return false;
  }

  /**
   * Sets `pieces` to the line less the cores of the clean stretches found in it (the whole line
   * when none is); returns how many bytes that leaves out.
   */
  private findPieces(start: number, end: number): number {
    const pieces = this.pieces;
    pieces.length = 0;
    if (this.cleanRuns.length > 0 && end - start >= LONG_LINE_BYTES) {
      const line = this.bytes.subarray(start, end);
      const cores: Array<[number, number]> = [];
      let covered = 0;
      for (let which = 0; which < this.cleanRuns.length && covered * 2 < line.length; which += 1) {
        const run = this.cleanRuns[which]!;
        const probe = run.subarray(0, CLEAN_RUN_PROBE_BYTES);
        const before = cores.length;
        for (let at = line.indexOf(probe); at >= 0 && at + run.length <= line.length; at = line.indexOf(probe, at + 1)) {
          if (line.compare(run, 0, run.length, at, at + run.length) !== 0) continue;
          cores.push([start + at + CLEAN_EDGE_BYTES, start + at + run.length - CLEAN_EDGE_BYTES]);
          covered += run.length;
          at += run.length - 1;
        }
        if (cores.length > before && which > 0) this.cleanRuns.unshift(...this.cleanRuns.splice(which, 1));
      }
      if (cores.length > 0) {
        cores.sort((a, b) => a[0] - b[0]);
        let from = start;
        let skipped = 0;
        for (const [coreStart, coreEnd] of cores) {
          if (coreEnd <= from) continue;
          if (coreStart > from) pieces.push(from, coreStart);
          skipped += coreEnd - Math.max(from, coreStart);
          from = coreEnd;
        }
        if (from < end) pieces.push(from, end);
        return skipped;
      }
    }
    pieces.push(start, end);
    return 0;
  }

  /**
   * Remembers the longest stretch of a rejected line with no quote, backslash (so no escape) or
   * line break in which the scan reported no word and no short anchor occurs: such a stretch
   * holds nothing the test looks for, wherever it occurs again.
   */
  private rememberCleanRun(start: number, end: number): void {
    let bestStart = 0;
    let bestEnd = 0;
    let runStart = start;
    for (let at = start; at <= end; at += 1) {
      if (at === end || ENDS_PLAIN_TEXT[this.bytes[at]!] === 1) {
        if (at - runStart > bestEnd - bestStart) {
          bestStart = runStart;
          bestEnd = at;
        }
        runStart = at + 1;
      }
    }
    if (bestEnd - bestStart < MIN_CLEAN_RUN_BYTES) return;
    bestEnd = Math.min(bestEnd, bestStart + MAX_CLEAN_RUN_BYTES);
    const found = this.found;
    for (let at = 0; at < found.length; at += 2) {
      if (found[at]! < bestEnd && found[at + 1]! > bestStart) {
        // A word reported inside the stretch: keep the longer clean side of it, if long enough.
        if (found[at]! - bestStart >= bestEnd - found[at + 1]!) bestEnd = found[at]!;
        else bestStart = found[at + 1]!;
        if (bestEnd - bestStart < MIN_CLEAN_RUN_BYTES) return;
        at = -2;
      }
    }
    if (SHORT_ANCHOR_PATTERN.test(this.text.slice(bestStart - this.textStart, bestEnd - this.textStart))) return;
    this.cleanRuns.unshift(Buffer.from(this.bytes.subarray(bestStart, bestEnd)));
    if (this.cleanRuns.length > CLEAN_RUNS_KEPT) this.cleanRuns.pop();
  }

  private hasUnicodeEscape(lineStart: number, from: number, to: number): boolean {
    const piece = this.bytes.subarray(from, to);
    for (let at = piece.indexOf(BACKSLASH_U); at >= 0; at = piece.indexOf(BACKSLASH_U, at + 1)) {
      if (isUnicodeEscape(this.bytes, lineStart, from + at)) return true;
    }
    return false;
  }

  private readonly onWord = (index: number, wordEnd: number): boolean => {
    this.found.push(wordEnd - LINE_WORD_BYTES[index]!.length, wordEnd);
    const { kind } = LINE_WORDS[index]!;
    if (kind === WordKind.Anchor) {
      this.anchorSeen = true;
      return this.scriptSeen;
    }
    const wordStart = wordEnd - LINE_WORD_BYTES[index]!.length;
    if (this.bytes.compare(LINE_WORD_BYTES[index]!, 0, LINE_WORD_BYTES[index]!.length, wordStart, wordEnd) !== 0) return false;
    switch (kind) {
      case WordKind.Decisive:
        return true;
      case WordKind.Destination: {
        const next = wordEnd < this.lineEnd ? this.bytes[wordEnd] : undefined;
        // `\` for XML held in a JSON string (Name=\"Destination\").
        return next === QUOTE || next === 0x27 || next === COLON || next === BACKSLASH;
      }
      case WordKind.ObjectServer:
        OBJECT_SERVER_WMI.lastIndex = wordStart - this.textStart;
        return OBJECT_SERVER_WMI.test(this.text) && this.textStart + OBJECT_SERVER_WMI.lastIndex <= this.lineEnd;
      case WordKind.Script:
        this.scriptSeen = true;
        return this.anchorSeen;
    }
  };
}

const IdVerdict = { NotAKey: 0, Irrelevant: 1, MayBeRelevant: 2 } as const;
type IdVerdict = (typeof IdVerdict)[keyof typeof IdVerdict];

/**
 * What the JSON value after an event-id field name (at `at`, just past its closing quote) says:
 * not a key (no colon follows), an id no family uses (or no id at all: true, false, null, an
 * array), or an id that is relevant or cannot be judged from its bytes.
 */
function idVerdict(bytes: Buffer, at: number, end: number): IdVerdict {
  let position = skipSpace(bytes, at, end);
  if (bytes[position] !== COLON || position >= end) return IdVerdict.NotAKey;
  position = skipSpace(bytes, position + 1, end);
  if (position >= end) return IdVerdict.MayBeRelevant;
  const first = bytes[position]!;
  let id: number | null;
  if (first === QUOTE) {
    let close = position + 1;
    while (close < end && bytes[close] !== QUOTE) {
      if (bytes[close] === BACKSLASH) return IdVerdict.MayBeRelevant;
      close += 1;
    }
    if (close >= end) return IdVerdict.MayBeRelevant;
    id = decimalDigitsValue(bytes, position + 1, close) ?? integerValue(bytes.toString('utf8', position + 1, close));
  } else if (first === MINUS || (first >= 0x30 && first <= 0x39)) {
    let stop = position + 1;
    while (stop < end && isNumberByte(bytes[stop]!)) stop += 1;
    id = decimalDigitsValue(bytes, position, stop) ?? integerValue(Number(bytes.toString('latin1', position, stop)));
  } else {
    // An object is evtx_dump's EventID with attributes ({"#text": 4104}); true, false, null and arrays are no id.
    return first === OPEN_BRACE ? IdVerdict.MayBeRelevant : IdVerdict.Irrelevant;
  }
  return isRelevantId(id) ? IdVerdict.MayBeRelevant : IdVerdict.Irrelevant;
}

/**
 * The value of bytes[from, to) when they are 1 to 15 decimal digits, which both integerValue
 * paths read as exactly that number; null for anything else, left to them. Most lines are judged
 * on such an id, and a string per id was a tenth of the prefilter's time.
 */
export function decimalDigitsValue(bytes: Buffer, from: number, to: number): number | null {
  if (to <= from || to - from > 15) return null;
  let value = 0;
  for (let at = from; at < to; at += 1) {
    const digit = bytes[at]! - 0x30;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Whether the backslash at `at` starts a `\u` escape: one that is not itself escaped, i.e. preceded
 * by an even number of backslashes (`C:\\Users` is an escaped backslash, then a `U`).
 */
function isUnicodeEscape(bytes: Buffer, lineStart: number, at: number): boolean {
  let before = at;
  while (before > lineStart && bytes[before - 1] === BACKSLASH) before -= 1;
  return (at - before) % 2 === 0;
}

function isRelevantId(id: number | null): boolean {
  return id !== null && RELEVANT_EVENT_IDS.has(id);
}

function skipSpace(bytes: Buffer, at: number, end: number): number {
  let position = at;
  while (position < end && (bytes[position] === 0x20 || bytes[position] === 0x09 || bytes[position] === 0x0d)) position += 1;
  return position;
}

function isNumberByte(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || byte === 0x2e || byte === 0x65 || byte === 0x45 || byte === 0x2b || byte === MINUS;
}
