import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SaxesParser } from 'saxes';
import type { SigmaEvent } from './sigma-subset.js';

/**
 * Reads the recorded datasets into the flat field view a SIEM gives a Sigma rule: `EventID`,
 * `Channel`, `Computer`, and each EventData / UserData field by its Windows name. Deliberately
 * independent of src/ingest: the detection content is checked against the recordings as a SIEM
 * would see them, not through the project's own readers.
 */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DATASETS_DIR = resolve(REPO_ROOT, '../shared/datasets');

export function datasetPath(file: string): string {
  return resolve(DATASETS_DIR, file);
}

/** Windows event XML (`<Events>` root): System fields plus EventData/Data by Name and UserData leaves. */
export function readEventXml(file: string): SigmaEvent[] {
  const events: SigmaEvent[] = [];
  const parser = new SaxesParser();
  const path: string[] = [];
  const hasChildElements: boolean[] = [];
  let current: Record<string, string | number> | null = null;
  let dataName: string | null = null;
  let text = '';

  parser.on('opentag', (tag) => {
    if (hasChildElements.length > 0) hasChildElements[hasChildElements.length - 1] = true;
    path.push(tag.name);
    hasChildElements.push(false);
    text = '';
    if (tag.name === 'Event') current = {};
    if (tag.name === 'Data') dataName = typeof tag.attributes.Name === 'string' ? tag.attributes.Name : null;
  });
  parser.on('text', (chunk) => {
    text += chunk;
  });
  parser.on('closetag', (tag) => {
    const parent = path[path.length - 2];
    if (current) {
      if (parent === 'System' && tag.name === 'EventID') current.EventID = Number(text);
      else if (parent === 'System' && (tag.name === 'Channel' || tag.name === 'Computer')) current[tag.name] = text;
      else if (tag.name === 'Data' && dataName) current[dataName] = text;
      else if (path.includes('UserData') && !hasChildElements[hasChildElements.length - 1]) current[tag.name] = text;
    }
    if (tag.name === 'Event' && current) {
      events.push(current);
      current = null;
    }
    if (tag.name === 'Data') dataName = null;
    path.pop();
    hasChildElements.pop();
    text = '';
  });
  parser.write(readFileSync(datasetPath(file), 'utf8')).close();
  return events;
}

/**
 * JSON lines in any of the three shipper layouts in the datasets: evtx_dump (`{"Event":{...}}`),
 * winlogbeat 6 (`event_id`, `log_name`, `event_data`, `user_data`) and nxlog (fields at top level).
 */
export function readJsonLines(file: string): SigmaEvent[] {
  return readFileSync(datasetPath(file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => flatten(JSON.parse(line) as Record<string, unknown>));
}

function flatten(record: Record<string, unknown>): SigmaEvent {
  if (isObject(record.Event)) {
    const system = isObject(record.Event.System) ? record.Event.System : {};
    return withWmiActivityFields({
      EventID: Number(textOf(system.EventID)),
      Channel: textOf(system.Channel),
      Computer: textOf(system.Computer),
      ...stringFields(record.Event.UserData),
      ...stringFields(record.Event.EventData),
    });
  }
  if ('event_id' in record) {
    return withWmiActivityFields({
      EventID: Number(record.event_id),
      Channel: textOf(record.log_name),
      Computer: textOf(record.computer_name),
      ...stringFields(record.user_data),
      ...stringFields(record.event_data),
    });
  }
  return withWmiActivityFields({
    ...stringFields(record),
    EventID: Number(record.EventID),
    Channel: textOf(record.Channel),
    Computer: textOf(record.Hostname),
  });
}

/**
 * Some shippers (nxlog here) keep 5861's UserData only in the rendered message, whose template is
 * `Namespace = %1; Eventfilter = %2 (refer to its activate eventid:5859); Consumer = %3;
 * PossibleCause = %4`. SIEM add-ons extract the fields from it; so does this reader.
 */
function withWmiActivityFields(event: Record<string, string | number>): SigmaEvent {
  if (event.EventID !== 5861 || event.CONSUMER !== undefined || typeof event.Message !== 'string') return event;
  const parts = /^Namespace = (.*?); Eventfilter = (.*?) \(refer to its activate eventid:5859\); Consumer = (.*?); PossibleCause = ([\s\S]*)$/.exec(
    event.Message,
  );
  if (!parts) return event;
  return { ...event, Namespace: parts[1] ?? '', ESS: parts[2] ?? '', CONSUMER: parts[3] ?? '', PossibleCause: parts[4] ?? '' };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function textOf(value: unknown): string {
  if (isObject(value) && '#text' in value) return String(value['#text']);
  return value === undefined || value === null ? '' : String(value);
}

function stringFields(value: unknown): Record<string, string | number> {
  if (!isObject(value)) return {};
  const fields: Record<string, string | number> = {};
  for (const [key, field] of Object.entries(value)) {
    if (typeof field === 'string' || typeof field === 'number') fields[key] = field;
    else if (isObject(field) && !key.startsWith('#')) Object.assign(fields, stringFields(field));
  }
  return fields;
}
