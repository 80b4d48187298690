import type { WmiValue } from '../collection.js';
import type { EventRef } from '../event-record.js';
import { contentHashOf, objectKey, type ObjectKind, type WmiObject } from '../wmi-object.js';
import { normalizeNamespace, parseObjectPath } from '../wmi-path.js';
import type { IndexedEvent } from './event-index.js';
import { hostMatchKey } from './host-match.js';
import { mofInstances, sidFromByteList, sysmonValue, type MofValue } from './logged-text.js';
import { isFamilyEvent } from './relevant-events.js';

/**
 * Subscriptions as the event log describes them, rebuilt into the same WmiObject model a live
 * collection gives:
 * - Sysmon 19/20/21 (Created / Deleted): filter name, query and event namespace; consumer name,
 *   type and destination; binding paths; the logging user. Sysmon does not log the namespace the
 *   objects live in: root\subscription, where Sysmon watches, is assumed.
 * - WMI-Activity 5861: the binding's namespace and the full filter and consumer instances printed
 *   in PossibleCause, CreatorSID included.
 * One object per identity; `createdAt` is the earliest creation evidence, `deletedAt` the last
 * deletion unless the object was created again after it.
 */
const SUBSCRIPTION_NAMESPACE = 'root\\subscription';

const WELL_KNOWN_SIDS: Readonly<Record<string, string>> = {
  'S-1-5-18': 'NT AUTHORITY\\SYSTEM',
  'S-1-5-19': 'NT AUTHORITY\\LOCAL SERVICE',
  'S-1-5-20': 'NT AUTHORITY\\NETWORK SERVICE',
  'S-1-5-32-544': 'BUILTIN\\Administrators',
};

const SYSMON_CONSUMER_TYPES: Readonly<Record<string, { className: string; property: string }>> = {
  'command line': { className: 'CommandLineEventConsumer', property: 'CommandLineTemplate' },
  script: { className: 'ActiveScriptEventConsumer', property: 'ScriptText' },
  'log file': { className: 'LogFileEventConsumer', property: 'Filename' },
  'event log': { className: 'NTEventLogEventConsumer', property: 'SourceName' },
  smtp: { className: 'SMTPEventConsumer', property: 'ToLine' },
};

export interface Observation {
  kind: ObjectKind;
  host: string;
  namespace: string;
  className: string;
  properties: Record<string, WmiValue>;
  /** Properties from a full instance (5861) win over ones Sysmon summarised. */
  complete: boolean;
  operation: 'created' | 'deleted';
  time: string;
  epoch: number;
  ref: EventRef;
  loggedUser: string | null;
  creatorSid: string | null;
}

/** What every observation of one event shares. */
type ObservationBase = Pick<Observation, 'host' | 'namespace' | 'operation' | 'time' | 'epoch' | 'ref' | 'loggedUser'>;

/**
 * One object literal, not `{ ...base, kind, … }`: on Node 20's V8 each result of a spread followed
 * by further properties gets a hidden class of its own, allocated in the old generation, where a
 * large input's short-lived observations then pile up as garbage only a full collection frees
 * (docs/PERFORMANCE.md, memory).
 */
function observation(base: ObservationBase, kind: ObjectKind, className: string, properties: Record<string, WmiValue>, complete: boolean, creatorSid: string | null): Observation {
  return { kind, host: base.host, namespace: base.namespace, className, properties, complete, operation: base.operation, time: base.time, epoch: base.epoch, ref: base.ref, loggedUser: base.loggedUser, creatorSid };
}

interface Accumulated {
  object: WmiObject;
  lastCreated: number | null;
  lastDeleted: number | null;
  complete: boolean;
}

export function objectsFromEvents(events: readonly IndexedEvent[]): WmiObject[] {
  const byIdentity = new Map<string, Accumulated>();
  const ordered = [...events].sort((a, b) => a.epoch - b.epoch);
  for (const indexed of ordered) {
    for (const observation of observationsOf(indexed)) accumulate(byIdentity, observation);
  }
  return [...byIdentity.values()].map(finish);
}

/** Identity across sources: host (short name), namespace, class and key, bindings by their referenced class.name. */
export function matchIdentity(object: Pick<WmiObject, 'kind' | 'host' | 'namespace' | 'className' | 'properties'>): string {
  const { host, namespace, className, key } = identityParts(object);
  return [host, namespace, className, key].join('|');
}

