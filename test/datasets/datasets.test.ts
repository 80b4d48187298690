import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAllowlist } from '../../src/allowlist/load-allowlist.js';
import type { AllowlistEntry } from '../../src/domain/analysis/allowlist.js';
import { isHighOrAbove, type Finding } from '../../src/domain/finding.js';
import { objectsFromEvents } from '../../src/domain/origin/event-objects.js';
import { loadInputs } from '../../src/ingest/input-loader.js';
import { analyzeInputs, type OfflineAnalysis } from '../../src/ingest/offline-analysis.js';

/**
 * The ground truth of ../shared/datasets/README.md, file by file: the subscriptions and origins it
 * lists are found from the events alone, and no benign default is raised to High or above.
 */
const DATASETS = fileURLToPath(new URL('../../../shared/datasets/', import.meta.url));

let allowlist: AllowlistEntry[];
beforeAll(async () => {
  allowlist = await loadAllowlist({ includeDefault: true });
});

async function analyze(file: string): Promise<OfflineAnalysis> {
  return analyzeInputs([`${DATASETS}${file}`], { cwd: DATASETS, allowlist });
}

async function wmiEventsOf(file: string) {
  return (await loadInputs([{ path: `${DATASETS}${file}`, fromFolder: false }], { cwd: DATASETS })).index.wmiEvents;
}

function only(findings: Finding[], predicate: (finding: Finding) => boolean): Finding {
  const matching = findings.filter(predicate);
  expect(matching).toHaveLength(1);
  return matching[0]!;
}

function expectNoBenignRaised(findings: Finding[]): void {
  for (const finding of findings) if (finding.benign) expect(isHighOrAbove(finding.riskLevel)).toBe(false);
}

describe('wmic-commandline-consumer.sysmon.xml (WinPwnage, IEWIN7)', () => {
  let result: OfflineAnalysis;
  beforeAll(async () => {
    result = await analyze('wmic-commandline-consumer.sysmon.xml');
  });

  it('rebuilds the subscription from Sysmon 19/20/21 and reports it deleted, with both times', () => {
    expect(result.problems).toEqual([]);
    const finding = only(result.findings, (f) => f.kind === 'subscription');
    expect(finding.host).toBe('IEWIN7');
    expect(finding.filterName).toBe('BotFilter82');
    expect(finding.filterQuery).toBe("SELECT * FROM __InstanceModificationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'");
    expect(finding.consumerName).toBe('BotConsumer23');
    expect(finding.consumerType).toBe('CommandLine');
    expect(finding.consumerAction).toBe('c:\\Windows\\System32\\cmd.exe');
    expect(finding.binding).toContain('BotFilter82');
    expect(finding.namespace).toBe('root\\subscription');
    expect(finding.userContext).toBe('IEWIN7\\IEUser');
    expect(finding.source).toBe('eventlog');
    expect(finding.deleted).toBe('2019-05-11T17:58:55.090Z');
    expect(finding.objects.every((object) => object.deletedAt !== null)).toBe(true);
    // The earliest creation evidence is the wmic process, 16 s before Sysmon logged the filter.
    expect(finding.created).toBe('2019-05-11T17:58:23.215Z');
  });

  it('traces it to the three wmic.exe CREATE commands, their python parent and its cmd.exe parent', () => {
    const origin = only(result.findings, (f) => f.kind === 'subscription').origin!;
    expect(origin.method).toBe('wmic');
    expect(origin.process).toMatch(/\\wbem\\WMIC\.exe$/i);
    expect(origin.commandLine).toMatch(/PATH CommandLineEventConsumer CREATE Name="BotConsumer23"/);
    expect(origin.confidence).toBe('high');
    expect(origin.user).toBe('IEWIN7\\IEUser');
    expect(origin.integrityLevel).toBe('High');
    const creators = origin.evidence.filter((ref) => ref.eventId === 1).map((ref) => ref.recordId).sort();
    expect(creators).toEqual([16110, 16113, 16114]);
    expect(origin.parentChain[0]!.image).toBe('C:\\Python27\\python.exe');
    expect(origin.parentChain[0]!.commandLine).toContain('winpwnage.py -u elevate -i 5');
    expect(origin.parentChain[1]!.image).toBe('C:\\Windows\\System32\\cmd.exe');
    expect(origin.evidence.every((ref) => ref.source?.startsWith('wmic-commandline-consumer.sysmon.xml:event #'))).toBe(true);
  });

  it('shows the execution by WmiPrvSE.exe as SYSTEM and raises the risk for it', () => {
    const finding = only(result.findings, (f) => f.kind === 'subscription');
    expect(finding.origin!.executions).toHaveLength(1);
    const execution = finding.origin!.executions[0]!;
    expect(execution.commandLine).toBe('c:\\Windows\\System32\\cmd.exe');
    expect(execution.parentImage).toMatch(/WmiPrvSE\.exe$/i);
    expect(execution.user).toBe('NT AUTHORITY\\SYSTEM');
    expect(finding.reasons.map((reason) => reason.rule)).toContain('origin.executed');
    expect(finding.riskLevel).toBe('Critical');
  });

  it('counts no deletion command as the origin', () => {
    const origin = only(result.findings, (f) => f.kind === 'subscription').origin!;
    expect(origin.commandLine).not.toMatch(/DELETE/);
  });
});

