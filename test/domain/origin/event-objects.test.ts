import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { analyzeObjects } from '../../../src/domain/analysis/analyze.js';
import { parseCollection } from '../../../src/domain/collection.js';
import { analyzeCollectionsWithEvents } from '../../../src/domain/origin/analyze-with-events.js';
import { EventIndex } from '../../../src/domain/origin/event-index.js';
import { objectsFromEvents, observationsOf } from '../../../src/domain/origin/event-objects.js';
import { mergeObjects } from '../../../src/domain/origin/merge-objects.js';
import { contentHashOf, type WmiObject } from '../../../src/domain/wmi-object.js';
import { bindingCreated, consumerCreated, filterCreated } from './support.js';

const QUERY = "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_LogonSession'";

function indexOf(...events: Parameters<EventIndex['add']>[0][]): EventIndex {
  const index = new EventIndex();
  for (const event of events) index.add(event, 'test');
  return index;
}

function collected(kind: WmiObject['kind'], className: string, properties: Record<string, string>, host = 'WS01'): WmiObject {
  return {
    kind,
    host,
    namespace: 'root\\subscription',
    className,
    properties,
    creatorSid: 'S-1-5-21-1-2-3-1001',
    creatorAccount: 'CORP\\eve',
    contentHash: contentHashOf('root\\subscription', className, properties),
    source: 'collection',
    createdAt: null,
    deletedAt: null,
    loggedUser: null,
    evidence: [],
  };
}

describe('subscriptions rebuilt from events', () => {
  it('keeps the earliest creation and the deletion, both times, for an object deleted later', () => {
    const index = indexOf(
      filterCreated('2024-01-01T10:00:00.000Z', 'Upd', QUERY),
      filterCreated('2024-01-01T10:00:02.000Z', 'Upd', QUERY),
      filterCreated('2024-01-01T11:00:00.000Z', 'Upd', QUERY, 'Deleted'),
    );
    const [filter] = objectsFromEvents(index.wmiEvents);
    expect(filter).toMatchObject({ kind: 'filter', className: '__EventFilter', namespace: 'root\\subscription', source: 'eventlog', createdAt: '2024-01-01T10:00:00.000Z', deletedAt: '2024-01-01T11:00:00.000Z', loggedUser: 'CORP\\eve' });
    expect(filter!.properties).toEqual({ Name: 'Upd', Query: QUERY, EventNamespace: 'root\\cimv2' });
    expect(filter!.evidence).toHaveLength(3);
  });

  it('treats an object created again after its deletion as present', () => {
    const index = indexOf(
      consumerCreated('2024-01-01T10:00:00.000Z', 'Upd', 'cmd.exe /c x'),
      consumerCreated('2024-01-01T10:05:00.000Z', 'Upd', 'cmd.exe /c x', 'Deleted'),
      consumerCreated('2024-01-01T10:06:00.000Z', 'Upd', 'cmd.exe /c y'),
    );
    const [consumer] = objectsFromEvents(index.wmiEvents);
    expect(consumer!.deletedAt).toBeNull();
    expect(consumer!.createdAt).toBe('2024-01-01T10:00:00.000Z');
  });

  it('joins into one subscription finding whose source is the event log', () => {
    const index = indexOf(
      filterCreated('2024-01-01T10:00:00.000Z', 'Upd', QUERY),
      consumerCreated('2024-01-01T10:00:01.000Z', 'Upd', 'C:\\Users\\Public\\u.exe'),
      bindingCreated('2024-01-01T10:00:02.000Z', 'Upd', 'Upd'),
    );
    const findings = analyzeObjects(objectsFromEvents(index.wmiEvents), { allowlist: [] });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'subscription', source: 'eventlog', filterName: 'Upd', consumerAction: 'C:\\Users\\Public\\u.exe', created: '2024-01-01T10:00:00.000Z' });
  });
});

