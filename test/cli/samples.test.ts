import { beforeAll, describe, expect, it } from 'vitest';
import { loadAllowlist } from '../../src/allowlist/load-allowlist.js';
import type { AllowlistEntry } from '../../src/domain/analysis/allowlist.js';
import { analyzeCollections, analyzeObjects } from '../../src/domain/analysis/analyze.js';
import type { Finding } from '../../src/domain/finding.js';
import { readFileSync } from 'node:fs';
import { parseCollection } from '../../src/domain/collection.js';
import { objectsFromCollection } from '../../src/domain/wmi-object.js';
import { COLLECTIONS_DIR, SAMPLES, staleSamples } from '../../samples/build.js';

let allowlist: AllowlistEntry[];
const findingsOf = new Map<string, Finding[]>();

function readSample(file: string) {
  const collection = parseCollection(JSON.parse(readFileSync(COLLECTIONS_DIR + file, 'utf8')), file);
  return { collection, objects: objectsFromCollection(collection) };
}

beforeAll(async () => {
  allowlist = await loadAllowlist();
  for (const { file } of SAMPLES) {
    const loaded = readSample(file);
    findingsOf.set(file, analyzeObjects(loaded.objects, { allowlist }));
  }
});

const rules = (finding: Finding) => finding.reasons.map((r) => r.rule);

describe('bundled sample collections', () => {
  it('are exactly what samples/build.ts generates (content hashes included)', () => {
    expect(staleSamples()).toEqual([]);
  });

  it('give the same findings through analyzeCollections', async () => {
    const loaded = readSample('borrowed-name-impostor.json');
    expect(analyzeCollections([loaded.collection], { allowlist })).toEqual(findingsOf.get('borrowed-name-impostor.json'));
  });

  it('APT29: ActiveScript consumer on a start-up trigger is Critical', () => {
    const [finding] = findingsOf.get('apt29-activescript-startup.json')!;
    expect(finding!.riskLevel).toBe('Critical');
    expect(rules(finding!)).toEqual(expect.arrayContaining(['consumer.active-script', 'trigger.startup', 'payload.script-exec-object']));
  });

  it('Turla: CommandLine consumer on a process-start trigger is Critical', () => {
    const [finding] = findingsOf.get('turla-process-start-commandline.json')!;
    expect(finding!.riskLevel).toBe('Critical');
    expect(rules(finding!)).toEqual(expect.arrayContaining(['consumer.commandline', 'trigger.process-start']));
  });

  it('FIN8: interval timer with encoded PowerShell is Critical and carries its timer instruction', () => {
    const [finding] = findingsOf.get('fin8-interval-timer-encoded-powershell.json')!;
    expect(finding!.riskLevel).toBe('Critical');
    expect(rules(finding!)).toEqual(expect.arrayContaining(['payload.encoded-powershell', 'trigger.timer']));
    expect(finding!.objects.map((o) => o.kind)).toContain('timer');
  });

  it('MOF-installed subscription in root\\cimv2 is Critical and flagged outside root\\subscription', () => {
    const [finding] = findingsOf.get('mof-installed-logon-subscription.json')!;
    expect(finding!.riskLevel).toBe('Critical');
    expect(rules(finding!)).toEqual(expect.arrayContaining(['namespace.outside-subscription', 'trigger.logon']));
  });

  it('Windows defaults stay benign and Low', () => {
    const findings = findingsOf.get('windows-defaults.json')!;
    expect(findings.map((f) => [f.allowlistEntry, f.benign, f.riskLevel]).sort()).toEqual([
      ['windows.bvt-kernrate', true, 'Low'],
      ['windows.scm-event-log', true, 'Low'],
    ]);
  });

  it('borrowed-name impostors are raised, not lowered', () => {
    const findings = findingsOf.get('borrowed-name-impostor.json')!;
    expect(findings).toHaveLength(2);
    for (const finding of findings) {
      expect(finding.benign).toBe(false);
      expect(rules(finding)).toContain('allowlist.borrowed-name');
      expect(finding.riskLevel).toBe('Critical');
    }
  });
});
