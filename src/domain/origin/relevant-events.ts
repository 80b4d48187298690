import type { EventRecord } from '../event-record.js';

/**
 * The events the subscription reconstruction and the origin tracer read. Everything else in an
 * export (Sysmon 3/7/10, logons, firewall ...) is dropped as early as the readers can tell.
 */
export type EventFamily = 'sysmon' | 'security' | 'wmi-activity' | 'powershell';

const RELEVANT_IDS: Readonly<Record<EventFamily, ReadonlySet<number>>> = {
  sysmon: new Set([1, 19, 20, 21]),
  security: new Set([4688, 4662]),
  'wmi-activity': new Set([5857, 5858, 5859, 5860, 5861]),
  powershell: new Set([400, 800, 4103, 4104]),
};

/** Every event id some family uses: an event whose id is none of these is never used. */
export const RELEVANT_EVENT_IDS: ReadonlySet<number> = new Set(Object.values(RELEVANT_IDS).flatMap((ids) => [...ids]));

/**
 * Families by channel, then provider. An export names a handful of channels, and the family is
 * asked for every event several times over (reader, index, reconstruction, tracer); the cache is
 * bounded so hostile input with endless channel names cannot grow it.
 */
const familyCache = new Map<string, Map<string, EventFamily | null>>();
const FAMILY_CACHE_CHANNELS = 1_000;

export function eventFamily(channel: string, provider: string): EventFamily | null {
  let byProvider = familyCache.get(channel);
  const known = byProvider?.get(provider);
  if (known !== undefined) return known;
  const family = familyOf(channel, provider);
  if (!byProvider && familyCache.size < FAMILY_CACHE_CHANNELS) familyCache.set(channel, (byProvider = new Map()));
  if (byProvider && byProvider.size < FAMILY_CACHE_CHANNELS) byProvider.set(provider, family);
  return family;
}

function familyOf(channel: string, provider: string): EventFamily | null {
  const text = `${channel}|${provider}`.toLowerCase();
  if (text.includes('sysmon')) return 'sysmon';
  if (text.includes('wmi-activity')) return 'wmi-activity';
  if (text.includes('powershell')) return 'powershell';
  if (channel.toLowerCase() === 'security' || text.includes('security-auditing')) return 'security';
  return null;
}

export function isRelevantEvent(event: Pick<EventRecord, 'channel' | 'provider' | 'eventId'>): boolean {
  const family = eventFamily(event.channel, event.provider);
  return family !== null && RELEVANT_IDS[family].has(event.eventId);
}

export function isFamilyEvent(event: Pick<EventRecord, 'channel' | 'provider' | 'eventId'>, family: EventFamily, ...ids: number[]): boolean {
  return eventFamily(event.channel, event.provider) === family && ids.includes(event.eventId);
}

/**
 * Text that shows a script or command creating WMI objects (or compiling a MOF that does), as a
 * lower-case pattern source: readers test it on lower-cased raw text, the index case-insensitively.
 */
export const WMI_CREATION_SOURCE = [
  'set-wmiinstance',
  'new-ciminstance',
  'set-ciminstance',
  'register-wmievent',
  'register-cimindicationevent',
  '\\[wmiclass\\]',
  '\\.put\\(',
  'createinstance',
  'spawninstance_',
  '__eventfilter',
  'eventconsumer',
  'filtertoconsumerbinding',
  'mofcomp',
  '#pragma\\s+autorecover',
  '\\bwmic\\b',
].join('|');

export const WMI_CREATION_PATTERN = new RegExp(WMI_CREATION_SOURCE, 'i');

/**
 * The events the analysis actually uses: the relevant ones, PowerShell records only when their text
 * shows WMI object creation, and 4662 only for the WMI object server. Readers select with this.
 */
export function isUsedEvent(event: Pick<EventRecord, 'channel' | 'provider' | 'eventId' | 'data'>): boolean {
  const family = eventFamily(event.channel, event.provider);
  if (family === null || !RELEVANT_IDS[family].has(event.eventId)) return false;
  if (family === 'powershell') return Object.values(event.data).some((value) => WMI_CREATION_PATTERN.test(value));
  if (family === 'security' && event.eventId === 4662) return (event.data.ObjectServer ?? '').trim().toUpperCase() === 'WMI';
  return true;
}