describe('merging events with a live collection of the same host', () => {
  const events = indexOf(
    filterCreated('2024-01-01T10:00:00.000Z', 'Upd', QUERY, 'Created', 'WS01.corp.example'),
    consumerCreated('2024-01-01T10:00:01.000Z', 'Upd', 'C:\\Users\\Public\\u.exe', 'Created', 'WS01.corp.example'),
    bindingCreated('2024-01-01T10:00:02.000Z', 'Upd', 'Upd', 'Created', 'WS01.corp.example'),
  );
  const live = [
    collected('filter', '__EventFilter', { Name: 'Upd', Query: QUERY, QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2' }),
    collected('consumer', 'CommandLineEventConsumer', { Name: 'Upd', CommandLineTemplate: 'C:\\Users\\Public\\u.exe' }),
    collected('binding', '__FilterToConsumerBinding', {
      Filter: '\\\\WS01\\ROOT\\subscription:__EventFilter.Name="Upd"',
      Consumer: '\\\\WS01\\ROOT\\subscription:CommandLineEventConsumer.Name="Upd"',
    }),
  ];

  it('gives one object per identity, FQDN and short host name alike, binding paths compared by what they name', () => {
    const merged = mergeObjects(live, objectsFromEvents(events.wmiEvents));
    expect(merged).toHaveLength(3);
    for (const object of merged) {
      expect(object.source).toBe('collection+eventlog');
      expect(object.host).toBe('WS01');
      expect(object.createdAt).not.toBeNull();
      expect(object.evidence.length).toBeGreaterThan(0);
    }
    expect(merged[0]!.contentHash).toBe(live[0]!.contentHash);
    const findings = analyzeObjects(merged, { allowlist: [] });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ source: 'collection+eventlog', created: '2024-01-01T10:00:00.000Z' });
  });

  it('keeps an object seen only in events as event-sourced and one seen only live as collected', () => {
    const onlyLogged = objectsFromEvents(indexOf(consumerCreated('2024-01-01T10:00:00.000Z', 'Gone', 'cmd.exe', 'Created', 'WS01.corp.example')).wmiEvents);
    const merged = mergeObjects(live.slice(0, 1), onlyLogged);
    expect(merged.map((object) => object.source).sort()).toEqual(['collection', 'eventlog']);
  });
});

describe('objects whose namespace Sysmon did not log', () => {
  it('merge with the one collected object of that host, class and name in another namespace', () => {
    const logged = objectsFromEvents(indexOf(consumerCreated('2024-01-01T10:00:00.000Z', 'Upd', 'cmd.exe /c x', 'Created', 'WS01.corp.example')).wmiEvents);
    const inCimv2 = { ...collected('consumer', 'CommandLineEventConsumer', { Name: 'Upd', CommandLineTemplate: 'cmd.exe /c x' }), namespace: 'root\\cimv2' };
    const merged = mergeObjects([inCimv2], logged);
    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatchObject({ namespace: 'root\\cimv2', source: 'collection+eventlog', createdAt: '2024-01-01T10:00:00.000Z' });
  });

  it('stay apart when two collected objects could be meant', () => {
    const logged = objectsFromEvents(indexOf(consumerCreated('2024-01-01T10:00:00.000Z', 'Upd', 'cmd.exe /c x', 'Created', 'WS01.corp.example')).wmiEvents);
    const inCimv2 = { ...collected('consumer', 'CommandLineEventConsumer', { Name: 'Upd', CommandLineTemplate: 'cmd.exe /c x' }), namespace: 'root\\cimv2' };
    const inDefault = { ...inCimv2, namespace: 'root\\default' };
    expect(mergeObjects([inCimv2, inDefault], logged)).toHaveLength(3);
  });
});

describe('live collections with their events', () => {
  it('merge the collector-returned events with the collected objects and trace them', () => {
    const collection = parseCollection(JSON.parse(readFileSync(new URL('../../../samples/collections/mof-installed-logon-subscription.json', import.meta.url), 'utf8')));
    const [finding] = analyzeCollectionsWithEvents([collection], { allowlist: [] });
    expect(finding).toMatchObject({ source: 'collection+eventlog', origin: { method: 'mofcomp', autorecover: true } });
    expect(finding!.origin!.evidence[0]!.source).toBe('ENG-CAD-31:events[1]');
  });
});

