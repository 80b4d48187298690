import type { EventRecord } from '../domain/event-record.js';
import { toUtcIso } from '../domain/time.js';

/**
 * The parts of one Windows event as the XML and binary EVTX readers see them (System element,
 * EventData or UserData). Both readers end here, so they produce identical records.
 */
export interface WindowsEventParts {
  provider: string | null;
  eventId: number | null;
  recordId: number | null;
  channel: string | null;
  computer: string | null;
  /** System/TimeCreated/@SystemTime as written (UTC). */
  systemTime: string | null;
  /** EventData/Data by Name; unnamed Data elements become Data, Data1, Data2 ... */
  eventData: Record<string, string>;
  /** UserData's leaves by element name (the wrapper element, e.g. Operation_ESStoConsumerBinding, dropped). */
  userData: Record<string, string>;
}

export class EventPartsError extends Error {}

export function eventRecordFromParts(parts: WindowsEventParts): EventRecord {
  if (parts.eventId === null || !Number.isInteger(parts.eventId)) throw new EventPartsError('event has no EventID');
  const time = toUtcIso(parts.systemTime);
  if (!time) throw new EventPartsError(`event ${parts.eventId} has no readable TimeCreated`);
  return {
    host: parts.computer ?? '',
    channel: parts.channel ?? '',
    provider: parts.provider ?? '',
    eventId: parts.eventId,
    recordId: parts.recordId,
    time,
    data: { ...parts.userData, ...parts.eventData },
  };
}
