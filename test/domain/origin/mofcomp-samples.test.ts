import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAllowlist } from '../../../src/allowlist/load-allowlist.js';
import type { AllowlistEntry } from '../../../src/domain/analysis/allowlist.js';
import { analyzeInputs } from '../../../src/ingest/offline-analysis.js';

/** The written MOF-installation exports in samples/events (no public recording has mofcomp). */
const SAMPLES = fileURLToPath(new URL('../../../samples/events/', import.meta.url));

let allowlist: AllowlistEntry[];
beforeAll(async () => {
  allowlist = await loadAllowlist({ includeDefault: true });
});

describe('mofcomp.exe from PowerShell with the MOF text in a 4104 script block (Sysmon XML)', () => {
  it('names mofcomp and its .mof path as the origin, autorecover from the MOF text, and the fired script consumer', async () => {
    const { findings, problems } = await analyzeInputs([`${SAMPLES}mofcomp-autorecover.sysmon.xml`], { cwd: SAMPLES, allowlist });
    expect(problems).toEqual([]);
    expect(findings).toHaveLength(1);
    const finding = findings[0]!;
    expect(finding).toMatchObject({ kind: 'subscription', filterName: 'WindowsUpdateCheck', consumerType: 'ActiveScript', userContext: 'CORP\\alice', riskLevel: 'Critical' });
    const origin = finding.origin!;
    expect(origin).toMatchObject({
      method: 'mofcomp',
      process: 'C:\\Windows\\System32\\wbem\\mofcomp.exe',
      mofPath: 'C:\\Users\\alice\\AppData\\Local\\Temp\\wuc.mof',
      autorecover: true,
      confidence: 'high',
      user: 'CORP\\alice',
    });
    expect(origin.scriptBlock).toContain('#pragma autorecover');
    expect(origin.parentChain.map((p) => p.image)).toEqual(['C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', 'C:\\Windows\\explorer.exe']);
    expect(origin.evidence.map((ref) => ref.eventId)).toEqual(expect.arrayContaining([1, 4104, 19, 20, 21]));
    expect(origin.executions.map((e) => e.image)).toEqual(['C:\\Windows\\System32\\wbem\\scrcons.exe', 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe']);
    expect(finding.reasons.map((r) => r.rule)).toEqual(expect.arrayContaining(['origin.executed', 'origin.mof-autorecover']));
  });
});

describe('mofcomp.exe from a cscript dropper in Security 4688, the subscription only in a 5861 message (nxlog)', () => {
  it('takes mofcomp on time proximity with its 4688 chain, resolves the CreatorSID and shows the execution', async () => {
    const { findings, problems } = await analyzeInputs([`${SAMPLES}mofcomp-cscript.nxlog.jsonl`], { cwd: SAMPLES, allowlist });
    expect(problems).toEqual([]);
    expect(findings).toHaveLength(1);
    const finding = findings[0]!;
    expect(finding).toMatchObject({ filterName: 'DbMaint', consumerAction: 'C:\\ProgramData\\dbm\\svc.exe -k maint', userContext: 'CORP\\bob' });
    expect(finding.origin).toMatchObject({
      method: 'mofcomp',
      mofPath: 'C:\\Users\\bob\\AppData\\Local\\Temp\\x.mof',
      autorecover: null,
      confidence: 'medium',
      user: 'CORP\\bob',
      logonId: '0x5a3f1',
      integrityLevel: 'High',
    });
    expect(finding.origin!.parentChain.map((p) => p.image)).toEqual(['C:\\Windows\\System32\\cscript.exe', 'C:\\Windows\\explorer.exe', 'C:\\Windows\\System32\\userinit.exe']);
    expect(finding.origin!.executions).toHaveLength(1);
    expect(finding.origin!.executions[0]!.commandLine).toBe('C:\\ProgramData\\dbm\\svc.exe -k maint');
  });
});
