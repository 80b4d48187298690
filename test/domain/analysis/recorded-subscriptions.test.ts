import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAllowlist } from '../../../src/allowlist/load-allowlist.js';
import type { AllowlistEntry } from '../../../src/domain/analysis/allowlist.js';
import { addReasons, analyzeObjects, findingContentHash } from '../../../src/domain/analysis/analyze.js';
import { isHighOrAbove, type Finding } from '../../../src/domain/finding.js';
import { commandLineConsumer, filterObject, STARTUP_QUERY, SUB, subscription, wmiObject } from './build-objects.js';

/**
 * Subscriptions as the recordings in ../shared/datasets show them (see its README for the ground
 * truth), built as objects the way a collection or the event-log reader would give them.
 */
const DATASETS = new URL('../../../../shared/datasets/', import.meta.url);

/** The Empire stager exactly as Sysmon 20 logged it (leading space, quotes, doubled backslashes removed). */
function empireDestination(): string {
  const lines = readFileSync(new URL('empire-elevated-wmi.winlogbeat.jsonl', DATASETS), 'utf8').split('\n').filter(Boolean);
  for (const line of lines) {
    const event = JSON.parse(line) as { event_id: number; event_data?: Record<string, string> };
    if (event.event_id === 20 && event.event_data?.Name?.includes('Updater') && event.event_data.Destination) {
      return event.event_data.Destination.trim().replace(/^"|"$/g, '').replace(/\\\\/g, '\\');
    }
  }
  throw new Error('no Sysmon 20 record for Updater in the Empire recording');
}

let allowlist: AllowlistEntry[];
beforeAll(async () => {
  allowlist = await loadAllowlist();
});

const one = (objects: Parameters<typeof analyzeObjects>[0]): Finding => {
  const findings = analyzeObjects(objects, { allowlist });
  expect(findings).toHaveLength(1);
  return findings[0]!;
};

