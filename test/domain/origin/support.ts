import type { EventRecord } from '../../../src/domain/event-record.js';

/** Written events in the normalized shape readers produce, for domain tests. */
export const SYSMON = 'Microsoft-Windows-Sysmon/Operational';

let record = 1000;

export function sysmon(eventId: number, time: string, data: Record<string, string>, host = 'WS01.corp.example'): EventRecord {
  record += 1;
  return { host, channel: SYSMON, provider: 'Microsoft-Windows-Sysmon', eventId, recordId: record, time, data };
}

export function security(eventId: number, time: string, data: Record<string, string>, host = 'WS01.corp.example'): EventRecord {
  record += 1;
  return { host, channel: 'Security', provider: 'Microsoft-Windows-Security-Auditing', eventId, recordId: record, time, data };
}

export function quoted(value: string): string {
  return ` "${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function filterCreated(time: string, name: string, query: string, operation = 'Created', host?: string): EventRecord {
  return sysmon(19, time, { Operation: operation, User: 'CORP\\eve', EventNamespace: quoted('root\\cimv2'), Name: quoted(name), Query: quoted(query) }, host);
}

export function consumerCreated(time: string, name: string, command: string, operation = 'Created', host?: string): EventRecord {
  return sysmon(20, time, { Operation: operation, User: 'CORP\\eve', Name: quoted(name), Type: 'Command Line', Destination: quoted(command) }, host);
}

export function bindingCreated(time: string, filter: string, consumer: string, operation = 'Created', host?: string): EventRecord {
  return sysmon(21, time, { Operation: operation, User: 'CORP\\eve', Filter: quoted(`__EventFilter.Name="${filter}"`), Consumer: quoted(`CommandLineEventConsumer.Name="${consumer}"`) }, host);
}

export function processCreated(time: string, fields: { guid: string; pid: number; image: string; commandLine: string; parentGuid: string; parentPid: number; parentImage: string; parentCommandLine?: string; user?: string }, host?: string): EventRecord {
  return sysmon(1, time, {
    ProcessGuid: fields.guid,
    ProcessId: String(fields.pid),
    Image: fields.image,
    CommandLine: fields.commandLine,
    User: fields.user ?? 'CORP\\eve',
    LogonId: '0x1a2b3',
    IntegrityLevel: 'High',
    ParentProcessGuid: fields.parentGuid,
    ParentProcessId: String(fields.parentPid),
    ParentImage: fields.parentImage,
    ParentCommandLine: fields.parentCommandLine ?? fields.parentImage,
  }, host);
}
