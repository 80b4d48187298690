import { describe, expect, it } from 'vitest';
import { analyzeObjects } from '../../../src/domain/analysis/analyze.js';
import type { EventRecord } from '../../../src/domain/event-record.js';
import type { Finding } from '../../../src/domain/finding.js';
import { EventIndex } from '../../../src/domain/origin/event-index.js';
import { objectsFromEvents } from '../../../src/domain/origin/event-objects.js';
import { traceOrigins, type TraceOptions } from '../../../src/domain/origin/trace.js';
import { bindingCreated, consumerCreated, filterCreated, processCreated, security } from './support.js';

const QUERY = "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'";
const PAYLOAD = 'C:\\Users\\Public\\svc.exe -k run';
const MOFCOMP = 'C:\\Windows\\System32\\wbem\\mofcomp.exe';

function subscriptionAt(time: string, name = 'Upd'): EventRecord[] {
  const at = Date.parse(time);
  const plus = (ms: number) => new Date(at + ms).toISOString();
  return [filterCreated(plus(0), name, QUERY), consumerCreated(plus(10), name, PAYLOAD), bindingCreated(plus(20), name, name)];
}

function trace(events: EventRecord[], options?: TraceOptions): Finding {
  const index = new EventIndex();
  for (const event of events) index.add(event, 'test');
  const findings = traceOrigins(analyzeObjects(objectsFromEvents(index.wmiEvents), { allowlist: [] }), index, options);
  expect(findings).toHaveLength(1);
  return findings[0]!;
}

function mofcompFromCscript(time: string): EventRecord[] {
  return [
    processCreated(new Date(Date.parse(time) - 2_000).toISOString(), { guid: '{c}', pid: 300, image: 'C:\\Windows\\System32\\cscript.exe', commandLine: 'cscript //B C:\\Users\\eve\\AppData\\Local\\Temp\\d.vbs', parentGuid: '{e}', parentPid: 100, parentImage: 'C:\\Windows\\explorer.exe' }),
    processCreated(time, { guid: '{m}', pid: 400, image: MOFCOMP, commandLine: `${MOFCOMP} C:\\Users\\eve\\AppData\\Local\\Temp\\x.mof`, parentGuid: '{c}', parentPid: 300, parentImage: 'C:\\Windows\\System32\\cscript.exe' }),
  ];
}

describe('origin on time proximity', () => {
  it('takes mofcomp.exe run just before the creation, with its .mof path and parent chain, at medium confidence', () => {
    const finding = trace([...mofcompFromCscript('2024-01-01T09:59:58.000Z'), ...subscriptionAt('2024-01-01T10:00:00.000Z')]);
    expect(finding.origin).toMatchObject({
      method: 'mofcomp',
      process: MOFCOMP,
      mofPath: 'C:\\Users\\eve\\AppData\\Local\\Temp\\x.mof',
      autorecover: null,
      confidence: 'medium',
      user: 'CORP\\eve',
      logonId: '0x1a2b3',
    });
    expect(finding.origin!.parentChain.map((p) => p.image)).toEqual(['C:\\Windows\\System32\\cscript.exe', 'C:\\Windows\\explorer.exe']);
    expect(finding.origin!.matchedOn).toMatch(/^time/);
  });

  it('does not reach beyond the window: a mofcomp ten minutes earlier is not the origin', () => {
    const finding = trace([...mofcompFromCscript('2024-01-01T09:50:00.000Z'), ...subscriptionAt('2024-01-01T10:00:00.000Z')]);
    expect(finding.origin!.method).toBe('unknown');
    expect(finding.origin!.process).toBeNull();
  });

  it('marks the MOF autorecover when the collection lists its path among the Autorecover MOFs, and raises the risk', () => {
    const finding = trace([...mofcompFromCscript('2024-01-01T09:59:58.000Z'), ...subscriptionAt('2024-01-01T10:00:00.000Z')], {
      autorecoverMofs: [{ path: 'c:\\users\\eve\\appdata\\local\\temp\\X.MOF', present: false }],
    });
    expect(finding.origin!.autorecover).toBe(true);
    expect(finding.reasons.map((r) => r.rule)).toContain('origin.mof-autorecover');
  });
});

describe('mofcomp switches', () => {
  it('reads -autorecover on the mofcomp command line as autorecover registration', () => {
    const events = [
      processCreated('2024-01-01T09:59:59.000Z', { guid: '{m}', pid: 400, image: MOFCOMP, commandLine: `${MOFCOMP} -autorecover "C:\\Users\\eve\\AppData\\Local\\Temp\\y y.mof"`, parentGuid: '{c}', parentPid: 300, parentImage: 'C:\\Windows\\System32\\cmd.exe' }),
      ...subscriptionAt('2024-01-01T10:00:00.000Z'),
    ];
    expect(trace(events).origin).toMatchObject({ method: 'mofcomp', mofPath: 'C:\\Users\\eve\\AppData\\Local\\Temp\\y y.mof', autorecover: true });
  });
});

