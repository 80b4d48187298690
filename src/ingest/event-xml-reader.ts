import { basename } from 'node:path';
import type { EventRecord } from '../domain/event-record.js';
import { ownString } from '../domain/origin/event-index.js';
import { eventFamily, isRelevantEvent, isUsedEvent, RELEVANT_EVENT_IDS } from '../domain/origin/relevant-events.js';
import { MAX_RECORD_BYTES } from './json-lines-reader.js';
import { decimalDigitsValue, WMI_CREATION_ANCHORS } from './prefilter.js';
import type { EventReader, ReadItem, ReadOptions } from './reader.js';
import { headText, utf8Chunks } from './text-chunks.js';
import { eventRecordFromParts, EventPartsError, type WindowsEventParts } from './windows-event.js';
import { WordScanner } from './word-scanner.js';

/**
 * Windows event XML as `wevtutil qe /f:xml`, Get-WinEvent's ToXml() and python-evtx's evtx_dump
 * write it: `<Event>` elements, under an `<Events>` root or not, with or without the event
 * namespace (element prefixes are ignored). Each `<Event>...</Event>` is cut from the raw UTF-8
 * bytes and parsed on its own by a strict walker, so one malformed event is reported and the rest
 * still read. With relevantOnly, an event is decoded and parsed only when its System element (read
 * in place from the bytes) names a relevant channel and event id, and, for PowerShell records,
 * when its bytes may show WMI object creation: the rest of an export is never decoded.
 */
export const eventXmlReader: EventReader = {
  name: 'event-xml',
  detect(head) {
    const text = headText(head).trimStart();
    return text.startsWith('<') && /<(?:\w+:)?Event[\s>]/.test(text);
  },
  read: readEventXml,
};

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const COLON = 0x3a;
const AMP = 0x26;
const EVENT = Buffer.from('Event');
const SYSTEM = Buffer.from('System');
const PROVIDER = Buffer.from('Provider');
const EVENT_ID = Buffer.from('EventID');
const CHANNEL = Buffer.from('Channel');
const NAME_ATTRIBUTE = Buffer.from('Name');
const SOURCE_NAME_ATTRIBUTE = Buffer.from('EventSourceName');
const EQUALS = 0x3d;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
/** How far back from a block's end an `<Event` (or `<prefix:Event`) cut by the block's end may start. */
const OPEN_TAG_TAIL = 1024;

/** An `<Event ...>` start or an `</Event>` end tag, by byte position; `more` when the bytes stop before it can be told. */
interface EventTag {
  kind: 'open' | 'close' | 'more';
  /** Its `<`. */
  start: number;
  /** Its `Event`. */
  name: number;
  /** After its `Event` (open) or its `>` (close). */
  end: number;
}

async function* readEventXml(path: string, options: ReadOptions): AsyncGenerator<ReadItem> {
  const relevantOnly = options.relevantOnly ?? true;
  const source = basename(path);
  let carry: Buffer | null = null;
  // Stream offset of the carry (and so of each block's first byte) in the UTF-8 text.
  let offset = 0;
  // Where, in the carry, the search for the end of its first event resumes (the bytes before were searched).
  let resumeAt = 0;
  let index = 0;
  // Filled by systemFieldsOf for each event in turn: one object for the whole read, not one per event.
  const system = newSystemFields();

  function* cut(block: Buffer, final: boolean): Generator<ReadItem, number> {
    let at = 0;
    for (;;) {
      const open = openTagAfterSpace(block, at) ?? nextEventTag(block, at, at, final, false);
      if (open === null) return tailStart(block, at);
      if (open.kind === 'more') return open.start;
      // The System element read in place holds no Event tag (systemFieldsOf makes sure), so the end
      // tag is searched for after it; an event resumed from the last block was searched already.
      const systemTried = relevantOnly && resumeAt === 0;
      const systemRead = systemTried ? systemFieldsOf(block, open.start, block.length, system) : null;
      const searchFrom = systemRead === null ? Math.max(open.end, resumeAt) : system.readTo;
      const next = nextEventTag(block, open.start + 1, searchFrom, final, true);
      resumeAt = 0;
      if (next === null || next.kind === 'more') {
        resumeAt = (next === null ? Math.max(open.end, block.length - EVENT.length) : next.name) - open.start;
        return open.start;
      }
      index += 1;
      const byte = offset + open.start;
      if (next.kind === 'open') {
        yield problemAt(source, index, byte, 'event truncated (a new <Event> starts before </Event>)');
        at = next.start;
        continue;
      }
      if (!relevantOnly || !cannotBeUsed(block, next.end, systemTried ? systemRead : systemFieldsOf(block, open.start, next.end, system))) yield* readEvent(block, open.start, next.end, source, index, byte, relevantOnly);
      at = next.end;
    }
  }

  // The carry and the next chunk are joined in one reused buffer, not a new one per chunk: decoded
  // strings are copies, so nothing keeps a view of it past the chunk.
  let joined = Buffer.allocUnsafe(0);
  // The chunks' buffers are reused: a carry (a view of a chunk) is copied into `joined` as soon as the next chunk comes.
  for await (const chunk of utf8Chunks(path, options.onProgress, true)) {
    let block = chunk;
    if (carry) {
      const length = carry.length + chunk.length;
      if (joined.length < length) {
        const larger = Buffer.allocUnsafe(Math.max(length, joined.length * 2));
        carry.copy(larger, 0);
        joined = larger;
      } else {
        carry.copy(joined, 0);
      }
      chunk.copy(joined, carry.length);
      block = joined.subarray(0, length);
    }
    const kept = yield* cut(block, false);
    offset += kept;
    carry = kept < block.length ? block.subarray(kept) : null;
    if (carry && carry.length > MAX_RECORD_BYTES) {
      index += 1;
      yield problemAt(source, index, offset, `event longer than ${MAX_RECORD_BYTES} bytes skipped`);
      offset += carry.length;
      carry = null;
      resumeAt = 0;
    }
  }
  if (!carry) return;
  const kept = yield* cut(carry, true);
  if (nextEventTag(carry, kept, kept, true, false)) yield problemAt(source, index + 1, offset + kept, 'event truncated at end of file');
}

