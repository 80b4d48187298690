import type { EventRecord } from '../domain/event-record.js';
import { decodeXmlEntities } from '../domain/origin/logged-text.js';
import { eventFamily } from '../domain/origin/relevant-events.js';
import { toUtcIso } from '../domain/time.js';
import {
  processCreationFieldsFromMessage,
  sysmonFieldsFromMessage,
  wmiActivityFieldsFromMessage,
} from './rendered-message.js';
import { eventRecordFromParts, EventPartsError, type WindowsEventParts } from './windows-event.js';

/**
 * Turns one parsed JSON event, in any of the shapes exports come in, into an EventRecord:
 * - evtx_dump JSON: {"Event":{"System":{...},"EventData":{...}|"UserData":{...}}}
 * - flattened (nxlog, Splunk, Get-WinEvent | ConvertTo-Json): envelope and EventData fields side by side
 * - winlogbeat 6 (event_id, computer_name, event_data{}, user_data{}) and 7+ (winlog{...})
 * Key names vary by shipper; each envelope value is looked up under every name it is known by.
 */
export class RecordShapeError extends Error {}

type Json = Record<string, unknown>;

const EVENT_ID_KEYS = ['EventID', 'event_id', 'EventCode', 'EventId', 'eventId', 'Id'];

/**
 * Every field name an event id is read from, at any depth: the flat names, winlog.event_id,
 * event.code, and evtx_dump's System.EventID (whose value may be an object holding `#text`).
 */
export const EVENT_ID_FIELD_NAMES: readonly string[] = [...new Set([...EVENT_ID_KEYS, 'event_id', 'code'])];
const CHANNEL_KEYS = ['Channel', 'log_name', 'LogName', 'channel', 'EventLog'];
const PROVIDER_KEYS = ['ProviderName', 'SourceName', 'source_name', 'Provider_Name', 'provider_name', 'provider', 'Source'];
const HOST_KEYS = ['Computer', 'computer_name', 'Hostname', 'ComputerName', 'MachineName', 'computer', 'hostname'];
const TIME_KEYS = ['TimeCreated', 'SystemTime', 'UtcTime', '@timestamp', 'EventTime', 'timestamp', 'TimeGenerated', '_time'];
const RECORD_ID_KEYS = ['EventRecordID', 'RecordNumber', 'record_number', 'RecordId', 'record_id'];
const PROCESS_ID_KEYS = ['ExecutionProcessID', 'ProcessID', 'process_id'];
const USER_SID_KEYS = ['UserID', 'UserId', 'user_sid'];

/** Shipper envelope fields: never part of an event's data. */
const ENVELOPE_KEYS = new Set([
  ...EVENT_ID_KEYS,
  ...CHANNEL_KEYS,
  ...PROVIDER_KEYS,
  ...HOST_KEYS,
  ...TIME_KEYS.filter((key) => key !== 'UtcTime'),
  ...RECORD_ID_KEYS,
  ...PROCESS_ID_KEYS,
  ...USER_SID_KEYS,
  'Message', 'message', 'host', 'Version', 'version', 'EventReceivedTime', 'type', 'port', 'ProviderGuid', 'provider_guid',
  'EventType', 'OpcodeValue', 'Opcode', 'opcode', 'Task', 'task', 'Severity', 'SeverityValue', 'Keywords', 'keywords',
  'ThreadID', 'thread_id', 'SourceModuleType', 'SourceModuleName', '@version', '@metadata', 'Domain', 'AccountType',
  'AccountName', 'Category', 'ActivityID', 'activity_id', 'RelatedActivityID', 'tags', 'level', 'Level', 'LevelDisplayName',
  'beat', 'agent', 'ecs', 'event', 'winlog', 'user', 'event_data', 'user_data', 'Properties', 'log', 'fields',
]);

export function eventRecordFromJson(value: unknown): EventRecord {
  if (!isObject(value)) throw new RecordShapeError('not a JSON object');
  const wrapped = value.Event;
  if (isObject(wrapped) && isObject(wrapped.System)) return eventRecordFromEvtxJson(wrapped);
  // Search exports wrap each hit: Splunk's {"result":{...}}, Elasticsearch's {"_source":{...}}.
  for (const envelope of ['_source', 'result']) {
    const inner = value[envelope];
    if (isObject(inner) && pick(value, EVENT_ID_KEYS) === undefined) return eventRecordFromJson(inner);
  }
  return eventRecordFromFlat(value);
}

