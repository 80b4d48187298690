import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../src/domain/event-record.js';
import { EventIndex } from '../../src/domain/origin/event-index.js';
import { hostMatchKey } from '../../src/domain/origin/host-match.js';
import { ErrorCode } from '../../src/errors.js';
import { EventSpill, HOST_GROUPS } from '../../src/ingest/event-spill.js';
import { bindingCreated, consumerCreated, filterCreated, processCreated, security, sysmon } from '../domain/origin/support.js';

const spills: EventSpill[] = [];
afterEach(() => {
  for (const spill of spills.splice(0)) spill.remove();
});

function newSpill(): EventSpill {
  const spill = new EventSpill();
  spills.push(spill);
  return spill;
}

const HOSTS = ['WS01.corp.example', 'ws01', 'HR002.corp.example', '10.1.2.3', 'dc01.corp.example', 'FS07', 'ws01.other.example'];

/** Events of every kind the index keeps, and some it drops, spread over the hosts. */
function events(): Array<{ event: EventRecord; source: string }> {
  const out: Array<{ event: EventRecord; source: string }> = [];
  HOSTS.forEach((host, h) => {
    const at = (second: number) => new Date(Date.UTC(2024, 0, 1, 10, h, second)).toISOString();
    const add = (event: EventRecord) => out.push({ event, source: `export.jsonl:line ${out.length + 1}` });
    add(processCreated(at(1), { guid: `{p${h}}`, pid: 100 + h, image: 'C:\\Windows\\System32\\wbem\\WMIC.exe', commandLine: `wmic /namespace:\\\\root\\subscription PATH __EventFilter CREATE Name="F${h}"`, parentGuid: `{q${h}}`, parentPid: 50, parentImage: 'C:\\Windows\\System32\\cmd.exe' }, host));
    add(filterCreated(at(2), `F${h}`, "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'", 'Created', host));
    add(consumerCreated(at(3), `C${h}`, `powershell.exe -enc ${'QQB'.repeat(h + 1)}`, 'Created', host));
    add(bindingCreated(at(4), `F${h}`, `C${h}`, 'Created', host));
    add(sysmon(3, at(5), { DestinationIp: '10.0.0.1' }, host));
    add({ host, channel: 'Microsoft-Windows-PowerShell/Operational', provider: 'Microsoft-Windows-PowerShell', eventId: 4104, recordId: h, time: at(6), data: { ScriptBlockText: `Set-WmiInstance -Class __EventFilter -Namespace root\\subscription -Arguments @{Name='F${h}'}` } });
    add(security(4688, at(7), { SubjectUserSid: `S-1-5-21-1-2-3-${1100 + h}`, SubjectUserName: `user${h}`, SubjectDomainName: 'CORP', SubjectLogonId: '0x1234', NewProcessId: '0x10', NewProcessName: 'C:\\Windows\\System32\\mofcomp.exe', ProcessId: '0x20', CommandLine: 'mofcomp evil.mof' }, host));
  });
  return out;
}

function contentOf(index: EventIndex, hostKey: string) {
  return {
    wmiEvents: index.wmiEvents.filter((indexed) => hostMatchKey(indexed.event.host) === hostKey),
    processes: [...index.processesOn(hostKey)],
    scripts: index.scriptsOn(hostKey),
    wmiAccess: index.wmiAccessOn(hostKey),
  };
}

describe('the event spill', () => {
  it("gives each group's index exactly what an in-memory index of the whole input holds for its hosts", () => {
    const spill = newSpill();
    const whole = new EventIndex();
    for (const { event, source } of events()) {
      spill.add(event, source);
      whole.add(event, source);
    }
    const hostKeys = [...new Set(HOSTS.map(hostMatchKey))];
    const seen = new Set<string>();
    for (let group = 0; group < HOST_GROUPS; group += 1) {
      const index = spill.indexOf(group);
      for (const hostKey of hostKeys.filter((key) => spill.groupOf(key) === group)) {
        expect(contentOf(index, hostKey)).toEqual(contentOf(whole, hostKey));
        seen.add(hostKey);
      }
      expect(index.wmiEvents.every((indexed) => spill.groupOf(indexed.event.host) === group)).toBe(true);
    }
    expect(seen.size).toBe(hostKeys.length);
  });

  it('puts a host in one group whatever the case and domain its name is written with', () => {
    const spill = newSpill();
    expect(new Set(['WS01.corp.example', 'ws01', 'WS01', 'ws01.other.example'].map((host) => spill.groupOf(host))).size).toBe(1);
  });

  it('names the account of a SID logged on one host to the index of any other group', () => {
    const spill = newSpill();
    for (const { event, source } of events()) spill.add(event, source);
    const groups = new Set(HOSTS.map((host) => spill.groupOf(host)));
    const outside = Array.from({ length: HOST_GROUPS }, (_, group) => group).find((group) => !groups.has(group))!;
    expect(spill.indexOf(outside).accountOf('s-1-5-21-1-2-3-1102')).toBe('CORP\\user2');
  });

  it('keeps an event larger than its group buffer, and text of any kind, exactly', () => {
    const spill = newSpill();
    const script = `Set-WmiInstance -Class __EventConsumer # ${'é€\u{1F600}\n"\\'.repeat(40_000)} \ud800 end`;
    const event: EventRecord = { host: 'WS09', channel: 'Microsoft-Windows-PowerShell/Operational', provider: 'Microsoft-Windows-PowerShell', eventId: 4104, recordId: 7, time: '2024-01-01T10:00:00.000Z', data: { ScriptBlockText: script }, processId: 42, userSid: 'S-1-5-18' };
    const whole = new EventIndex();
    spill.add(event, 'big.xml:event #1');
    whole.add(event, 'big.xml:event #1');
    expect(spill.indexOf(spill.groupOf('WS09')).scriptsOn('ws09')).toEqual(whole.scriptsOn('ws09'));
  });

  it('writes nothing for events the index would drop, and removes its file', () => {
    const spill = newSpill();
    spill.add(sysmon(3, '2024-01-01T10:00:00.000Z', { DestinationIp: '10.0.0.1' }), 'x');
    spill.add(filterCreated('not a time', 'F', 'SELECT 1'), 'x');
    for (let group = 0; group < HOST_GROUPS; group += 1) expect(spill.indexOf(group).eventsSeen).toBe(0);
    expect(statSync(join(spill.dir, 'events.jsonl')).size).toBe(0);
    for (const { event, source } of events()) spill.add(event, source);
    for (let group = 0; group < HOST_GROUPS; group += 1) spill.indexOf(group);
    expect(statSync(join(spill.dir, 'events.jsonl')).size).toBeGreaterThan(0);
    spill.remove();
    expect(existsSync(spill.dir)).toBe(false);
    expect(() => spill.indexOf(spill.groupOf('WS01'))).toThrow(expect.objectContaining({ code: ErrorCode.Internal }));
  });
});

describe('kept events with nowhere to go', () => {
  const saved = process.env.TMPDIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  });

  it('says the temporary folder cannot be written and how to choose another', () => {
    process.env.TMPDIR = join('/nonexistent', 'wmi-hunter-no-such-folder');
    let thrown: unknown;
    try {
      new EventSpill();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: ErrorCode.Internal, details: { reason: 'ENOENT' } });
    expect((thrown as Error).message).toMatch(/temporary file of kept events in \/nonexistent.*\(ENOENT\); set TMPDIR/);
  });
});