/**
 * The next `<Event` start tag (followed by white space or `>`), or with `orEnd` the next start or
 * `</Event>` end tag, namespace prefixes allowed, starting at or after `from` (its `Event` at or
 * after `searchFrom`): the tags the patterns `<(?:\w+:)?Event[\s>]` and `<\/(?:\w+:)?Event\s*>`
 * find in the decoded text, found on the raw bytes (every byte of a multi-byte UTF-8 character is
 * above 0x7f, so ASCII matches the same). Without `final`, a tag the block's end may still
 * complete is `more`.
 */
function nextEventTag(bytes: Buffer, from: number, searchFrom: number, final: boolean, orEnd: boolean): EventTag | null {
  for (let name = bytes.indexOf(EVENT, searchFrom); name >= 0; name = bytes.indexOf(EVENT, name + EVENT.length)) {
    const start = tagStartBefore(bytes, name);
    if (start < from) continue;
    const closing = bytes[start + 1] === SLASH;
    const after = name + EVENT.length;
    if (!closing) {
      const space = jsSpaceLength(bytes, after);
      if (space < 0) {
        if (final) continue;
        return { kind: 'more', start, name, end: after };
      }
      if (space > 0 || bytes[after] === GT) return { kind: 'open', start, name, end: after };
      continue;
    }
    if (!orEnd) continue;
    let at = after;
    for (let space = jsSpaceLength(bytes, at); space > 0; space = jsSpaceLength(bytes, at)) at += space;
    if (at >= bytes.length || jsSpaceLength(bytes, at) < 0) {
      if (final) continue;
      return { kind: 'more', start, name, end: after };
    }
    if (bytes[at] === GT) return { kind: 'close', start, name, end: at + 1 };
  }
  return null;
}

/**
 * The `<Event` start tag right after ASCII white space from `at`, as events follow one another, or
 * null: then nextEventTag searches. It is the tag nextEventTag would find, as white space holds no
 * `Event`.
 */
function openTagAfterSpace(bytes: Buffer, at: number): EventTag | null {
  const start = skipAsciiSpace(bytes, at, bytes.length);
  const name = start + 1;
  if (bytes[start] !== LT || !sameBytes(bytes, name, EVENT, 0, EVENT.length)) return null;
  const after = name + EVENT.length;
  return bytes[after] === GT || jsSpaceLength(bytes, after) > 0 ? { kind: 'open', start, name, end: after } : null;
}

/** The `<` of the tag whose name ends in the `Event` at `name` (`<Event`, `</Event`, `<p:Event`, `</p:Event`), or -1. */
function tagStartBefore(bytes: Buffer, name: number): number {
  let at = name - 1;
  if (bytes[at] === COLON) {
    at -= 1;
    while (at >= 0 && isWordByte(bytes[at]!)) at -= 1;
    if (at === name - 2) return -1;
  }
  if (bytes[at] === LT) return at;
  return bytes[at] === SLASH && bytes[at - 1] === LT ? at - 1 : -1;
}