/** The parts of `matchIdentity`, for matching when one side does not know the namespace. */
export function identityParts(object: Pick<WmiObject, 'kind' | 'host' | 'namespace' | 'className' | 'properties'>): {
  host: string;
  namespace: string;
  className: string;
  key: string;
} {
  const key =
    object.kind === 'binding'
      ? `${referenceKey(object.properties.Filter)}|${referenceKey(object.properties.Consumer)}`
      : objectKey(object.kind, object.properties).toLowerCase();
  return { host: hostMatchKey(object.host), namespace: normalizeNamespace(object.namespace), className: object.className.toLowerCase(), key };
}

function referenceKey(value: WmiValue | undefined): string {
  const text = typeof value === 'string' ? value : '';
  const path = parseObjectPath(text);
  if (!path) return text.toLowerCase();
  const name = path.keys.Name ?? Object.values(path.keys).join(',');
  return `${path.className}.${name}`.toLowerCase();
}

/** What one event says about subscription objects (none for an event of another kind). */
export function observationsOf(indexed: IndexedEvent): Observation[] {
  const { event } = indexed;
  if (isFamilyEvent(event, 'sysmon', 19, 20, 21)) {
    const observation = sysmonObservation(indexed);
    return observation ? [observation] : [];
  }
  if (isFamilyEvent(event, 'wmi-activity', 5861)) return bindingActivityObservations(indexed);
  return [];
}

function sysmonObservation({ event, ref, epoch }: IndexedEvent): Observation | null {
  const data = event.data;
  const operationText = (data.Operation ?? '').trim().toLowerCase();
  const operation = operationText === 'deleted' ? 'deleted' : operationText === 'created' || operationText === '' ? 'created' : null;
  if (!operation) return null;
  const base: ObservationBase = { host: event.host, namespace: SUBSCRIPTION_NAMESPACE, operation, time: event.time, epoch, ref, loggedUser: data.User?.trim() || null };
  if (event.eventId === 19) {
    const name = sysmonValue(data.Name);
    if (!name) return null;
    const properties: Record<string, WmiValue> = { Name: name };
    const query = sysmonValue(data.Query);
    const eventNamespace = sysmonValue(data.EventNamespace);
    if (query) properties.Query = query;
    if (eventNamespace) properties.EventNamespace = eventNamespace;
    return observation(base, 'filter', '__EventFilter', properties, false, null);
  }
  if (event.eventId === 20) {
    const name = sysmonValue(data.Name);
    if (!name) return null;
    const type = SYSMON_CONSUMER_TYPES[(data.Type ?? '').trim().toLowerCase()];
    const properties: Record<string, WmiValue> = { Name: name };
    const destination = sysmonValue(data.Destination);
    if (type && destination) properties[type.property] = destination;
    return observation(base, 'consumer', type?.className ?? '__EventConsumer', properties, false, null);
  }
  const filter = sysmonValue(data.Filter);
  const consumer = sysmonValue(data.Consumer);
  if (!filter || !consumer) return null;
  return observation(base, 'binding', '__FilterToConsumerBinding', { Filter: filter, Consumer: consumer }, false, null);
}