describe('records rebuilt from a large export', () => {
  // V8's own answer to "do these two objects share a hidden class?". Node 20's V8 gives every result
  // of `{ ...base, more }` (and of `{ ...a }` grown by assignments) a hidden class of its own,
  // allocated in the old generation: per event, that garbage grew a 1M-record analysis's old
  // generation by 12 MB until the next full collection (issue 8).
  setFlagsFromString('--allow-natives-syntax');
  const sameHiddenClass = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

  function activity5861(host: string, recordId: number, name: string): Parameters<EventIndex['add']>[0] {
    return {
      host,
      channel: 'Microsoft-Windows-WMI-Activity/Operational',
      provider: 'Microsoft-Windows-WMI-Activity',
      eventId: 5861,
      recordId,
      time: '2024-01-01T09:00:03.000Z',
      data: {
        Namespace: '//./root/subscription',
        ESS: name,
        CONSUMER: `CommandLineEventConsumer="${name}"`,
        PossibleCause: `Binding EventFilter: instance of __EventFilter { CreatorSID = {1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 220, 5, 0, 0}; Name = "${name}"; Query = "${QUERY}"; }; Perm. Consumer: instance of CommandLineEventConsumer { CommandLineTemplate = "cmd.exe /c ${name}"; Name = "${name}"; };`,
      },
    };
  }

  it('share hidden classes across hosts, so short-lived ones die young', () => {
    const index = new EventIndex();
    for (let host = 0; host < 3_000; host += 1) {
      const name = `Upd${host}`;
      const hostName = `WS${host}.corp.example`;
      index.add(activity5861(hostName, host, name), 'test');
      index.add(filterCreated('2024-01-01T09:00:01.000Z', name, QUERY, 'Created', hostName), 'test');
      index.add(consumerCreated('2024-01-01T09:00:02.000Z', name, `cmd.exe /c ${name}`, 'Created', hostName), 'test');
      index.add(bindingCreated('2024-01-01T09:00:03.000Z', name, name, 'Created', hostName), 'test');
    }
    const firstOfShape = new Map<string, object>();
    const distinct = new Map<string, number>();
    const check = (shape: string, value: object) => {
      const first = firstOfShape.get(shape);
      if (!first) firstOfShape.set(shape, value);
      else if (!sameHiddenClass(first, value)) distinct.set(shape, (distinct.get(shape) ?? 0) + 1);
    };
    for (const event of index.wmiEvents) {
      for (const observation of observationsOf(event)) {
        check(`observation ${event.event.eventId} ${observation.kind}`, observation);
        check(`observation properties ${event.event.eventId} ${observation.kind}`, observation.properties);
      }
    }
    const objects = objectsFromEvents(index.wmiEvents);
    expect(objects).toHaveLength(9_000);
    for (const object of objects) check(`${object.kind} properties`, object.properties);
    expect(firstOfShape.size).toBe(15);
    expect(Object.fromEntries(distinct)).toEqual({});
  });

  it('keep a MOF property named __proto__ as a property', () => {
    const event = activity5861('WS01.corp.example', 1, 'Upd');
    event.data.PossibleCause = event.data.PossibleCause!.replace('Name = "Upd"; };', 'Name = "Upd"; __proto__ = {1, 2}; };');
    const index = indexOf(event);
    const consumer = objectsFromEvents(index.wmiEvents).find((object) => object.kind === 'consumer')!;
    expect(Object.getPrototypeOf(consumer.properties)).toBe(Object.prototype);
    expect(Object.hasOwn(consumer.properties, '__proto__')).toBe(true);
    expect(consumer.properties.CommandLineTemplate).toBe('cmd.exe /c Upd');
  });
});