/** Where the bytes worth keeping start when no `<Event` is left from `from`: an `<` near the end may begin one. */
function tailStart(bytes: Buffer, from: number): number {
  const lastTag = bytes.lastIndexOf(LT);
  return lastTag >= from && lastTag >= bytes.length - OPEN_TAG_TAIL ? lastTag : bytes.length;
}

function isWordByte(byte: number): boolean {
  return (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x5f;
}

function isAsciiSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/**
 * Bytes of the character at `at` when it is white space to a JavaScript `\s` (as the walker and the
 * tag patterns see the decoded text: ASCII, NBSP, the Unicode spaces, line separators, BOM), 0 when
 * it is not, -1 when the bytes end before the character does.
 */
function jsSpaceLength(bytes: Buffer, at: number): number {
  const byte = bytes[at];
  if (byte === undefined) return -1;
  if (byte < 0x80) return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d) ? 1 : 0;
  if (byte === 0xc2) {
    const next = bytes[at + 1];
    if (next === undefined) return -1;
    return next === 0xa0 ? 2 : 0;
  }
  if (byte !== 0xe1 && byte !== 0xe2 && byte !== 0xe3 && byte !== 0xef) return 0;
  const second = bytes[at + 1];
  const third = bytes[at + 2];
  if (second === undefined || third === undefined) return -1;
  if ((second & 0xc0) !== 0x80 || (third & 0xc0) !== 0x80) return 0;
  const code = ((byte & 0x0f) << 12) | ((second & 0x3f) << 6) | (third & 0x3f);
  return /\s/.test(String.fromCharCode(code)) ? 3 : 0;
}

function* readEvent(bytes: Buffer, start: number, end: number, source: string, index: number, at: number, relevantOnly: boolean): Generator<ReadItem> {
  let parts: WindowsEventParts;
  try {
    // A string decoded from the bytes is the event's own: fields cut from it pin this event, never the block.
    parts = partsFromEventXml(bytes.toString('utf8', start, end));
  } catch (error) {
    yield problemAt(source, index, at, `malformed event XML: ${(error as Error).message.split('\n')[0]}`);
    return;
  }
  try {
    const event = eventRecordFromParts(parts);
    if (!relevantOnly || isUsedEvent(event)) yield { kind: 'event', event: withOwnStrings(event), source, position: `event #${index} at byte ${at}` };
  } catch (error) {
    if (!(error instanceof EventPartsError)) throw error;
    yield problemAt(source, index, at, `not an event record: ${error.message}`);
  }
}

/**
 * The event with each string its own. Fields cut from the event's text share that text in V8 (a
 * slice of 13 characters or more points into its parent), so a kept event held its whole XML: 2.5 KB
 * on average, 27 MB of the heap after reading a million records. A concatenation sliced back is a
 * fresh string of its own (one character longer); short ones are copies already.
 */
function withOwnStrings(event: EventRecord): EventRecord {
  // Entries (not assignments), so a field named __proto__ stays a field, as in the record.
  const data = Object.fromEntries(Object.entries(event.data).map(([name, value]) => [name, ownString(value)]));
  return {
    ...event,
    host: ownString(event.host),
    channel: ownString(event.channel),
    provider: ownString(event.provider),
    time: ownString(event.time),
    data,
    ...(event.userSid !== undefined ? { userSid: ownString(event.userSid) } : {}),
  };
}

/**
 * True only when a full parse of the event cannot give an event isUsedEvent keeps: its System names
 * no relevant channel and event id, or it is a PowerShell record whose bytes hold none of the
 * WMI-creation anchors. The anchors are tested on the raw bytes, which show every character of the
 * decoded text but for character references and text split by comments, CDATA or processing
 * instructions: an event with any of those is parsed.
 */
function cannotBeUsed(bytes: Buffer, end: number, system: SystemFields | null): boolean {
  if (system === null) return false;
  if (system.unusedEventId || system.eventId === null) return true;
  const kind = usedKindOf(bytes, system);
  if (kind === 'unused') return true;
  // The walker's EventData and UserData, where a script record's text is, come after the System element.
  return kind === 'script' && !mayShowWmiCreation(bytes, system.systemEnd, end);
}

