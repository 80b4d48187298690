import { describe, expect, it } from 'vitest';
import { EventIndex } from '../../../src/domain/origin/event-index.js';
import { processCreated, security, sysmon } from './support.js';

function child(index: number) {
  return processCreated(new Date(Date.UTC(2024, 0, 1, 10, 0, index)).toISOString(), {
    guid: `{g${index}}`,
    pid: 100 + index,
    image: `C:\\p${index}.exe`,
    commandLine: `p${index}.exe`,
    parentGuid: `{g${index - 1}}`,
    parentPid: 99 + index,
    parentImage: `C:\\p${index - 1}.exe`,
  });
}

describe('the event index', () => {
  it('keeps at most maxProcesses process entries, dropping the oldest and counting them', () => {
    const index = new EventIndex({ maxProcesses: 3 });
    for (let i = 1; i <= 5; i += 1) index.add(child(i), 'test');
    expect(index.processCount).toBe(3);
    expect(index.evictedProcesses).toBe(2);
    const newest = [...index.processesOn('ws01')].at(-1)!;
    expect(index.parentOf(newest)!.image).toBe('C:\\p4.exe');
    const oldestKept = [...index.processesOn('ws01')][0]!;
    expect(oldestKept.image).toBe('C:\\p3.exe');
    expect(index.parentOf(oldestKept)).toBeNull();
  });

  it('caps command lines and drops events the analysis does not use', () => {
    const index = new EventIndex({ maxCommandLineChars: 10 });
    index.add(processCreated('2024-01-01T10:00:00.000Z', { guid: '{a}', pid: 1, image: 'C:\\a.exe', commandLine: 'a.exe '.repeat(20), parentGuid: '{b}', parentPid: 2, parentImage: 'C:\\b.exe' }), 'test');
    index.add(sysmon(10, '2024-01-01T10:00:00.000Z', { SourceImage: 'x', TargetImage: 'y' }), 'test');
    index.add({ host: 'ws01', channel: 'Microsoft-Windows-PowerShell/Operational', provider: 'Microsoft-Windows-PowerShell', eventId: 4104, recordId: 1, time: '2024-01-01T10:00:00.000Z', data: { ScriptBlockText: 'Get-Process' } }, 'test');
    expect([...index.processesOn('ws01')][0]!.commandLine).toHaveLength(10);
    expect(index.eventsSeen).toBe(1);
    expect(index.scripts).toEqual([]);
  });

  it('answers per host with exactly the entries of that host, in the order they were added, evicted ones gone', () => {
    const index = new EventIndex({ maxProcesses: 4 });
    const hosts = ['WS01.corp.example', 'ws02', 'WS01', 'SRV9.corp.example', 'ws02.corp.example'];
    hosts.forEach((host, at) => {
      const time = new Date(Date.UTC(2024, 0, 1, 10, 0, at)).toISOString();
      index.add(processCreated(time, { guid: `{p${at}}`, pid: 10 + at, image: `C:\\p${at}.exe`, commandLine: `p${at}.exe`, parentGuid: '{x}', parentPid: 1, parentImage: 'C:\\x.exe' }, host), 'test');
      index.add({ host, channel: 'Microsoft-Windows-PowerShell/Operational', provider: 'Microsoft-Windows-PowerShell', eventId: 4104, recordId: at, time, data: { ScriptBlockText: `Set-WmiInstance -Class __EventFilter -Arguments @{Name='f${at}'}` } }, 'test');
      index.add(security(4662, time, { ObjectServer: 'WMI', SubjectUserName: `u${at}`, SubjectDomainName: 'CORP', SubjectLogonId: '0x1' }, host), 'test');
    });
    expect(index.evictedProcesses).toBe(1);
    for (const key of ['ws01', 'ws02', 'srv9', 'nohost']) {
      expect([...index.processesOn(key)].map((entry) => entry.image)).toEqual(
        hosts.flatMap((host, at) => (at > 0 && host.toLowerCase().startsWith(key) ? [`C:\\p${at}.exe`] : [])),
      );
      expect(index.scriptsOn(key)).toEqual(index.scripts.filter((script) => script.hostKey === key));
      expect(index.wmiAccessOn(key)).toEqual(index.wmiAccess.filter((access) => access.hostKey === key));
    }
    expect(index.scriptsOn('ws01')).toHaveLength(2);
    expect(index.wmiAccessOn('ws02').map((access) => access.user)).toEqual(['CORP\\u1', 'CORP\\u4']);
  });
});
