import { beforeAll, describe, expect, it } from 'vitest';
import { loadAllowlist } from '../../../src/allowlist/load-allowlist.js';
import { AllowlistEntrySchema, lookAlike, type AllowlistEntry } from '../../../src/domain/analysis/allowlist.js';
import { analyzeObjects } from '../../../src/domain/analysis/analyze.js';
import { isHighOrAbove } from '../../../src/domain/finding.js';
import { bindingObject, commandLineConsumer, filterObject, SUB, subscription, wmiObject } from './build-objects.js';

let allowlist: AllowlistEntry[];
beforeAll(async () => {
  allowlist = await loadAllowlist();
});

/** Windows' SCM default, with the properties the benign-scm-default recording's 5861 logs for it. */
function scmFilter() {
  return filterObject('SCM Event Log Filter', 'select * from MSFT_SCMEventLogEvent', SUB, { creatorSid: 'S-1-5-32-544' });
}
function scmConsumer() {
  return wmiObject(
    'consumer',
    SUB,
    'NTEventLogEventConsumer',
    { Name: 'SCM Event Log Consumer', Category: 0, EventType: 1, NameOfUserSIDProperty: 'sid', SourceName: 'Service Control Manager' },
    { creatorSid: 'S-1-5-32-544' },
  );
}