/**
 * Whether the bytes hold a WMI-creation anchor (ASCII letter case ignored), `&#`, `<!` or `<?`:
 * the long anchors by the skipping scan (1.2 GB/s over script records), the rest by one
 * case-insensitive expression over the latin1 text (a byte per character, so /i folds ASCII
 * letters only, as the scan does). One expression for all of them ran at 250-350 MB/s.
 */
function mayShowWmiCreation(bytes: Buffer, start: number, end: number): boolean {
  return LONG_ANCHOR_SCANNER.scan(bytes, start, end, foundWord) || SHORT_ANCHOR_OR_HIDDEN_TEXT.test(bytes.toString('latin1', start, end));
}

const foundWord = () => true;

type UsedKind = 'unused' | 'used' | 'script';

interface RememberedKind {
  eventId: number;
  channel: Buffer;
  provider: Buffer;
  kind: UsedKind;
}

/**
 * isRelevantEvent's answer (and whether a PowerShell record's text decides) by event id and the raw
 * bytes of Channel and Provider, remembered: an export repeats a few of them, and this spares
 * decoding them for every event.
 */
const rememberedKinds = new Map<number, RememberedKind>();
const KINDS_REMEMBERED = 4096;

function usedKindOf(bytes: Buffer, system: SystemFields): UsedKind {
  const eventId = system.eventId!;
  const hash = hashBytes(bytes, system.providerStart, system.providerEnd, hashBytes(bytes, system.channelStart, system.channelEnd, eventId | 0));
  const remembered = rememberedKinds.get(hash);
  if (
    remembered &&
    remembered.eventId === eventId &&
    remembered.channel.length === system.channelEnd - system.channelStart &&
    remembered.provider.length === system.providerEnd - system.providerStart &&
    sameBytes(bytes, system.channelStart, remembered.channel, 0, remembered.channel.length) &&
    sameBytes(bytes, system.providerStart, remembered.provider, 0, remembered.provider.length)
  ) {
    return remembered.kind;
  }
  const channel = bytes.toString('utf8', system.channelStart, system.channelEnd).trim();
  const provider = bytes.toString('utf8', system.providerStart, system.providerEnd);
  const kind: UsedKind = !isRelevantEvent({ channel, provider, eventId }) ? 'unused' : eventFamily(channel, provider) === 'powershell' ? 'script' : 'used';
  if (rememberedKinds.size >= KINDS_REMEMBERED) rememberedKinds.clear();
  rememberedKinds.set(hash, {
    eventId,
    channel: Buffer.from(bytes.subarray(system.channelStart, system.channelEnd)),
    provider: Buffer.from(bytes.subarray(system.providerStart, system.providerEnd)),
    kind,
  });
  return kind;
}

/** FNV-1a over [from, to), continuing from `seed`. */
function hashBytes(bytes: Buffer, from: number, to: number, seed: number): number {
  let hash = (seed ^ 0x811c9dc5) >>> 0;
  for (let at = from; at < to; at += 1) hash = Math.imul(hash ^ bytes[at]!, 0x01000193);
  return Math.imul(hash ^ 0xff, 0x01000193) >>> 0;
}

/** The scan skips up to this many bytes less one at a step: anchors at least this long go to it. */
const SCANNED_ANCHOR_BYTES = 8;
const LONG_ANCHOR_SCANNER = new WordScanner(WMI_CREATION_ANCHORS.filter((anchor) => anchor.length >= SCANNED_ANCHOR_BYTES));
const SHORT_ANCHOR_OR_HIDDEN_TEXT = new RegExp(
  [...WMI_CREATION_ANCHORS.filter((anchor) => anchor.length < SCANNED_ANCHOR_BYTES).map((anchor) => anchor.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), '&#', '<[!?]'].join('|'),
  'i',
);

/**
 * Event id, where Channel's text and Provider's name are in the bytes (an empty range when absent:
 * both read as ''), where the System element ends, and how far the bytes were read.
 */
interface SystemFields {
  eventId: number | null;
  /** The event id alone rules the event out: the reading stopped after it, and only eventId and readTo are set. */
  unusedEventId: boolean;
  channelStart: number;
  channelEnd: number;
  providerStart: number;
  providerEnd: number;
  systemEnd: number;
  /** Where the reading stopped: the bytes before hold no `<` but at the start of the tags read, none of them an Event tag. */
  readTo: number;
}

function newSystemFields(): SystemFields {
  return { eventId: null, unusedEventId: false, channelStart: 0, channelEnd: 0, providerStart: 0, providerEnd: 0, systemEnd: 0, readTo: 0 };
}

