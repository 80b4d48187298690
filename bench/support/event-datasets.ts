import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EventRecord } from '../../src/domain/event-record.js';
import { detectReader } from '../../src/ingest/formats.js';

/**
 * Large event exports built from the real recorded datasets (../shared/datasets): records
 * replicated, shuffled (seeded, so runs compare), and with every host renamed per copy, so a copy
 * is another host's log rather than a repeat. One file per input format:
 *
 * - `flat-jsonl`: the flattened (nxlog) lines of the covenant and benign recordings, as recorded.
 * - `winlogbeat-jsonl`: the winlogbeat lines of the empire recording, as recorded.
 * - `evtx-dump-jsonl`: every recorded event in evtx_dump's {"Event":{"System":…,"EventData":…}} layout
 *   (the powerlurk lines as recorded, the others re-laid from their parsed records).
 * - `event-xml`: every recorded event as Windows event XML under <Events> (the wmic recording's
 *   <Event> elements as recorded, the others re-laid).
 *
 * The raw .evtx format is measured by bench/evtx.ts.
 */
export const DATASETS = fileURLToPath(new URL('../../../shared/datasets/', import.meta.url));
export const EVENT_FORMATS = ['flat-jsonl', 'winlogbeat-jsonl', 'evtx-dump-jsonl', 'event-xml'] as const;
export type EventFormat = (typeof EVENT_FORMATS)[number];

interface SourceRecord {
  /** The record's text in the target layout (one line, or one <Event> element). */
  text: string;
  hosts: string[];
}

const FLAT_FILES = ['covenant-persistwmi.mordor.jsonl', 'benign-scm-default.wmi-activity.mordor.jsonl'];
const WINLOGBEAT_FILES = ['empire-elevated-wmi.winlogbeat.jsonl'];
const ALL_FILES = [
  'wmic-commandline-consumer.sysmon.xml',
  'powerlurk-process-start.sysmon.evtx.jsonl',
  'covenant-persistwmi.mordor.jsonl',
  'empire-elevated-wmi.winlogbeat.jsonl',
  'benign-scm-default.wmi-activity.mordor.jsonl',
];

async function parsedRecords(file: string): Promise<EventRecord[]> {
  const path = `${DATASETS}${file}`;
  const reader = await detectReader(path);
  const events: EventRecord[] = [];
  for await (const item of reader.read(path, { relevantOnly: false })) {
    if (item.kind === 'event') events.push(item.event);
  }
  return events;
}

/** Native lines, paired with the host each line's parsed record names (the reader is the judge). */
async function nativeLines(files: string[]): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  for (const file of files) {
    const lines = readFileSync(`${DATASETS}${file}`, 'utf8').split('\n').filter((line) => line.trim() !== '');
    const events = await parsedRecords(file);
    if (events.length !== lines.length) throw new Error(`${file}: ${lines.length} lines but ${events.length} records`);
    lines.forEach((line, index) => records.push({ text: line, hosts: [events[index]!.host] }));
  }
  return records;
}

function evtxDumpLine(event: EventRecord): string {
  const system: Record<string, unknown> = {
    Provider: { '#attributes': { Name: event.provider } },
    EventID: event.eventId,
    TimeCreated: { '#attributes': { SystemTime: event.time } },
    EventRecordID: event.recordId,
    ...(event.processId !== undefined ? { Execution: { '#attributes': { ProcessID: event.processId } } } : {}),
    Channel: event.channel,
    Computer: event.host,
    ...(event.userSid !== undefined ? { Security: { '#attributes': { UserID: event.userSid } } } : {}),
  };
  return JSON.stringify({ Event: { '#attributes': { xmlns: 'http://schemas.microsoft.com/win/2004/08/events/event' }, System: system, EventData: event.data } });
}

