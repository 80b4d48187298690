import { z } from 'zod';

/**
 * One Windows event, normalized. Every reader (collector output, flattened JSON lines, evtx_dump
 * JSON, event XML, raw .evtx) produces exactly this shape, so everything downstream reads one form.
 *
 * - `time` is ISO 8601 in UTC (`2019-05-11T17:08:36.123Z`); readers convert host-local times only when
 *   the zone is known and otherwise prefer the UTC field the export carries.
 * - `data` holds EventData / UserData fields by name, values as text exactly as logged (Sysmon's
 *   leading space and doubled backslashes included); UserData's nested element is flattened, its
 *   leaf names kept (5861: Namespace, ESS, CONSUMER, PossibleCause, CreatorSID ...).
 * - `recordId` is null when the export dropped it.
 */
export const EventRecordSchema = z.object({
  host: z.string(),
  channel: z.string(),
  provider: z.string(),
  eventId: z.number().int().nonnegative(),
  recordId: z.number().int().nonnegative().nullable(),
  time: z.string(),
  data: z.record(z.string(), z.string()),
  /** The process that logged the event (System/Execution/@ProcessID), when the export kept it. */
  processId: z.number().int().nonnegative().optional(),
  /** The SID the event was logged for (System/Security/@UserID), when the export kept it. */
  userSid: z.string().optional(),
});
export type EventRecord = z.infer<typeof EventRecordSchema>;

/** A pointer to the event that supports a conclusion, small enough to put in every finding. */
export const EventRefSchema = z.object({
  host: z.string(),
  channel: z.string(),
  eventId: z.number().int(),
  recordId: z.number().int().nullable(),
  time: z.string(),
  /** Where it was read from (file name and line or record position), when offline. */
  source: z.string().nullable().optional(),
});
export type EventRef = z.infer<typeof EventRefSchema>;

export function eventRef(event: EventRecord, source?: string | null): EventRef {
  return {
    host: event.host,
    channel: event.channel,
    eventId: event.eventId,
    recordId: event.recordId,
    time: event.time,
    ...(source ? { source } : {}),
  };
}