/** 5861: `CONSUMER` is `Class="Name"`; PossibleCause prints both instances in MOF syntax. */
function bindingActivityObservations({ event, ref, epoch }: IndexedEvent): Observation[] {
  const data = event.data;
  const namespace = data.Namespace ? normalizeNamespace(data.Namespace) : SUBSCRIPTION_NAMESPACE;
  const instances = mofInstances(data.PossibleCause ?? '');
  const filterInstance = instances.find((instance) => instance.className.toLowerCase() === '__eventfilter');
  const consumerInstance = instances.find((instance) => instance.className.toLowerCase() !== '__eventfilter');
  const consumerRef = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"(.*)"\s*$/.exec(data.CONSUMER ?? '');
  const filterName = data.ESS?.trim() || stringOf(filterInstance?.properties.Name);
  const consumerClass = consumerRef?.[1] ?? consumerInstance?.className ?? null;
  const consumerName = consumerRef ? consumerRef[2]!.replace(/\\(["\\])/g, '$1') : stringOf(consumerInstance?.properties.Name);
  const base: ObservationBase = { host: event.host, namespace, operation: 'created', time: event.time, epoch, ref, loggedUser: null };
  const observations: Observation[] = [];
  if (filterName) {
    const { properties, creatorSid } = instanceProperties(filterInstance?.properties, { Name: filterName });
    observations.push(observation(base, 'filter', '__EventFilter', properties, Boolean(filterInstance), creatorSid));
  }
  if (consumerClass && consumerName) {
    const { properties, creatorSid } = instanceProperties(consumerInstance?.properties, { Name: consumerName });
    observations.push(observation(base, 'consumer', consumerClass, properties, Boolean(consumerInstance), creatorSid));
  }
  if (filterName && consumerClass && consumerName) {
    observations.push(
      observation(
        base,
        'binding',
        '__FilterToConsumerBinding',
        { Filter: pathOf('__EventFilter', filterName), Consumer: pathOf(consumerClass, consumerName) },
        false,
        observations[0]?.creatorSid ?? null,
      ),
    );
  }
  return observations;
}

function instanceProperties(
  mof: Record<string, MofValue> | undefined,
  fallback: Record<string, WmiValue>,
): { properties: Record<string, WmiValue>; creatorSid: string | null } {
  if (!mof) return { properties: fallback, creatorSid: null };
  const entries: Array<[string, WmiValue]> = Object.entries(fallback);
  let creatorSid: string | null = null;
  for (const [name, value] of Object.entries(mof)) {
    if (name.toLowerCase() === 'creatorsid') {
      creatorSid = Array.isArray(value) ? sidFromByteList(value.filter((item): item is number => typeof item === 'number')) : null;
    } else {
      entries.push([name, value]);
    }
  }
  return { properties: propertiesOf(entries), creatorSid };
}

/**
 * A property record from name/value pairs, a later pair winning (as assignment would). Built with
 * `Object.fromEntries`, not `{ ...a, ...b }` or `{ ...a }` plus assignments: those give every record
 * a hidden class of its own on Node 20's V8 (allocated in the old generation), and a name such as
 * `__proto__` stays a property instead of setting the prototype.
 */
function propertiesOf(entries: Array<[string, WmiValue]>): Record<string, WmiValue> {
  return Object.fromEntries(entries) as Record<string, WmiValue>;
}

function pathOf(className: string, name: string): string {
  return `${className}.Name="${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function stringOf(value: MofValue | undefined): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function accumulate(byIdentity: Map<string, Accumulated>, observation: Observation): void {
  const identity = matchIdentity(observation);
  let entry = byIdentity.get(identity);
  if (!entry) {
    entry = {
      object: {
        kind: observation.kind,
        host: observation.host,
        namespace: normalizeNamespace(observation.namespace),
        className: observation.className,
        properties: { ...observation.properties },
        creatorSid: null,
        creatorAccount: null,
        contentHash: '',
        source: 'eventlog',
        createdAt: null,
        deletedAt: null,
        loggedUser: null,
        evidence: [],
      },
      lastCreated: null,
      lastDeleted: null,
      complete: observation.complete,
    };
    byIdentity.set(identity, entry);
  } else if (observation.complete && !entry.complete) {
    entry.object.properties = propertiesOf([...Object.entries(entry.object.properties), ...Object.entries(observation.properties)]);
    entry.object.className = observation.className;
    entry.complete = true;
  } else if (!entry.complete) {
    entry.object.properties = propertiesOf([...Object.entries(observation.properties), ...Object.entries(entry.object.properties)]);
  }
  const object = entry.object;
  if (observation.operation === 'created') {
    if (!object.createdAt) object.createdAt = observation.time;
    entry.lastCreated = observation.epoch;
  } else {
    object.deletedAt = observation.time;
    entry.lastDeleted = observation.epoch;
  }
  object.loggedUser ??= observation.loggedUser;
  object.creatorSid ??= observation.creatorSid;
  if (!object.evidence.some((ref) => sameRef(ref, observation.ref))) object.evidence.push(observation.ref);
}

function finish(entry: Accumulated): WmiObject {
  const object = entry.object;
  if (entry.lastDeleted !== null && entry.lastCreated !== null && entry.lastCreated > entry.lastDeleted) object.deletedAt = null;
  object.contentHash = contentHashOf(object.namespace, object.className, object.properties);
  // Sysmon's User on the same object is the account behind the CreatorSID WMI-Activity logged.
  if (object.creatorSid) object.creatorAccount = WELL_KNOWN_SIDS[object.creatorSid.toUpperCase()] ?? object.loggedUser;
  return object;
}

function sameRef(a: EventRef, b: EventRef): boolean {
  return a.host === b.host && a.eventId === b.eventId && a.recordId === b.recordId && a.time === b.time && a.channel === b.channel;
}