function xmlText(value: string): string {
  return value
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '?')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function eventXml(event: EventRecord): string {
  const data = Object.entries(event.data)
    .map(([name, value]) => (value === '' ? `<Data Name="${xmlText(name)}"/>` : `<Data Name="${xmlText(name)}">${xmlText(value)}</Data>`))
    .join('');
  return (
    '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>' +
    `<Provider Name="${xmlText(event.provider)}"/><EventID>${event.eventId}</EventID>` +
    `<TimeCreated SystemTime="${xmlText(event.time)}"/>` +
    (event.recordId !== null ? `<EventRecordID>${event.recordId}</EventRecordID>` : '') +
    (event.processId !== undefined ? `<Execution ProcessID="${event.processId}"/>` : '') +
    `<Channel>${xmlText(event.channel)}</Channel><Computer>${xmlText(event.host)}</Computer>` +
    (event.userSid !== undefined ? `<Security UserID="${xmlText(event.userSid)}"/>` : '') +
    `</System><EventData>${data}</EventData></Event>`
  );
}

async function relaid(nativeFile: string, layout: (event: EventRecord) => string, nativeText: () => string[]): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  for (const file of ALL_FILES) {
    const events = await parsedRecords(file);
    if (file === nativeFile) {
      const texts = nativeText();
      if (texts.length !== events.length) throw new Error(`${file}: ${texts.length} native records but ${events.length} parsed`);
      texts.forEach((text, index) => records.push({ text, hosts: [events[index]!.host] }));
    } else {
      for (const event of events) records.push({ text: layout(event), hosts: [event.host] });
    }
  }
  return records;
}

export async function sourceRecords(format: EventFormat): Promise<SourceRecord[]> {
  switch (format) {
    case 'flat-jsonl':
      return nativeLines(FLAT_FILES);
    case 'winlogbeat-jsonl':
      return nativeLines(WINLOGBEAT_FILES);
    case 'evtx-dump-jsonl':
      return relaid('powerlurk-process-start.sysmon.evtx.jsonl', evtxDumpLine, () =>
        readFileSync(`${DATASETS}powerlurk-process-start.sysmon.evtx.jsonl`, 'utf8').split('\n').filter((line) => line.trim() !== ''),
      );
    case 'event-xml':
      return relaid('wmic-commandline-consumer.sysmon.xml', eventXml, () =>
        readFileSync(`${DATASETS}wmic-commandline-consumer.sysmon.xml`, 'utf8').match(/<Event[\s>][\s\S]*?<\/Event>/g) ?? [],
      );
  }
}

/** A small seeded generator (mulberry32): the same shuffle every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface WrittenDataset {
  path: string;
  format: EventFormat;
  records: number;
  bytes: number;
  sourceRecords: number;
  copies: number;
}

/**
 * Writes `records` records of a format: copy k of the source set renames every host's first label
 * (`IT001.shire.com` -> `IT001-c17.shire.com`, in every field and message that names it), and the
 * order of all records is shuffled across copies.
 */
export async function writeDataset(format: EventFormat, records: number, path: string): Promise<WrittenDataset> {
  const source = await sourceRecords(format);
  const labels = [...new Set(source.flatMap((record) => record.hosts).map((host) => host.split('.')[0]!).filter((label) => label.length >= 3))];
  const hostPattern = new RegExp(`\\b(?:${labels.map(escapeRegExp).join('|')})\\b`, 'gi');
  const copies = Math.ceil(records / source.length);
  const order = new Uint32Array(records);
  for (let index = 0; index < records; index += 1) order[index] = index;
  const random = seeded(0x5eed);
  for (let index = records - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    const swap = order[index]!;
    order[index] = order[other]!;
    order[other] = swap;
  }
  const out = createWriteStream(path);
  let bytes = 0;
  const write = async (text: string) => {
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  const xml = format === 'event-xml';
  if (xml) await write('<?xml version="1.0" encoding="utf-8"?>\n<Events>\n');
  let batch = '';
  for (let index = 0; index < records; index += 1) {
    const slot = order[index]!;
    const copy = Math.floor(slot / source.length);
    const record = source[slot % source.length]!;
    batch += record.text.replace(hostPattern, (label) => `${label}-c${copy}`) + '\n';
    if (batch.length > 1 << 20) {
      await write(batch);
      batch = '';
    }
  }
  if (xml) batch += '</Events>\n';
  await write(batch);
  out.end();
  await once(out, 'finish');
  return { path, format, records, bytes, sourceRecords: source.length, copies };
}
