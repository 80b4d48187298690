import type { Finding, Report } from '../../src/domain/finding.js';

/** Written findings for the Slack edge's tests (the shapes the analyzer produces). */
export function finding(overrides: Partial<Finding> = {}): Finding {
  const id = overrides.id ?? 'f-1a2b3c4d';
  return {
    id,
    kind: 'subscription',
    host: 'host01.corp.example',
    namespace: 'root\\subscription',
    filterName: 'UpdaterFilter',
    filterQuery: "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'",
    consumerName: 'UpdaterConsumer',
    consumerType: 'CommandLineEventConsumer',
    consumerAction: 'powershell.exe -NoP -W Hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA',
    binding: '__EventFilter.Name="UpdaterFilter" -> CommandLineEventConsumer.Name="UpdaterConsumer"',
    created: '2026-11-28T09:14:03.000Z',
    userContext: 'SYSTEM',
    riskLevel: 'Critical',
    reasons: [
      { rule: 'consumer.commandline', level: 'High', message: 'CommandLineEventConsumer runs a process' },
      { rule: 'payload.encoded-powershell', level: 'Critical', message: 'encoded PowerShell in the command' },
    ],
    contentHash: 'a'.repeat(64),
    origin: {
      method: 'wmic',
      process: 'C:\\Windows\\System32\\wbem\\WMIC.exe',
      commandLine: 'wmic /namespace:\\\\root\\subscription PATH __EventFilter CREATE Name="UpdaterFilter"',
      parentChain: [{ image: 'C:\\Windows\\System32\\cmd.exe', commandLine: 'cmd.exe', pid: 4242, time: '2026-11-28T09:14:01.000Z' }],
      user: 'CORP\\mallory',
      mofPath: null,
      time: '2026-11-28T09:14:03.000Z',
      evidence: [],
      confidence: 'high',
      executions: [],
    },
    benign: false,
    allowlistEntry: null,
    source: 'collection+eventlog',
    deleted: null,
    objects: [
      { kind: 'binding', namespace: 'root\\subscription', className: '__FilterToConsumerBinding', key: '__EventFilter.Name="UpdaterFilter"|CommandLineEventConsumer.Name="UpdaterConsumer"', contentHash: 'b'.repeat(64), source: 'collection', deletedAt: null },
      { kind: 'consumer', namespace: 'root\\subscription', className: 'CommandLineEventConsumer', key: 'UpdaterConsumer', contentHash: 'c'.repeat(64), source: 'collection', deletedAt: null },
      { kind: 'filter', namespace: 'root\\subscription', className: '__EventFilter', key: 'UpdaterFilter', contentHash: 'd'.repeat(64), source: 'collection', deletedAt: null },
    ],
    ...overrides,
  };
}

export function benignFinding(): Finding {
  return finding({
    id: 'f-benign01',
    filterName: 'SCM Event Log Filter',
    consumerName: 'SCM Event Log Consumer',
    consumerType: 'NTEventLogEventConsumer',
    consumerAction: null,
    riskLevel: 'Low',
    reasons: [],
    benign: true,
    allowlistEntry: 'windows.scm-event-log',
    origin: null,
  });
}

export function report(huntId: string, findings: Finding[] = [finding(), benignFinding()]): Report {
  return {
    reportVersion: 1,
    huntId,
    generatedAt: '2026-11-29T12:05:00.000Z',
    hosts: [{ host: 'host01.corp.example', collectedAt: '2026-11-29T12:04:00.000Z', namespacesScanned: 14, errors: [], sources: ['collection', 'eventlog'] }],
    findings,
    problems: [],
    partial: false,
  };
}