/**
 * The System fields that decide whether an event can be used, read in place from its bytes when the
 * event starts the way Windows writes it: the root start tag, then `<System>` (prefixed or not)
 * whose children are each empty or hold plain text, white space between. Anything else (comments,
 * CDATA, a child with children, an entity in EventID or Channel, an odd end tag) gives null and the
 * event is parsed in full. Where it reads, it reads what the walker reads, and the walker refuses a
 * second System element or EventID, so the two agree on every event the walker accepts; an event
 * id no family uses ends the reading there (unusedEventId). A `<` inside a tag, or a child named
 * `Event` or `prefix:Event`, gives null too: then no Event tag is in the bytes read, and the cutting
 * may search for the end tag from readTo.
 */
function systemFieldsOf(bytes: Buffer, start: number, end: number, fields: SystemFields): SystemFields | null {
  const rootEnd = tagEndAt(bytes, start + 1, end);
  if (rootEnd < 0 || bytes[rootEnd - 1] === SLASH) return null;
  let at = skipAsciiSpace(bytes, rootEnd + 1, end);
  if (bytes[at] !== LT) return null;
  const sectionStart = at + 1;
  const sectionEnd = nameEndAt(bytes, sectionStart, end);
  if (sectionEnd < 0 || bytes[sectionEnd] !== GT || !hasLocalName(bytes, sectionStart, sectionEnd, SYSTEM)) return null;
  fields.eventId = null;
  fields.unusedEventId = false;
  fields.channelStart = fields.channelEnd = fields.providerStart = fields.providerEnd = fields.systemEnd = 0;
  // The last Provider's attributes (the walker keeps the last), read only once the event id leaves the event in question.
  let providerFrom = -1;
  let providerTo = -1;
  at = sectionEnd + 1;
  for (;;) {
    at = skipAsciiSpace(bytes, at, end);
    if (at >= end || bytes[at] !== LT) return null;
    if (bytes[at + 1] === SLASH) {
      if (!isEndTagAt(bytes, at, end, sectionStart, sectionEnd)) return null;
      fields.systemEnd = fields.readTo = at + (sectionEnd - sectionStart) + 3;
      return providerFrom < 0 || readProviderName(bytes, providerFrom, providerTo, fields) ? fields : null;
    }
    const nameStart = at + 1;
    const nameEnd = nameEndAt(bytes, nameStart, end);
    if (nameEnd < 0 || endsWithEvent(bytes, nameStart, nameEnd)) return null;
    const tagEnd = tagEndAt(bytes, nameEnd, end);
    if (tagEnd < 0) return null;
    const selfClosing = bytes[tagEnd - 1] === SLASH;
    if (!(nameEnd === tagEnd || (selfClosing && nameEnd === tagEnd - 1) || isAsciiSpace(bytes[nameEnd]))) return null;
    const field = systemFieldNamed(bytes, nameStart, nameEnd);
    if (field === PROVIDER) {
      providerFrom = nameEnd;
      providerTo = selfClosing ? tagEnd - 1 : tagEnd;
    }
    let textStart = tagEnd + 1;
    let textEnd = textStart;
    if (selfClosing) {
      at = tagEnd + 1;
    } else {
      textEnd = byteIndex(bytes, LT, textStart, end);
      if (textEnd < 0 || !isEndTagAt(bytes, textEnd, end, nameStart, nameEnd)) return null;
      at = textEnd + (nameEnd - nameStart) + 3;
    }
    if (field === EVENT_ID) {
      const digits = plainDigits(bytes, textStart, textEnd);
      if (digits === NOT_PLAIN) return null;
      // The walker refuses a second EventID, so no later one can make this event used.
      if (digits === null || !RELEVANT_EVENT_IDS.has(digits)) {
        fields.unusedEventId = true;
        fields.readTo = at;
        return fields;
      }
      fields.eventId = digits;
    } else if (field === CHANNEL) {
      if (byteIndex(bytes, AMP, textStart, textEnd) >= 0) return null;
      fields.channelStart = textStart;
      fields.channelEnd = textEnd;
    }
  }
}

const NOT_PLAIN = -1;

/**
 * The `>` ending a tag whose name ends before `from`, or -1, also when a `<` comes first: the walker
 * refuses a `<` in a tag, and with none there a tag read in place hides no Event tag.
 */
function tagEndAt(bytes: Buffer, from: number, to: number): number {
  for (let at = from; at < to; at += 1) {
    const byte = bytes[at];
    if (byte === GT) return at;
    if (byte === LT) return -1;
  }
  return -1;
}