function eventRecordFromEvtxJson(event: Json): EventRecord {
  const system = event.System as Json;
  const provider = isObject(system.Provider) ? attributes(system.Provider).Name : system.Provider;
  const eventIdValue = isObject(system.EventID) ? (system.EventID as Json)['#text'] : system.EventID;
  const timeCreated = system.TimeCreated;
  const parts: WindowsEventParts = {
    provider: text(provider),
    eventId: integerValue(eventIdValue),
    recordId: integerValue(system.EventRecordID),
    channel: text(system.Channel),
    computer: text(system.Computer),
    systemTime: text(isObject(timeCreated) ? attributes(timeCreated).SystemTime : timeCreated),
    eventData: isObject(event.EventData) ? evtxJsonData(event.EventData) : {},
    userData: isObject(event.UserData) ? leaves(event.UserData) : {},
    processId: isObject(system.Execution) ? integerValue(attributes(system.Execution).ProcessID) : null,
    userSid: isObject(system.Security) ? text(attributes(system.Security).UserID) : null,
  };
  try {
    return eventRecordFromParts(parts);
  } catch (error) {
    if (error instanceof EventPartsError) throw new RecordShapeError(error.message);
    throw error;
  }
}

function attributes(value: unknown): Json {
  if (!isObject(value)) return {};
  return isObject(value['#attributes']) ? value['#attributes'] : value;
}

/** evtx_dump writes EventData either by name or, for unnamed Data, as {"Data": {"#text": [...]}}. */
function evtxJsonData(data: Json): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(data)) {
    if (name === '#attributes') continue;
    if (name === 'Data' && isObject(value) && '#text' in value) {
      const items = Array.isArray(value['#text']) ? value['#text'] : [value['#text']];
      items.forEach((item, index) => (fields[index === 0 ? 'Data' : `Data${index}`] = scalarText(item)));
    } else {
      fields[name] = scalarText(value);
    }
  }
  return fields;
}

function eventRecordFromFlat(record: Json): EventRecord {
  const winlog = isObject(record.winlog) ? record.winlog : {};
  const eventObject = isObject(record.event) ? record.event : {};
  const eventId = integerValue(pick(record, EVENT_ID_KEYS) ?? winlog.event_id ?? eventObject.code);
  if (eventId === null) throw new RecordShapeError('no event id (EventID, event_id, EventCode, winlog.event_id)');
  const channel = text(pick(record, CHANNEL_KEYS) ?? winlog.channel) ?? '';
  const provider = text(pick(record, PROVIDER_KEYS) ?? winlog.provider_name ?? eventObject.provider) ?? '';
  const host =
    text(pick(record, HOST_KEYS) ?? winlog.computer_name ?? (isObject(record.host) ? record.host.name : record.host)) ?? '';
  const time = flatTime(record);
  if (!time) throw new RecordShapeError(`event ${eventId} has no readable time (TimeCreated, UtcTime, @timestamp, EventTime)`);

  const eventData = isObject(record.event_data) ? record.event_data : isObject(winlog.event_data) ? winlog.event_data : null;
  const userData = isObject(record.user_data) ? record.user_data : isObject(winlog.user_data) ? winlog.user_data : null;
  const data: Record<string, string> = {};
  if (userData) Object.assign(data, leaves(userData));
  if (eventData) {
    for (const [name, value] of Object.entries(eventData)) data[name] = scalarText(value);
  }
  if (!eventData && !userData) {
    for (const [name, value] of Object.entries(record)) {
      if (!ENVELOPE_KEYS.has(name) && !isObject(value) && !Array.isArray(value)) data[name] = scalarText(value);
    }
    // Log Analytics' Event table keeps EventData as the XML text of its Data elements.
    if (typeof record.EventData === 'string' && record.EventData.includes('<Data')) {
      delete data.EventData;
      Object.assign(data, dataElements(record.EventData));
    }
  }
  const message = text(record.Message ?? record.message);
  if (message) Object.assign(data, fieldsFromMessage(channel, provider, eventId, message, data));

  const processId = integerValue(pick(record, PROCESS_ID_KEYS) ?? (isObject(winlog.process) ? winlog.process.pid : undefined));
  const userValue = pick(record, USER_SID_KEYS);
  const userSid =
    text(isObject(userValue) ? userValue.Value : userValue) ??
    text(isObject(record.user) ? record.user.identifier : undefined) ??
    text(isObject(winlog.user) ? winlog.user.identifier : undefined);
  return {
    host,
    channel,
    provider,
    eventId,
    recordId: integerValue(pick(record, RECORD_ID_KEYS) ?? winlog.record_id),
    time,
    data,
    ...(processId !== null ? { processId } : {}),
    ...(userSid ? { userSid } : {}),
  };
}

