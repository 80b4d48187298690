import { hostKey } from '../host.js';
import { normalizeNamespace, parseObjectPath } from '../wmi-path.js';
import { objectIdentity, stringProperty, type WmiObject } from '../wmi-object.js';
import { timerIdOf } from './triggers.js';

/**
 * Joins bindings to their filters and consumers. A binding's Filter and Consumer are WMI object paths;
 * a path with a namespace prefix (\\.\root\cimv2:__EventFilter.Name="x") names another namespace, a
 * relative one names the binding's own. What does not join is a finding too: a filter or consumer no
 * binding uses, a binding whose filter or consumer is missing, a timer instruction no filter waits for.
 */
export type Candidate =
  | { kind: 'subscription'; host: string; binding: WmiObject; filter: WmiObject; consumer: WmiObject; timers: WmiObject[] }
  | { kind: 'dangling-binding'; host: string; binding: WmiObject; filter: WmiObject | null; consumer: WmiObject | null; timers: WmiObject[]; missing: string[] }
  | { kind: 'orphan-filter'; host: string; filter: WmiObject; timers: WmiObject[] }
  | { kind: 'orphan-consumer'; host: string; consumer: WmiObject }
  | { kind: 'timer'; host: string; timer: WmiObject };

const ABSTRACT_CONSUMER_CLASS = '__eventconsumer';

export function joinObjects(objects: WmiObject[]): Candidate[] {
  const candidates: Candidate[] = [];
  for (const [, hostObjects] of groupByHost(dedupe(objects))) {
    candidates.push(...joinHost(hostObjects));
  }
  return candidates;
}

function joinHost(objects: WmiObject[]): Candidate[] {
  const filters = objects.filter((o) => o.kind === 'filter');
  const consumers = objects.filter((o) => o.kind === 'consumer');
  const bindings = objects.filter((o) => o.kind === 'binding');
  const timers = objects.filter((o) => o.kind === 'timer');
  const usedFilters = new Set<WmiObject>();
  const usedConsumers = new Set<WmiObject>();
  const usedTimers = new Set<WmiObject>();
  const candidates: Candidate[] = [];

  const timersFor = (filter: WmiObject | null): WmiObject[] => {
    if (!filter) return [];
    const found = timersOfFilter(filter, timers);
    found.forEach((timer) => usedTimers.add(timer));
    return found;
  };

  for (const binding of bindings) {
    const filterPath = stringProperty(binding, 'Filter');
    const consumerPath = stringProperty(binding, 'Consumer');
    const filter = filterPath === null ? null : resolveFilter(filterPath, binding.namespace, filters);
    const consumer = consumerPath === null ? null : resolveConsumer(consumerPath, binding.namespace, consumers);
    if (filter) usedFilters.add(filter);
    if (consumer) usedConsumers.add(consumer);
    const host = binding.host;
    if (filter && consumer) {
      candidates.push({ kind: 'subscription', host, binding, filter, consumer, timers: timersFor(filter) });
      continue;
    }
    const missing: string[] = [];
    if (!filter) missing.push(`filter ${filterPath ?? '(no Filter path)'}`);
    if (!consumer) missing.push(`consumer ${consumerPath ?? '(no Consumer path)'}`);
    candidates.push({ kind: 'dangling-binding', host, binding, filter, consumer, timers: timersFor(filter), missing });
  }
  for (const filter of filters) {
    if (!usedFilters.has(filter)) candidates.push({ kind: 'orphan-filter', host: filter.host, filter, timers: timersFor(filter) });
  }
  for (const consumer of consumers) {
    if (!usedConsumers.has(consumer)) candidates.push({ kind: 'orphan-consumer', host: consumer.host, consumer });
  }
  for (const timer of timers) {
    if (!usedTimers.has(timer)) candidates.push({ kind: 'timer', host: timer.host, timer });
  }
  return candidates;
}

function resolveFilter(path: string, bindingNamespace: string, filters: WmiObject[]): WmiObject | null {
  const parsed = parseObjectPath(path);
  if (!parsed || parsed.className.toLowerCase() !== '__eventfilter') return null;
  const namespace = parsed.namespace ?? bindingNamespace;
  const name = keyName(parsed.keys);
  if (name === null) return null;
  return (
    filters.find((f) => f.namespace === namespace && (stringProperty(f, 'Name') ?? '').toLowerCase() === name) ?? null
  );
}

function resolveConsumer(path: string, bindingNamespace: string, consumers: WmiObject[]): WmiObject | null {
  const parsed = parseObjectPath(path);
  if (!parsed) return null;
  const namespace = parsed.namespace ?? bindingNamespace;
  const className = parsed.className.toLowerCase();
  const name = keyName(parsed.keys);
  if (name === null) return null;
  return (
    consumers.find(
      (c) =>
        c.namespace === namespace &&
        (className === ABSTRACT_CONSUMER_CLASS || c.className.toLowerCase() === className) &&
        (stringProperty(c, 'Name') ?? '').toLowerCase() === name,
    ) ?? null
  );
}

/** The Name key, matched case-insensitively as WMI does. */
function keyName(keys: Record<string, string>): string | null {
  const entry = Object.entries(keys).find(([key]) => key.toLowerCase() === 'name');
  return entry ? entry[1].toLowerCase() : null;
}

/** Timer instructions a __TimerEvent filter waits for: same TimerID, in the namespace the filter listens to. */
function timersOfFilter(filter: WmiObject, timers: WmiObject[]): WmiObject[] {
  const timerId = timerIdOf(stringProperty(filter, 'Query'));
  if (timerId === null) return [];
  const matching = timers.filter((t) => (stringProperty(t, 'TimerId') ?? '').toLowerCase() === timerId.toLowerCase());
  const eventNamespace = stringProperty(filter, 'EventNamespace');
  const listenedTo = normalizeNamespace(eventNamespace ?? filter.namespace);
  const inListenedNamespace = matching.filter((t) => t.namespace === listenedTo);
  return inListenedNamespace.length > 0 ? inListenedNamespace : matching;
}

function groupByHost(objects: WmiObject[]): Map<string, WmiObject[]> {
  const groups = new Map<string, WmiObject[]>();
  for (const object of objects) {
    const key = hostKey(object.host);
    const group = groups.get(key);
    if (group) group.push(object);
    else groups.set(key, [object]);
  }
  return groups;
}

/**
 * One object per identity. The same object read twice (two collections of one host, or a collection
 * and events not yet merged) keeps the live copy; among copies of one source, the latest created.
 */
function dedupe(objects: WmiObject[]): WmiObject[] {
  const byIdentity = new Map<string, WmiObject>();
  for (const object of objects) {
    const identity = objectIdentity(object);
    const current = byIdentity.get(identity);
    if (!current || prefer(object, current)) byIdentity.set(identity, object);
  }
  return [...byIdentity.values()];
}

function prefer(candidate: WmiObject, current: WmiObject): boolean {
  const live = (o: WmiObject) => (o.source === 'eventlog' ? 0 : 1);
  if (live(candidate) !== live(current)) return live(candidate) > live(current);
  return (candidate.createdAt ?? '') > (current.createdAt ?? '');
}