describe('the allowlist', () => {
  it('keeps the Windows SCM default benign and below High', () => {
    const [finding] = analyzeObjects(subscription(scmFilter(), scmConsumer()), { allowlist });
    expect(finding).toMatchObject({ benign: true, riskLevel: 'Low', allowlistEntry: 'windows.scm-event-log' });
    expect(finding!.reasons.map((r) => r.rule)).toEqual(['allowlist.match']);
  });

  it('matches queries with different case and spacing', () => {
    const filter = filterObject('SCM Event Log Filter', '  SELECT *   FROM msft_scmeventlogevent ');
    expect(analyzeObjects(subscription(filter, scmConsumer()), { allowlist })[0]!.benign).toBe(true);
  });

  it('raises a CommandLine consumer that borrows the SCM default name', () => {
    const impostor = commandLineConsumer('SCM Event Log Consumer', 'powershell.exe -NoP -W Hidden -c "IEX $x"');
    const [finding] = analyzeObjects(subscription(scmFilter(), impostor), { allowlist });
    expect(finding!.benign).toBe(false);
    const borrowed = finding!.reasons.find((r) => r.rule === 'allowlist.borrowed-name')!;
    expect(borrowed.level).toBe('High');
    expect(borrowed.message).toContain('CommandLineEventConsumer instead of NTEventLogEventConsumer');
    expect(finding!.riskLevel).toBe('Critical');
  });

  it('raises the right class with another payload under the default name', () => {
    const consumer = wmiObject('consumer', SUB, 'NTEventLogEventConsumer', { Name: 'SCM Event Log Consumer', SourceName: 'Updater', EventType: 1 });
    const [finding] = analyzeObjects(subscription(scmFilter(), consumer), { allowlist });
    expect(finding!.benign).toBe(false);
    expect(finding!.reasons.find((r) => r.rule === 'allowlist.borrowed-name')?.message).toContain('SourceName');
    expect(isHighOrAbove(finding!.riskLevel)).toBe(true);
  });

  it('raises a look-alike name such as "SCM Event8 Log Consumer"', () => {
    const consumer = wmiObject('consumer', SUB, 'NTEventLogEventConsumer', { Name: 'SCM Event8 Log Consumer', Category: 0, EventType: 1, NameOfUserSIDProperty: 'sid', SourceName: 'Service Control Manager' });
    const [finding] = analyzeObjects(subscription(scmFilter(), consumer), { allowlist });
    expect(finding!.benign).toBe(false);
    expect(finding!.reasons.find((r) => r.rule === 'allowlist.borrowed-name')?.message).toContain('look-alike');
    expect(finding!.riskLevel).toBe('High');
  });

  it('does not lower the genuine default moved out of its namespace', () => {
    const filter = filterObject('SCM Event Log Filter', 'select * from MSFT_SCMEventLogEvent', 'root\\default');
    const consumer = { ...scmConsumer(), namespace: 'root\\default' };
    const [finding] = analyzeObjects(subscription(filter, consumer), { allowlist });
    expect(finding!.benign).toBe(false);
  });

  it('does not lower the BVT default when its command differs', () => {
    const filter = filterObject('BVTFilter', 'SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA "Win32_Processor" AND TargetInstance.LoadPercentage > 99');
    const genuine = commandLineConsumer('BVTConsumer', 'cscript KernCap.vbs');
    genuine.properties.WorkingDirectory = 'C:\\tools\\kernrate';
    expect(analyzeObjects(subscription(filter, genuine), { allowlist })[0]!.benign).toBe(true);
    const tampered = commandLineConsumer('BVTConsumer', 'cscript C:\\Users\\Public\\KernCap.vbs');
    const [finding] = analyzeObjects(subscription(filter, tampered), { allowlist });
    expect(finding!.benign).toBe(false);
    expect(isHighOrAbove(finding!.riskLevel)).toBe(true);
  });

  it('asks for a check of a default known only by name and never lowers it', () => {
    const filter = filterObject('TSLogonFilter', "SELECT * FROM __InstanceCreationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_LogonSession'");
    const [finding] = analyzeObjects([filter], { allowlist });
    expect(finding!.benign).toBe(false);
    expect(finding!.reasons.find((r) => r.rule === 'allowlist.unverified-default')?.level).toBe('Medium');
  });

  it('never makes anything benign on its name alone', () => {
    const onlyName = commandLineConsumer('BVTConsumer', 'cmd.exe /c whoami');
    const [finding] = analyzeObjects([onlyName], { allowlist });
    expect(finding!.benign).toBe(false);
  });

  it('takes operator entries as data', () => {
    const entry = AllowlistEntrySchema.parse({
      id: 'corp.inventory',
      status: 'verified',
      title: 'Corp inventory agent',
      why: 'Installed by the inventory package; runs the signed agent.',
      references: ['CHG-1234'],
      filter: { name: 'InvFilter', query: "SELECT * FROM __InstanceCreationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_Service'" },
      consumer: { name: 'InvConsumer', className: 'CommandLineEventConsumer', properties: { CommandLineTemplate: 'C:\\Program Files\\Inv\\agent.exe --scan' } },
    });
    const objects = subscription(
      filterObject('InvFilter', "SELECT * FROM __InstanceCreationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_Service'"),
      commandLineConsumer('InvConsumer', 'C:\\Program Files\\Inv\\agent.exe --scan'),
    );
    expect(analyzeObjects(objects, { allowlist: [entry] })[0]).toMatchObject({ benign: true, allowlistEntry: 'corp.inventory' });
    expect(analyzeObjects(objects, { allowlist: [] })[0]!.benign).toBe(false);
  });

  it('treats a half of a default (no binding) as benign, and a dangling binding to a default as not', () => {
    expect(analyzeObjects([scmConsumer()], { allowlist })[0]).toMatchObject({ kind: 'orphan-consumer', benign: true });
    const dangling = bindingObject('__EventFilter.Name="SCM Event Log Filter"', 'CommandLineEventConsumer.Name="x"');
    expect(analyzeObjects([scmFilter(), dangling], { allowlist })[0]).toMatchObject({ kind: 'dangling-binding', benign: false });
  });

  it.each([
    ['SCM Event8 Log Consumer', 'SCM Event Log Consumer', true],
    ['SCM Event Consumer', 'SCM Event Log Consumer', true],
    ['scm_event_log_consumer', 'SCM Event Log Consumer', true],
    ['BVTFilter2', 'BVTFilter', true],
    ['Updater', 'SCM Event Log Consumer', false],
    ['MyFilter', 'BVTFilter', false],
  ])('judges "%s" a look-alike of "%s": %s', (name, defaultName, expected) => {
    expect(lookAlike(name, defaultName)).toBe(expected);
  });
});