const POWERSHELL_TEXT_FIELDS = /^(?:ScriptBlockText|Payload|ContextInfo|HostApplication|param\d+|Data\d*)$/;

/** Fields a message-only export lost, recovered from the rendered text; fields already present win. */
function fieldsFromMessage(
  channel: string,
  provider: string,
  eventId: number,
  message: string,
  data: Record<string, string>,
): Record<string, string> {
  let recovered: Record<string, string> = {};
  switch (eventFamily(channel, provider)) {
    case 'wmi-activity':
      recovered = wmiActivityFieldsFromMessage(eventId, message);
      break;
    case 'sysmon':
      if (data.UtcTime === undefined) recovered = sysmonFieldsFromMessage(message);
      break;
    case 'security':
      if (eventId === 4688 && data.NewProcessName === undefined) recovered = processCreationFieldsFromMessage(message);
      break;
    case 'powershell':
      // Script block, pipeline and engine records rendered as text: the text is what is searched.
      if (!Object.keys(data).some((name) => POWERSHELL_TEXT_FIELDS.test(name))) recovered = { Message: message };
      break;
    default:
      break;
  }
  const missing: Record<string, string> = {};
  for (const [name, value] of Object.entries(recovered)) {
    if (data[name] === undefined) missing[name] = value;
  }
  return missing;
}

/**
 * The event's own time in UTC. Host-local times without a zone (nxlog's EventTime) are skipped in
 * favour of a field that is UTC; Get-WinEvent's /Date(ms)/ and epoch numbers are read as UTC.
 */
function flatTime(record: Json): string | null {
  for (const key of TIME_KEYS) {
    const value = record[key];
    if (value === undefined || value === null) continue;
    const iso = timeValue(value, key !== 'EventTime' && key !== 'TimeGenerated');
    if (iso) return iso;
  }
  const winlog = record.winlog;
  if (isObject(winlog) && isObject(winlog.time_created)) return timeValue(winlog.time_created, true);
  return null;
}

function timeValue(value: unknown, zonelessIsUtc: boolean): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) {
    return isoOfEpochMs(value < 1e11 ? value * 1000 : value);
  }
  if (isObject(value)) return timeValue(attributes(value).SystemTime ?? value.DateTime ?? value.value, zonelessIsUtc);
  if (typeof value !== 'string') return null;
  const dotNet = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(value);
  if (dotNet) return isoOfEpochMs(Number(dotNet[1]));
  return toUtcIso(value, zonelessIsUtc);
}

/** Null for an instant outside what a Date can hold (a hostile or corrupt value), instead of a RangeError. */
function isoOfEpochMs(ms: number): string | null {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function pick(record: Json, keys: readonly string[]): unknown {
  for (const key of keys) {
    const value = record[key];
    if (value !== undefined && value !== null && value !== '') return value;
  }
  return undefined;
}

/** `<Data Name="x">value</Data>` elements of an EventData XML text, entities decoded. */
function dataElements(xml: string): Record<string, string> {
  const fields: Record<string, string> = {};
  const element = /<(?:\w+:)?Data\s+Name=(?:"([^"]*)"|'([^']*)')\s*(?:\/>|>([\s\S]*?)<\/(?:\w+:)?Data>)/g;
  for (let match = element.exec(xml); match; match = element.exec(xml)) {
    fields[match[1] ?? match[2]!] = decodeXmlEntities(match[3] ?? '');
  }
  return fields;
}

/** UserData's nested element flattened to its leaves, leaf names kept. */
function leaves(value: Json, into: Record<string, string> = {}): Record<string, string> {
  for (const [name, child] of Object.entries(value)) {
    if (name === '#attributes') continue;
    if (isObject(child) && !('#text' in child)) leaves(child, into);
    else into[name] = scalarText(child);
  }
  return into;
}

function scalarText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isObject(value) && '#text' in value) return scalarText(value['#text']);
  return JSON.stringify(value);
}

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return null;
}

/** An event id, record id or pid as the readers accept it: a non-negative integer, decimal or 0x-hex text. */
export function integerValue(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value === 'string' && /^\s*\d{1,15}\s*$/.test(value)) return Number(value);
  if (typeof value === 'string' && /^\s*0x[0-9a-f]{1,12}\s*$/i.test(value)) return Number.parseInt(value, 16);
  return null;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
