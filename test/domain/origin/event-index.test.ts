import { describe, expect, it } from 'vitest';
import { EventIndex } from '../../../src/domain/origin/event-index.js';
import { processCreated, sysmon } from './support.js';

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
});