/** Whether the element name [from, to) ends in `Event` (`Event`, `p:Event` would be an Event tag to the cutting). */
function endsWithEvent(bytes: Buffer, from: number, to: number): boolean {
  return to - from >= EVENT.length && sameBytes(bytes, to - EVENT.length, EVENT, 0, EVENT.length);
}

/**
 * An EventID's text as the walker's toInteger reads it (trimmed, 1 to 15 digits, else null) when it
 * is ASCII digits between ASCII white space; NOT_PLAIN when it holds anything else (the walker decides).
 */
function plainDigits(bytes: Buffer, from: number, to: number): number | null {
  const first = skipAsciiSpace(bytes, from, to);
  let last = to;
  while (last > first && isAsciiSpace(bytes[last - 1])) last -= 1;
  if (first === last) return null;
  return decimalDigitsValue(bytes, first, last) ?? NOT_PLAIN;
}

function skipAsciiSpace(bytes: Buffer, at: number, end: number): number {
  while (at < end && isAsciiSpace(bytes[at])) at += 1;
  return at;
}

/** The first `byte` in [from, to), or -1: a loop, cheaper than Buffer#indexOf over the few bytes of a tag. */
function byteIndex(bytes: Buffer, byte: number, from: number, to: number): number {
  for (let at = from; at < to; at += 1) if (bytes[at] === byte) return at;
  return -1;
}

/** The end of an element name that starts at `at` (the walker's NAME: a letter or `_`, then word characters, `.`, `:`, `-`), or -1. */
function nameEndAt(bytes: Buffer, at: number, end: number): number {
  const first = bytes[at];
  if (first === undefined || !(isWordByte(first) && !(first >= 0x30 && first <= 0x39))) return -1;
  let index = at + 1;
  while (index < end) {
    const byte = bytes[index]!;
    if (!(isWordByte(byte) || byte === 0x2e || byte === COLON || byte === 0x2d)) break;
    index += 1;
  }
  return index;
}

function systemFieldNamed(bytes: Buffer, from: number, to: number): Buffer | null {
  const local = localNameStart(bytes, from, to);
  const length = to - local;
  if (length === PROVIDER.length) return sameBytes(bytes, local, PROVIDER, 0, length) ? PROVIDER : null;
  if (length !== EVENT_ID.length) return null;
  if (sameBytes(bytes, local, EVENT_ID, 0, length)) return EVENT_ID;
  return sameBytes(bytes, local, CHANNEL, 0, length) ? CHANNEL : null;
}

/** Where the local part of the name [from, to) starts: after its first `:`, as the walker's localName cuts it. */
function localNameStart(bytes: Buffer, from: number, to: number): number {
  for (let at = from; at < to; at += 1) if (bytes[at] === COLON) return at + 1;
  return from;
}

/** Whether the name [from, to) is `local` after its first `:` (as the walker's localName cuts it). */
function hasLocalName(bytes: Buffer, from: number, to: number, local: Buffer): boolean {
  const localStart = localNameStart(bytes, from, to);
  return to - localStart === local.length && sameBytes(bytes, localStart, local, 0, local.length);
}

/** Whether `</name>` (the name at [nameStart, nameEnd), no white space) starts at `at`. */
function isEndTagAt(bytes: Buffer, at: number, end: number, nameStart: number, nameEnd: number): boolean {
  const length = nameEnd - nameStart;
  const close = at + 2 + length;
  return close < end && bytes[at + 1] === SLASH && bytes[close] === GT && sameBytes(bytes, at + 2, bytes, nameStart, length);
}

function sameBytes(a: Buffer, aFrom: number, b: Buffer, bFrom: number, length: number): boolean {
  for (let index = 0; index < length; index += 1) if (a[aFrom + index] !== b[bFrom + index]) return false;
  return true;
}

/**
 * Sets the provider range to Provider's Name, else its EventSourceName, else none, as the walker's
 * attributesOf reads the attributes in [from, to); false when they are not plain (ASCII white space,
 * quoted values without `<` or entities), and the walker decides.
 */
