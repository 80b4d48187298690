import type { Collection, WmiValue } from '../../src/domain/collection.js';
import { contentHashOf } from '../../src/domain/wmi-object.js';

/**
 * Synthetic collections (schema v1) with valid content hashes: what a collector would return for a
 * host with many subscriptions. The subscriptions cycle through the consumer classes and trigger
 * kinds the analyzer scores differently, so no rule path is skipped.
 */
export interface SyntheticHost {
  host: string;
  subscriptions: number;
  namespaces: number;
}

const QUERIES = [
  "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240 AND TargetInstance.SystemUpTime < 325",
  "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName='notepad.exe'",
  "SELECT * FROM __InstanceCreationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_LogonSession'",
  "SELECT * FROM __TimerEvent WHERE TimerId='Timer{n}'",
  'select * from MSFT_SCMEventLogEvent',
];

function consumerFor(index: number, name: string): { className: string; properties: Record<string, WmiValue> } {
  switch (index % 5) {
    case 0:
      return { className: 'CommandLineEventConsumer', properties: { Name: name, CommandLineTemplate: `C:\\Windows\\System32\\cmd.exe /c echo ${index} >> C:\\ProgramData\\log${index}.txt`, ExecutablePath: null, RunInteractively: false, KillTimeout: 0 } };
    case 1:
      return { className: 'ActiveScriptEventConsumer', properties: { Name: name, ScriptingEngine: 'VBScript', ScriptText: `Set o = CreateObject("WScript.Shell")\no.Run "powershell -nop -w hidden -enc ${Buffer.from(`iex ${index}`, 'utf16le').toString('base64')}"` } };
    case 2:
      return { className: 'NTEventLogEventConsumer', properties: { Name: name, SourceName: 'Service Control Manager', EventID: 7036, EventType: 4, NumberOfInsertionStrings: 1, InsertionStringTemplates: ['%TargetInstance.Name%'] } };
    case 3:
      return { className: 'LogFileEventConsumer', properties: { Name: name, Filename: `C:\\Windows\\Temp\\sub${index}.log`, Text: 'fired %TIME_CREATED%', IsUnicode: false } };
    default:
      return { className: 'SMTPEventConsumer', properties: { Name: name, SMTPServer: 'mail.example.com', ToLine: 'soc@example.com', Subject: `event ${index}`, Message: 'subscription fired' } };
  }
}

function hashed(namespace: string, className: string, properties: Record<string, WmiValue>) {
  return { namespace, className, properties, creatorSid: 'S-1-5-18', creatorAccount: 'NT AUTHORITY\\SYSTEM', contentHash: contentHashOf(namespace, className, properties) };
}

export function namespaceList(count: number): string[] {
  const names = ['root', 'root\\subscription', 'root\\cimv2'];
  for (let index = names.length; index < count; index += 1) names.push(`root\\vendor${index}\\events`);
  return names.slice(0, Math.max(1, count));
}

export function syntheticCollection(spec: SyntheticHost, collectedAt = '2026-11-29T09:30:00.000Z'): Collection {
  const namespaces = namespaceList(spec.namespaces);
  const filters: Collection['filters'] = [];
  const consumers: Collection['consumers'] = [];
  const bindings: Collection['bindings'] = [];
  const timers: Collection['timers'] = [];
  for (let index = 0; index < spec.subscriptions; index += 1) {
    const namespace = namespaces[index % namespaces.length]!;
    const filterName = `Filter${index}`;
    const consumerName = `Consumer${index}`;
    const query = QUERIES[index % QUERIES.length]!.replace('{n}', String(index));
    filters.push(hashed(namespace, '__EventFilter', { Name: filterName, Query: query, QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2' }));
    const consumer = consumerFor(index, consumerName);
    consumers.push(hashed(namespace, consumer.className, consumer.properties));
    bindings.push(hashed(namespace, '__FilterToConsumerBinding', { Filter: `__EventFilter.Name="${filterName}"`, Consumer: `${consumer.className}.Name="${consumerName}"` }));
    if (query.includes('__TimerEvent')) {
      timers.push(hashed(namespace, '__IntervalTimerInstruction', { TimerId: `Timer${index}`, IntervalBetweenEvents: 60_000, SkipIfPassed: false }));
    }
  }
  return {
    schemaVersion: 1,
    host: { name: spec.host, fqdn: null, osBuild: '10.0.20348', powershellVersion: '5.1.20348.1', sysmon: { present: true, version: '15.15' }, wmiActivityLogEnabled: true },
    collectedAt,
    collector: { name: 'wmi-hunter-collect', version: '1.0.0' },
    namespaces,
    filters,
    consumers,
    bindings,
    timers,
    errors: [],
    autorecoverMofs: [],
    events: [],
    eventsTruncated: false,
    lookbackHours: 24,
  };
}

/**
 * What most hosts of a fleet hold: only Windows' own Service Control Manager subscription (an
 * allowlisted default, so the hunt finds it benign and asks no one to approve anything).
 */
export function windowsDefaultCollection(host: string, collectedAt = new Date().toISOString()): Collection {
  const namespace = 'root\\subscription';
  const owner = (item: ReturnType<typeof hashed>) => ({ ...item, creatorSid: 'S-1-5-32-544', creatorAccount: null });
  return {
    ...syntheticCollection({ host, subscriptions: 0, namespaces: 3 }, collectedAt),
    filters: [owner(hashed(namespace, '__EventFilter', { Name: 'SCM Event Log Filter', Query: 'select * from MSFT_SCMEventLogEvent', QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2', EventAccess: null }))],
    consumers: [owner(hashed(namespace, 'NTEventLogEventConsumer', { Name: 'SCM Event Log Consumer', Category: 0, EventType: 1, NameOfUserSIDProperty: 'sid', SourceName: 'Service Control Manager' }))],
    bindings: [owner(hashed(namespace, '__FilterToConsumerBinding', { Filter: '__EventFilter.Name="SCM Event Log Filter"', Consumer: 'NTEventLogEventConsumer.Name="SCM Event Log Consumer"', DeliverSynchronously: false, DeliveryQoS: 0, MaintainSecurityContext: false, SlowDownProviders: false }))],
  };
}