describe('powerlurk-process-start.sysmon.evtx.jsonl (fs01.offsec.lan)', () => {
  let result: OfflineAnalysis;
  beforeAll(async () => {
    result = await analyze('powerlurk-process-start.sysmon.evtx.jsonl');
  });

  it('finds the filter and the consumer named Evil, with no binding in the file', () => {
    const filter = only(result.findings, (f) => f.kind === 'orphan-filter');
    expect(filter.filterName).toBe('Evil');
    expect(filter.filterQuery).toBe("SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName='notepad.exe'");
    const consumer = only(result.findings, (f) => f.kind === 'orphan-consumer');
    expect(consumer.consumerName).toBe('Evil');
    expect(consumer.consumerAction).toBe('cmd.exe /c echo %ProcessId% >> c:\\\\temp\\\\log.txt');
    expect(result.findings.some((f) => f.kind === 'subscription')).toBe(false);
    for (const finding of [filter, consumer]) expect(finding.userContext).toBe('OFFSEC\\admmig');
  });

  it('says the creating process is not visible rather than guessing one', () => {
    for (const finding of result.findings) {
      expect(finding.origin!.method).toBe('unknown');
      expect(finding.origin!.process).toBeNull();
      expect(finding.origin!.user).toBe('OFFSEC\\admmig');
      expect(finding.origin!.confidence).toBe('low');
    }
  });
});

describe('covenant-persistwmi.mordor.jsonl (IT001.shire.com among 5 hosts)', () => {
  let result: OfflineAnalysis;
  beforeAll(async () => {
    result = await analyze('covenant-persistwmi.mordor.jsonl');
  });

  it('rebuilds the one subscription from Sysmon 19/20/21 and 5861, unescaping the logged command', () => {
    expect(result.findings).toHaveLength(1);
    const finding = result.findings[0]!;
    expect(finding.kind).toBe('subscription');
    expect(finding.host).toBe('IT001.shire.com');
    expect(finding.filterName).toBe('Evil Persistence');
    expect(finding.filterQuery).toBe("select * from Win32_ProcessStartTrace where ProcessName='notepad.exe'");
    expect(finding.consumerAction).toBe('powershell -Sta -Nop -Window Hidden -EncodedCommand <blah>');
    expect(finding.namespace).toBe('root\\subscription');
    expect(finding.userContext).toBe('shire\\pgustavo');
    expect(finding.deleted).toBeNull();
    expect(isHighOrAbove(finding.riskLevel)).toBe(true);
  });

  it('keeps the CreatorSID 5861 logged, decoded from its bytes', async () => {
    const objects = objectsFromEvents(await wmiEventsOf('covenant-persistwmi.mordor.jsonl'));
    expect(new Set(objects.map((object) => object.creatorSid))).toEqual(new Set(['S-1-5-21-791464340-1796667228-2788435825-1112']));
  });

  it('reports no creating process (none is in the data) and no execution', () => {
    const origin = result.findings[0]!.origin!;
    expect(origin.method).toBe('unknown');
    expect(origin.process).toBeNull();
    expect(origin.user).toBe('shire\\pgustavo');
    expect(origin.executions).toEqual([]);
    expect(origin.evidence.map((ref) => ref.eventId).sort()).toEqual([19, 20, 21, 5861]);
  });
});