function readProviderName(bytes: Buffer, from: number, to: number, fields: SystemFields): boolean {
  let name = -1;
  let nameEnd = -1;
  let sourceName = -1;
  let sourceNameEnd = -1;
  let at = from;
  for (;;) {
    const attributeStart = skipAsciiSpace(bytes, at, to);
    if (attributeStart === to) break;
    if (attributeStart === at) return false;
    const attributeEnd = nameEndAt(bytes, attributeStart, to);
    if (attributeEnd < 0) return false;
    const equals = skipAsciiSpace(bytes, attributeEnd, to);
    if (equals >= to || bytes[equals] !== EQUALS) return false;
    const open = skipAsciiSpace(bytes, equals + 1, to);
    const quote = bytes[open];
    if (open >= to || (quote !== DOUBLE_QUOTE && quote !== SINGLE_QUOTE)) return false;
    const close = byteIndex(bytes, quote, open + 1, to);
    if (close < 0 || byteIndex(bytes, LT, open + 1, close) >= 0 || byteIndex(bytes, AMP, open + 1, close) >= 0) return false;
    if (isNameAt(bytes, attributeStart, attributeEnd, NAME_ATTRIBUTE)) {
      name = open + 1;
      nameEnd = close;
    } else if (isNameAt(bytes, attributeStart, attributeEnd, SOURCE_NAME_ATTRIBUTE)) {
      sourceName = open + 1;
      sourceNameEnd = close;
    }
    at = close + 1;
  }
  if (name >= 0) {
    fields.providerStart = name;
    fields.providerEnd = nameEnd;
  } else if (sourceName >= 0) {
    fields.providerStart = sourceName;
    fields.providerEnd = sourceNameEnd;
  } else {
    fields.providerStart = fields.providerEnd = 0;
  }
  return true;
}

