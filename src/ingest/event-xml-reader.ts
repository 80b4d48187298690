import { basename } from 'node:path';
import { isUsedEvent } from '../domain/origin/relevant-events.js';
import { MAX_RECORD_BYTES } from './json-lines-reader.js';
import { passesPrefilter } from './prefilter.js';
import type { EventReader, ReadItem, ReadOptions } from './reader.js';
import { headText, utf8Chunks } from './text-chunks.js';
import { eventRecordFromParts, EventPartsError, type WindowsEventParts } from './windows-event.js';

/**
 * Windows event XML as `wevtutil qe /f:xml`, Get-WinEvent's ToXml() and python-evtx's evtx_dump
 * write it: `<Event>` elements, under an `<Events>` root or not, with or without the event
 * namespace (element prefixes are ignored). Each `<Event>...</Event>` is cut from the text stream
 * and parsed on its own by a strict walker, so one malformed event is reported and the rest still read.
 */
export const eventXmlReader: EventReader = {
  name: 'event-xml',
  detect(head) {
    const text = headText(head).trimStart();
    return text.startsWith('<') && /<(?:\w+:)?Event[\s>]/.test(text);
  },
  read: readEventXml,
};

const EVENT_OPEN = /<(?:\w+:)?Event[\s>]/g;
const EVENT_CLOSE = /<\/(?:\w+:)?Event\s*>/g;

async function* readEventXml(path: string, options: ReadOptions): AsyncGenerator<ReadItem> {
  const relevantOnly = options.relevantOnly ?? true;
  const source = basename(path);
  let pending = '';
  let pendingOffset = 0;
  let index = 0;
  for await (const chunk of utf8Chunks(path, options.onProgress)) {
    pending += chunk.toString('utf8');
    let consumed = 0;
    let cursorChar = 0;
    let cursorByte = pendingOffset;
    const byteOffset = (charIndex: number): number => {
      cursorByte += Buffer.byteLength(pending.slice(cursorChar, charIndex));
      cursorChar = charIndex;
      return cursorByte;
    };
    for (;;) {
      EVENT_OPEN.lastIndex = consumed;
      const open = EVENT_OPEN.exec(pending);
      if (!open) {
        consumed = Math.max(consumed, pending.length - 16);
        break;
      }
      EVENT_CLOSE.lastIndex = open.index;
      const close = EVENT_CLOSE.exec(pending);
      if (!close) {
        consumed = open.index;
        break;
      }
      const end = close.index + close[0].length;
      const nextOpen = (EVENT_OPEN.lastIndex = open.index + 1, EVENT_OPEN.exec(pending));
      index += 1;
      const at = byteOffset(open.index);
      if (nextOpen && nextOpen.index < close.index) {
        yield problemAt(source, index, at, 'event truncated (a new <Event> starts before </Event>)');
        consumed = nextOpen.index;
        continue;
      }
      yield* parseEvent(pending.slice(open.index, end), source, index, at, relevantOnly);
      consumed = end;
    }
    pendingOffset = byteOffset(consumed);
    pending = pending.slice(consumed);
    if (pending.length > MAX_RECORD_BYTES) {
      index += 1;
      yield problemAt(source, index, pendingOffset, `event longer than ${MAX_RECORD_BYTES} bytes skipped`);
      pendingOffset += Buffer.byteLength(pending);
      pending = '';
    }
  }
  EVENT_OPEN.lastIndex = 0;
  const leftover = EVENT_OPEN.exec(pending);
  if (leftover) yield problemAt(source, index + 1, pendingOffset, 'event truncated at end of file');
}

function* parseEvent(xml: string, source: string, index: number, at: number, relevantOnly: boolean): Generator<ReadItem> {
  if (relevantOnly && !passesPrefilter(xml)) return;
  let parts: WindowsEventParts;
  try {
    parts = partsFromEventXml(ownCopy(xml));
  } catch (error) {
    yield problemAt(source, index, at, `malformed event XML: ${(error as Error).message.split('\n')[0]}`);
    return;
  }
  try {
    const event = eventRecordFromParts(parts);
    if (!relevantOnly || isUsedEvent(event)) yield { kind: 'event', event, source, position: `event #${index} at byte ${at}` };
  } catch (error) {
    if (!(error instanceof EventPartsError)) throw error;
    yield problemAt(source, index, at, `not an event record: ${error.message}`);
  }
}

/**
 * The event's text in a string of its own. A slice of the chunk text shares the whole chunk in V8,
 * so every field cut from it would keep its chunk alive as long as the event index keeps the field:
 * memory would grow with the input instead of with the events kept.
 */
function ownCopy(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
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
  walkXml(xml, {
    open(rawName, attributes) {
      const name = localName(rawName);
      if (hasChild.length > 0) hasChild[hasChild.length - 1] = true;
      stack.push(name);
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
        if (name === 'EventID') parts.eventId = toInteger(value);
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
