import type { EventRecord } from '../../src/domain/event-record.js';
import { detectReader } from '../../src/ingest/formats.js';

/** Reads a file through the reader its content selects: the events it yields and how many problems. */
export async function readEventsOf(path: string, relevantOnly: boolean): Promise<{ events: EventRecord[]; problems: number }> {
  const reader = await detectReader(path);
  const events: EventRecord[] = [];
  let problems = 0;
  for await (const item of reader.read(path, { relevantOnly })) {
    if (item.kind === 'event') events.push(item.event);
    else if (item.kind === 'problem') problems += 1;
  }
  return { events, problems };
}