describe('empire-elevated-wmi.winlogbeat.jsonl (HR001.shire.com)', () => {
  let result: OfflineAnalysis;
  beforeAll(async () => {
    result = await analyze('empire-elevated-wmi.winlogbeat.jsonl');
  });

  it('rebuilds the Updater subscription with its whole encoded stager', () => {
    const finding = only(result.findings, (f) => f.kind === 'subscription');
    expect(finding.host).toBe('HR001.shire.com');
    expect(finding.filterName).toBe('Updater');
    expect(finding.filterQuery).toBe(
      "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240 AND TargetInstance.SystemUpTime < 325",
    );
    expect(finding.consumerName).toBe('Updater');
    expect(finding.consumerAction!.startsWith('C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -NonI -W hidden -enc SQBmACgA')).toBe(true);
    // 5,439 characters as Sysmon logs it (leading space, quotes, doubled backslashes); 5,431 unescaped.
    expect(finding.consumerAction).toHaveLength(5431);
    expect(finding.userContext).toBe('SHIRE\\nmartha');
    expect(finding.riskLevel).toBe('Critical');
  });

  it('keeps the CreatorSID of the 5861 read from user_data', async () => {
    const sids = new Set(objectsFromEvents(await wmiEventsOf('empire-elevated-wmi.winlogbeat.jsonl')).map((object) => object.creatorSid));
    expect(sids).toEqual(new Set(['S-1-5-21-2511471446-1103646877-3980648787-1106']));
  });

  it('traces it to the Empire agent through the PowerShell pipeline records', () => {
    const origin = only(result.findings, (f) => f.kind === 'subscription').origin!;
    expect(origin.method).toBe('powershell');
    expect(origin.confidence).toBe('high');
    expect(origin.commandLine!.startsWith('C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -noP -sta -w 1 -enc ')).toBe(true);
    expect(origin.user).toBe('SHIRE\\nmartha');
    expect(origin.scriptBlock).toContain("Set-WmiInstance -Class __EventFilter -Namespace \"root\\subscription\" -Arguments @{name='Updater'");
    const pipelineRecords = origin.evidence.filter((ref) => ref.eventId === 4103);
    expect(pipelineRecords.length).toBeGreaterThanOrEqual(3);
    expect(origin.parentChain).toEqual([]);
    expect(origin.executions).toEqual([]);
    expect(Date.parse(origin.time!)).toBeLessThanOrEqual(Date.parse('2019-05-18T18:43:40.305Z'));
  });
});

describe('benign-scm-default.wmi-activity.mordor.jsonl (negative control)', () => {
  let result: OfflineAnalysis;
  beforeAll(async () => {
    result = await analyze('benign-scm-default.wmi-activity.mordor.jsonl');
  });

  it('reads the SCM default from the 5861 message text and keeps it benign, below High', () => {
    expect(result.problems).toEqual([]);
    expect(result.findings).toHaveLength(1);
    const finding = result.findings[0]!;
    expect(finding.filterName).toBe('SCM Event Log Filter');
    expect(finding.filterQuery).toBe('select * from MSFT_SCMEventLogEvent');
    expect(finding.consumerName).toBe('SCM Event Log Consumer');
    expect(finding.consumerType).toBe('NTEventLog');
    expect(finding.benign).toBe(true);
    expect(isHighOrAbove(finding.riskLevel)).toBe(false);
    expect(finding.userContext).toBe('BUILTIN\\Administrators');
  });

  it('turns no temporary (5860) subscription into a finding', () => {
    expect(result.findings.map((f) => f.filterQuery)).not.toContain("SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName = 'wsmprovhost.exe'");
  });
});

describe.each([
  'wmic-commandline-consumer.sysmon.xml',
  'powerlurk-process-start.sysmon.evtx.jsonl',
  'covenant-persistwmi.mordor.jsonl',
  'empire-elevated-wmi.winlogbeat.jsonl',
  'benign-scm-default.wmi-activity.mordor.jsonl',
])('%s', (file) => {
  it('raises no benign default to High or above and reads every record', async () => {
    const result = await analyze(file);
    expectNoBenignRaised(result.findings);
    expect(result.problems).toEqual([]);
    expect(result.findings.length).toBeGreaterThan(0);
  });
});

describe('all datasets together', () => {
  it('keep one finding per object and raise no benign default to High or above', async () => {
    const files = [
      'wmic-commandline-consumer.sysmon.xml',
      'powerlurk-process-start.sysmon.evtx.jsonl',
      'covenant-persistwmi.mordor.jsonl',
      'empire-elevated-wmi.winlogbeat.jsonl',
      'benign-scm-default.wmi-activity.mordor.jsonl',
    ];
    const result = await analyzeInputs(files.map((file) => `${DATASETS}${file}`), { cwd: DATASETS, allowlist });
    expectNoBenignRaised(result.findings);
    expect(result.findings.filter((f) => f.kind === 'subscription').map((f) => f.filterName).sort()).toEqual([
      'BotFilter82',
      'Evil Persistence',
      'SCM Event Log Filter',
      'Updater',
    ]);
    expect(result.hosts.map((h) => h.host).sort()).toContain('HR001.shire.com');
  });
});

describe('wmic-commandline-consumer.sysmon.evtx (the same recording, raw EVTX)', () => {
  it('gives the same findings and origins as its XML rendering', async () => {
    const fromXml = await analyze('wmic-commandline-consumer.sysmon.xml');
    const fromEvtx = await analyze('wmic-commandline-consumer.sysmon.evtx');
    const withoutSources = (findings: Finding[]) =>
      JSON.parse(JSON.stringify(findings, (key, value) => (key === 'source' && typeof value === 'string' && value.includes(':') ? undefined : value)));
    expect(withoutSources(fromEvtx.findings)).toEqual(withoutSources(fromXml.findings));
  });
});
