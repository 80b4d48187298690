import type { EventRecord } from '../domain/event-record.js';
import { toUtcIso } from '../domain/time.js';

/**
 * The parts of one Windows event as the XML, evtx_dump-JSON and binary EVTX readers see them
 * (System element, EventData or UserData). All of them end here, so they produce identical records.
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
  /** System/Execution/@ProcessID: the process that logged the event (PowerShell's own pid for 4103/4104). */
  processId?: number | null;
  /** System/Security/@UserID: the SID the event was logged for. */
  userSid?: string | null;
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
    ...(parts.processId !== undefined && parts.processId !== null ? { processId: parts.processId } : {}),
    ...(parts.userSid ? { userSid: parts.userSid } : {}),
  };
}
