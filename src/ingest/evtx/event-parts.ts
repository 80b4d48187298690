import type { WindowsEventParts } from '../windows-event.js';
import { textOf, type XmlContent, type XmlElement } from './binxml-decoder.js';

/**
 * The WindowsEventParts of one rendered <Event>, read by the same rules as the event XML reader
 * (src/ingest/event-xml-reader.ts) so both give identical records: System fields (text trimmed),
 * EventData children by Name (unnamed ones by element name with a running count: Data, Data1, Binary2 ...),
 * and UserData's leaves by element name with the wrapper element dropped. Names ignore any prefix.
 */
export function eventPartsFromXml(event: XmlElement): WindowsEventParts {
  const system = child(event, 'System');
  const field = (name: string) => (system ? text(child(system, name)) : null);
  const provider = system && child(system, 'Provider');
  return {
    provider: attribute(provider, 'Name') ?? attribute(provider, 'EventSourceName'),
    eventId: toInteger(field('EventID')),
    recordId: toInteger(field('EventRecordID')),
    channel: field('Channel'),
    computer: field('Computer'),
    systemTime: attribute(system && child(system, 'TimeCreated'), 'SystemTime'),
    eventData: eventData(child(event, 'EventData')),
    userData: userData(child(event, 'UserData')),
    processId: toInteger(attribute(system && child(system, 'Execution'), 'ProcessID')),
    userSid: attribute(system && child(system, 'Security'), 'UserID'),
  };
}

function eventData(element: XmlElement | undefined): Record<string, string> {
  const data: Record<string, string> = {};
  if (!element) return data;
  let unnamed = 0;
  for (const item of elements(element)) {
    const name = attribute(item, 'Name');
    if (name) {
      data[name] = textOf(item);
    } else {
      const elementName = localName(item.name);
      data[unnamed === 0 ? elementName : `${elementName}${unnamed}`] = textOf(item);
      unnamed += 1;
    }
  }
  return data;
}

function userData(element: XmlElement | undefined): Record<string, string> {
  const data: Record<string, string> = {};
  const collectLeaves = (node: XmlElement) => {
    const children = elements(node);
    if (children.length === 0) data[localName(node.name)] = textOf(node);
    else children.forEach(collectLeaves);
  };
  if (element) elements(element).forEach((wrapper) => elements(wrapper).forEach(collectLeaves));
  return data;
}

function elements(element: XmlElement): XmlElement[] {
  return element.children.filter((node: XmlContent): node is XmlElement => typeof node !== 'string');
}

function child(element: XmlElement, name: string): XmlElement | undefined {
  return elements(element).find((node) => localName(node.name) === name);
}

function text(element: XmlElement | undefined): string | null {
  return element ? textOf(element).trim() : null;
}

function attribute(element: XmlElement | undefined | null, name: string): string | null {
  return element?.attributes.find((item) => localName(item.name) === name)?.value ?? null;
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

function toInteger(value: string | null): number | null {
  const trimmed = value?.trim() ?? '';
  return /^\d{1,15}$/.test(trimmed) ? Number(trimmed) : null;
}