describe('recorded subscriptions', () => {
  it("rates Empire's Updater (SystemUpTime trigger, -enc stager) Critical and shows what the stager decodes to", () => {
    const destination = empireDestination();
    expect(destination.length).toBeGreaterThan(5000);
    const finding = one(subscription(filterObject('Updater', STARTUP_QUERY, SUB, {}, 'root\\CimV2'), commandLineConsumer('Updater', destination)));
    expect(finding.riskLevel).toBe('Critical');
    const rules = finding.reasons.map((r) => r.rule);
    expect(rules).toEqual(expect.arrayContaining(['payload.encoded-powershell', 'trigger.startup', 'combo.code-with-obfuscation-or-download', 'combo.autostart-launcher']));
    const encoded = finding.reasons.find((r) => r.rule === 'payload.encoded-powershell')!;
    expect(encoded.message).toMatch(/decoded: "If\(\$PSVersionTable\.PSVersion\.Major/i);
  });

  it("rates WinPwnage's BotFilter82 → cmd.exe at start-up High, deleted when events say so", () => {
    const deletedAt = '2019-05-11T17:09:10.000Z';
    const filter = filterObject('BotFilter82', "SELECT * FROM __InstanceModificationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'", SUB, { source: 'eventlog', loggedUser: 'IEWIN7\\IEUser', deletedAt });
    const consumer = commandLineConsumer('BotConsumer23', 'c:\\Windows\\System32\\cmd.exe', SUB, { source: 'eventlog', loggedUser: 'IEWIN7\\IEUser', deletedAt });
    const finding = one(subscription(filter, consumer, { source: 'eventlog', loggedUser: 'IEWIN7\\IEUser', deletedAt }));
    expect(finding.riskLevel).toBe('High');
    expect(finding).toMatchObject({ userContext: 'IEWIN7\\IEUser', deleted: deletedAt, source: 'eventlog' });
    expect(finding.reasons.map((r) => r.rule)).toContain('payload.shell');
  });

  it("rates PowerLurk's notepad process-start trigger writing under c:\\temp Critical", () => {
    const filter = filterObject('Evil', "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName='notepad.exe'", SUB, {}, 'root/cimv2');
    const finding = one(subscription(filter, commandLineConsumer('Evil', 'cmd.exe /c echo %ProcessId% >> c:\\\\temp\\\\log.txt')));
    expect(finding.riskLevel).toBe('Critical');
    expect(finding.reasons.map((r) => r.rule)).toEqual(expect.arrayContaining(['trigger.process-start', 'payload.user-writable-path']));
  });

  it("rates Covenant's -EncodedCommand consumer Critical even though the recording's argument is a placeholder", () => {
    const filter = filterObject('Evil Persistence', "select * from Win32_ProcessStartTrace where ProcessName='notepad.exe'");
    const finding = one(subscription(filter, commandLineConsumer('Evil Persistence', 'powershell -Sta -Nop -Window Hidden -EncodedCommand <blah>')));
    expect(finding.riskLevel).toBe('Critical');
    expect(finding.reasons.find((r) => r.rule === 'payload.encoded-powershell')!.message).toContain('not base64');
  });

  it('keeps the Windows SCM default of the clean reboot benign and below High', () => {
    const sid = { creatorSid: 'S-1-5-32-544' };
    const filter = filterObject('SCM Event Log Filter', 'select * from MSFT_SCMEventLogEvent', SUB, sid, 'root\\cimv2');
    const consumer = wmiObject('consumer', '//./root/subscription', 'NTEventLogEventConsumer', { Category: 0, EventType: 1, Name: 'SCM Event Log Consumer', NameOfUserSIDProperty: 'sid', SourceName: 'Service Control Manager' }, sid);
    const finding = one(subscription(filter, consumer));
    expect(finding.benign).toBe(true);
    expect(isHighOrAbove(finding.riskLevel)).toBe(false);
    expect(finding.userContext).toBe('BUILTIN\\Administrators');
  });
});

describe('finding identity and later reasons', () => {
  const objects = () => subscription(filterObject('F', STARTUP_QUERY), commandLineConsumer('C', 'C:\\Tools\\a.exe'));

  it('derives the content hash from the objects\' hashes, the same way every time', () => {
    const [first] = analyzeObjects(objects(), { allowlist });
    const [second] = analyzeObjects(objects().reverse(), { allowlist });
    expect(second!.contentHash).toBe(first!.contentHash);
    expect(first!.contentHash).toBe(findingContentHash('subscription', first!.objects));
    expect(first!.id).toMatch(/^[0-9a-f]{12}$/);
    const changed = subscription(filterObject('F', STARTUP_QUERY), commandLineConsumer('C', 'C:\\Tools\\b.exe'));
    expect(analyzeObjects(changed, { allowlist })[0]!.contentHash).not.toBe(first!.contentHash);
  });

  it('gives the same content on another host another id but the same content hash', () => {
    const [here] = analyzeObjects(objects(), { allowlist });
    const [there] = analyzeObjects(objects().map((o) => ({ ...o, host: 'OTHER' })), { allowlist });
    expect(there!.contentHash).toBe(here!.contentHash);
    expect(there!.id).not.toBe(here!.id);
  });

  it('re-derives the level from added reasons, ignoring ones already there', () => {
    const [finding] = analyzeObjects(objects(), { allowlist });
    const raised = addReasons(finding!, [{ rule: 'origin.mofcomp-from-temp', level: 'Critical', message: 'created by mofcomp.exe from C:\\Temp\\x.mof' }]);
    expect(raised.riskLevel).toBe('Critical');
    expect(addReasons(raised, raised.reasons)).toBe(raised);
  });

  it('keeps a benign default benign under a Medium reason and not under a High one', () => {
    const sid = { creatorSid: 'S-1-5-32-544' };
    const scm = subscription(
      filterObject('SCM Event Log Filter', 'select * from MSFT_SCMEventLogEvent', SUB, sid),
      wmiObject('consumer', SUB, 'NTEventLogEventConsumer', { Name: 'SCM Event Log Consumer', Category: 0, EventType: 1, NameOfUserSIDProperty: 'sid', SourceName: 'Service Control Manager' }, sid),
    );
    const [benign] = analyzeObjects(scm, { allowlist });
    const medium = addReasons(benign!, [{ rule: 'origin.unusual-time', level: 'Medium', message: 'created outside the build window' }]);
    expect(medium).toMatchObject({ benign: true, riskLevel: 'Medium' });
    const high = addReasons(benign!, [{ rule: 'origin.mofcomp-from-temp', level: 'High', message: 'created by mofcomp.exe from a Temp folder' }]);
    expect(high).toMatchObject({ benign: false, riskLevel: 'High' });
  });
});