function isNameAt(bytes: Buffer, from: number, to: number, name: Buffer): boolean {
  return to - from === name.length && sameBytes(bytes, from, name, 0, name.length);
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

/** The System, EventData and UserData parts of one `<Event>` element. */
export function partsFromEventXml(xml: string): WindowsEventParts {
  const parts: WindowsEventParts = {
    provider: null,
    eventId: null,
    recordId: null,
    channel: null,
    computer: null,
    systemTime: null,
    eventData: {},
    userData: {},
    processId: null,
    userSid: null,
  };
  const stack: string[] = [];
  const hasChild: boolean[] = [];
  let textBuffer = '';
  let dataName: string | null = null;
  let unnamedData = 0;
  let systemSeen = false;
  let eventIdSeen = false;
  walkXml(xml, {
    open(rawName, attributes) {
      const name = localName(rawName);
      if (hasChild.length > 0) hasChild[hasChild.length - 1] = true;
      stack.push(name);
      if (stack.length === 2 && name === 'System') {
        // One System per event, as Windows writes it: the fast path reads the first one only.
        if (systemSeen) throw new XmlSyntaxError('more than one System element');
        systemSeen = true;
      }
      hasChild.push(false);
      textBuffer = '';
      const section = stack[1];
      if (section === 'System' && stack.length === 3) {
        if (name === 'Provider') parts.provider = attributes.Name ?? attributes.EventSourceName ?? null;
        else if (name === 'TimeCreated') parts.systemTime = attributes.SystemTime ?? null;
        else if (name === 'Execution') parts.processId = toInteger(attributes.ProcessID);
        else if (name === 'Security') parts.userSid = attributes.UserID ?? null;
      } else if (section === 'EventData' && stack.length === 3) {
        if (attributes.Name) dataName = attributes.Name;
        else {
          dataName = unnamedData === 0 ? name : `${name}${unnamedData}`;
          unnamedData += 1;
        }
      }
    },
    text(value) {
      textBuffer += value;
    },
    close() {
      const name = stack[stack.length - 1]!;
      const section = stack[1];
      const isLeaf = !hasChild[hasChild.length - 1];
      if (section === 'System' && stack.length === 3) {
        const value = textBuffer.trim();
        if (name === 'EventID') {
          // One EventID, as Windows writes it: the fast path decides on the first one.
          if (eventIdSeen) throw new XmlSyntaxError('more than one EventID');
          eventIdSeen = true;
          parts.eventId = toInteger(value);
        }
        else if (name === 'EventRecordID') parts.recordId = toInteger(value);
        else if (name === 'Channel') parts.channel = value;
        else if (name === 'Computer') parts.computer = value;
      } else if (section === 'EventData' && stack.length === 3 && dataName !== null) {
        parts.eventData[dataName] = textBuffer;
        dataName = null;
      } else if (section === 'UserData' && stack.length >= 4 && isLeaf) {
        parts.userData[name] = textBuffer;
      }
      stack.pop();
      hasChild.pop();
      textBuffer = '';
    },
  });
  return parts;
}

interface XmlHandlers {
  open(name: string, attributes: Record<string, string>): void;
  text(value: string): void;
  close(): void;
}

class XmlSyntaxError extends Error {}

const NAME = /^[A-Za-z_][\w.:-]*$/;
const ATTRIBUTE = /\s+([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;

/**
 * A small, strict XML walker for one event: tags by indexOf, attributes by a sticky pattern,
 * entities decoded, end tags checked against start tags. Faster than a general parser on the
 * regular shape Windows writes, and it refuses what is not well-formed.
 */
function walkXml(xml: string, handlers: XmlHandlers): void {
  const open: string[] = [];
  let roots = 0;
  let at = 0;
  while (at < xml.length) {
    const lt = xml.indexOf('<', at);
    const textEnd = lt < 0 ? xml.length : lt;
    if (textEnd > at) {
      const text = xml.slice(at, textEnd);
      if (open.length > 0) handlers.text(decodeEntities(text));
      else if (text.trim() !== '') throw new XmlSyntaxError('text outside the root element');
    }
    if (lt < 0) break;
    if (xml.startsWith('<!--', lt)) {
      at = requireIndex(xml.indexOf('-->', lt + 4), 'unterminated comment') + 3;
    } else if (xml.startsWith('<![CDATA[', lt)) {
      const end = requireIndex(xml.indexOf(']]>', lt + 9), 'unterminated CDATA section');
      if (open.length === 0) throw new XmlSyntaxError('CDATA outside the root element');
      handlers.text(xml.slice(lt + 9, end));
      at = end + 3;
    } else if (xml.startsWith('<?', lt)) {
      at = requireIndex(xml.indexOf('?>', lt + 2), 'unterminated processing instruction') + 2;
    } else if (xml[lt + 1] === '!') {
      throw new XmlSyntaxError('declarations are not expected inside an event');
    } else {
      const gt = requireIndex(xml.indexOf('>', lt + 1), 'unterminated tag');
      const inner = xml.slice(lt + 1, gt);
      at = gt + 1;
      if (inner.startsWith('/')) {
        const name = inner.slice(1).trim();
        const expected = open.pop();
        if (name !== expected) throw new XmlSyntaxError(`</${name}> closes <${expected ?? 'nothing'}>`);
        handlers.close();
        continue;
      }
      const selfClosing = inner.endsWith('/');
      const body = selfClosing ? inner.slice(0, -1) : inner;
      const nameEnd = body.search(/\s|$/);
      const name = body.slice(0, nameEnd);
      if (!NAME.test(name)) throw new XmlSyntaxError(`bad element name "${name.slice(0, 40)}"`);
      if (open.length === 0 && (roots += 1) > 1) throw new XmlSyntaxError('more than one root element');
      handlers.open(name, attributesOf(body, nameEnd));
      if (selfClosing) handlers.close();
      else open.push(name);
    }
  }
  if (open.length > 0) throw new XmlSyntaxError(`<${open[open.length - 1]}> is not closed`);
  if (roots === 0) throw new XmlSyntaxError('no element');
}

function attributesOf(body: string, from: number): Record<string, string> {
  const attributes: Record<string, string> = {};
  let at = from;
  while (at < body.length) {
    if (body.slice(at).trim() === '') break;
    ATTRIBUTE.lastIndex = at;
    const match = ATTRIBUTE.exec(body);
    if (!match) throw new XmlSyntaxError(`bad attribute near "${body.slice(at, at + 40)}"`);
    attributes[match[1]!] = decodeEntities(match[2] ?? match[3] ?? '');
    at = ATTRIBUTE.lastIndex;
  }
  return attributes;
}

const ENTITY = /&(?:(lt|gt|amp|quot|apos)|#(\d{1,7})|#x([0-9a-fA-F]{1,6}));|&/g;
const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY, (whole, named: string | undefined, decimal: string | undefined, hex: string | undefined) => {
    if (named) return NAMED[named]!;
    const code = decimal !== undefined ? Number(decimal) : hex !== undefined ? Number.parseInt(hex, 16) : NaN;
    if (!Number.isInteger(code) || code <= 0 || code > 0x10ffff) throw new XmlSyntaxError(`bad entity ${whole}`);
    return String.fromCodePoint(code);
  });
}

function requireIndex(index: number, message: string): number {
  if (index < 0) throw new XmlSyntaxError(message);
  return index;
}

function toInteger(value: string | undefined): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  return /^\d{1,15}$/.test(trimmed) ? Number(trimmed) : null;
}

function problemAt(source: string, index: number, at: number, message: string): ReadItem {
  return { kind: 'problem', problem: { source, position: `event #${index} at byte ${at}`, message } };
}