describe('origin on content', () => {
  it('prefers the command that names the subscription over a closer unrelated WMI client, and skips deletions', () => {
    const events = [
      processCreated('2024-01-01T09:40:00.000Z', { guid: '{w1}', pid: 500, image: 'C:\\Windows\\System32\\wbem\\WMIC.exe', commandLine: 'wmic /namespace:\\\\root\\subscription PATH __EventFilter CREATE Name="Upd", EventNameSpace="root\\cimv2", QueryLanguage="WQL", Query="SELECT ..."', parentGuid: '{p}', parentPid: 90, parentImage: 'C:\\Windows\\System32\\cmd.exe' }),
      processCreated('2024-01-01T09:59:59.000Z', { guid: '{w2}', pid: 501, image: 'C:\\Windows\\System32\\wbem\\WMIC.exe', commandLine: 'wmic /namespace:\\\\root\\subscription PATH __EventFilter CREATE Name="Other"', parentGuid: '{p}', parentPid: 90, parentImage: 'C:\\Windows\\System32\\cmd.exe' }),
      processCreated('2024-01-01T10:30:00.000Z', { guid: '{w3}', pid: 502, image: 'C:\\Windows\\System32\\wbem\\WMIC.exe', commandLine: 'wmic /namespace:\\\\root\\subscription PATH __EventFilter WHERE Name="Upd" DELETE', parentGuid: '{p}', parentPid: 90, parentImage: 'C:\\Windows\\System32\\cmd.exe' }),
      ...subscriptionAt('2024-01-01T10:00:00.000Z'),
    ];
    const origin = trace(events).origin!;
    expect(origin.method).toBe('wmic');
    expect(origin.commandLine).toContain('Name="Upd"');
    expect(origin.confidence).toBe('high');
    expect(origin.matchedOn).toMatch(/^content/);
  });

  it('follows Security 4688 creator process ids back, taking the process that held the pid at that time', () => {
    const p4688 = (time: string, pid: string, image: string, commandLine: string, creator: string, parent: string) =>
      security(4688, time, { NewProcessId: pid, NewProcessName: image, CommandLine: commandLine, ProcessId: creator, ParentProcessName: parent, SubjectUserSid: 'S-1-5-21-9-9-9-1200', SubjectUserName: 'eve', SubjectDomainName: 'CORP', SubjectLogonId: '0x77', TargetUserName: '-' });
    const events = [
      p4688('2024-01-01T08:00:00.000Z', '0x64', 'C:\\old\\reused.exe', 'reused.exe', '0x4', 'System'),
      p4688('2024-01-01T09:00:00.000Z', '0x64', 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', 'powershell -nop -c "Set-WmiInstance -Namespace root\\subscription -Class __EventFilter -Arguments @{Name=\'Upd\'}"', '0x10', 'C:\\Windows\\explorer.exe'),
      p4688('2024-01-01T09:00:01.000Z', '0x10', 'C:\\Windows\\explorer.exe', 'explorer.exe', '0x8', 'C:\\Windows\\System32\\userinit.exe'),
      ...subscriptionAt('2024-01-01T09:00:05.000Z'),
    ];
    const origin = trace(events).origin!;
    expect(origin.method).toBe('powershell');
    expect(origin.user).toBe('CORP\\eve');
    expect(origin.logonId).toBe('0x77');
    // explorer's own record comes after powershell started, so the chain stops at the logged parent name.
    expect(origin.parentChain).toEqual([{ image: 'C:\\Windows\\explorer.exe', commandLine: null, pid: 16, time: null }]);
  });

  it('resolves a raw CreatorSID user context through the accounts the events name', () => {
    const events = [
      security(4688, '2024-01-01T09:00:00.000Z', { NewProcessId: '0x20', NewProcessName: 'C:\\x\\tool.exe', CommandLine: 'tool.exe', ProcessId: '0x4', SubjectUserSid: 'S-1-5-21-7-7-7-1500', SubjectUserName: 'mallory', SubjectDomainName: 'CORP', SubjectLogonId: '0x99' }),
      {
        host: 'WS01.corp.example',
        channel: 'Microsoft-Windows-WMI-Activity/Operational',
        provider: 'Microsoft-Windows-WMI-Activity',
        eventId: 5861,
        recordId: 1,
        time: '2024-01-01T09:00:03.000Z',
        data: {
          Namespace: '//./root/subscription',
          ESS: 'Upd',
          CONSUMER: 'CommandLineEventConsumer="Upd"',
          PossibleCause: `Binding EventFilter: instance of __EventFilter { CreatorSID = {1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 220, 5, 0, 0}; Name = "Upd"; Query = "${QUERY}"; }; Perm. Consumer: instance of CommandLineEventConsumer { CommandLineTemplate = "cmd.exe /c x"; Name = "Upd"; };`,
        },
      },
    ];
    expect(trace(events).userContext).toBe('CORP\\mallory');
  });
});

describe('execution evidence', () => {
  it('shows children of WmiPrvSE.exe running the consumer command and raises the risk to Critical', () => {
    const fired = processCreated('2024-01-01T10:05:00.000Z', { guid: '{x}', pid: 700, image: 'C:\\Users\\Public\\svc.exe', commandLine: '"C:\\Users\\Public\\svc.exe" -k  run', parentGuid: '{wp}', parentPid: 650, parentImage: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', user: 'NT AUTHORITY\\SYSTEM' });
    const unrelated = processCreated('2024-01-01T10:06:00.000Z', { guid: '{y}', pid: 701, image: 'C:\\Windows\\System32\\cmd.exe', commandLine: 'cmd.exe /c whoami', parentGuid: '{wp}', parentPid: 650, parentImage: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe' });
    const before = processCreated('2024-01-01T09:00:00.000Z', { guid: '{z}', pid: 702, image: 'C:\\Users\\Public\\svc.exe', commandLine: 'C:\\Users\\Public\\svc.exe -k run', parentGuid: '{wp}', parentPid: 650, parentImage: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe' });
    const finding = trace([...subscriptionAt('2024-01-01T10:00:00.000Z'), fired, unrelated, before]);
    expect(finding.origin!.executions.map((e) => e.pid)).toEqual([700]);
    expect(finding.origin!.executions[0]).toMatchObject({ user: 'NT AUTHORITY\\SYSTEM', parentImage: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe' });
    expect(finding.riskLevel).toBe('Critical');
    expect(finding.reasons.find((r) => r.rule === 'origin.executed')!.message).toContain('svc.exe');
  });

  it('leaves a finding with no events untouched', () => {
    const index = new EventIndex();
    const findings = analyzeObjects(objectsFromEvents(new EventIndex().wmiEvents), { allowlist: [] });
    expect(traceOrigins(findings, index)).toEqual(findings);
  });
});

describe('without a creating process', () => {
  it('names the account of a WMI namespace access (4662) just before the creation', () => {
    const access = security(4662, '2024-01-01T09:59:59.000Z', { ObjectServer: 'WMI', ObjectType: 'Namespace', ObjectName: 'ROOT\\subscription', SubjectUserName: 'svc_deploy', SubjectDomainName: 'CORP', SubjectLogonId: '0x3f00a' });
    const events = [access, ...subscriptionAt('2024-01-01T10:00:00.000Z').map((event) => ({ ...event, data: { ...event.data, User: '' } }))];
    const origin = trace(events).origin!;
    expect(origin).toMatchObject({ method: 'unknown', user: 'CORP\\svc_deploy', logonId: '0x3f00a', confidence: 'low' });
    expect(origin.evidence.map((ref) => ref.eventId)).toContain(4662);
  });

  it('takes plain event records as well as an index', () => {
    const events = [...mofcompFromCscript('2024-01-01T09:59:58.000Z'), ...subscriptionAt('2024-01-01T10:00:00.000Z')];
    const index = new EventIndex();
    for (const event of events) index.add(event);
    const findings = analyzeObjects(objectsFromEvents(index.wmiEvents), { allowlist: [] });
    expect(traceOrigins(findings, events)).toEqual(traceOrigins(findings, index));
  });
});

describe('other WMI clients', () => {
  const installer = (time: string, commandLine: string) =>
    processCreated(time, { guid: `{i${time}}`, pid: 810, image: 'C:\\Users\\eve\\AppData\\Local\\Temp\\inst.exe', commandLine, parentGuid: '{p}', parentPid: 90, parentImage: 'C:\\Windows\\explorer.exe' });

  it('takes a custom binary whose command carries the name at the creation time', () => {
    const origin = trace([installer('2024-01-01T09:59:59.000Z', 'inst.exe --install --name Upd'), ...subscriptionAt('2024-01-01T10:00:00.000Z')]).origin!;
    expect(origin).toMatchObject({ method: 'wmi-client', process: 'C:\\Users\\eve\\AppData\\Local\\Temp\\inst.exe', confidence: 'medium' });
  });

  it('does not take a program that merely mentions the name hours earlier', () => {
    const origin = trace([installer('2024-01-01T06:00:00.000Z', 'C:\\Program Files\\Upd\\upd.exe /check'), ...subscriptionAt('2024-01-01T10:00:00.000Z')]).origin!;
    expect(origin.method).toBe('unknown');
  });
});

describe('origin on content shared by several subscriptions', () => {
  it('does not credit a command that names other objects with a subscription that only shares its query', () => {
    const creator = processCreated('2024-01-01T09:59:59.000Z', {
      guid: '{p}',
      pid: 500,
      image: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
      commandLine: `powershell -c "Set-WmiInstance -Namespace root\\subscription -Class __EventFilter -Arguments @{Name='LabFilter'; Query=\\"${QUERY}\\"}"`,
      parentGuid: '{e}',
      parentPid: 100,
      parentImage: 'C:\\Windows\\explorer.exe',
    });
    const other = trace([creator, ...subscriptionAt('2024-01-01T10:00:00.000Z', 'OtherUpd')]);
    expect(other.origin!.matchedOn ?? '').not.toMatch(/^content/);
    expect(other.origin!.confidence).not.toBe('high');

    const own = trace([creator, ...subscriptionAt('2024-01-01T10:00:00.000Z', 'LabFilter')]);
    expect(own.origin).toMatchObject({ method: 'powershell', confidence: 'high', matchedOn: expect.stringMatching(/^content/) });
  });
});
