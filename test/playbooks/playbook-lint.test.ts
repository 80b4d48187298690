import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { lintPlaybookDirectory, lintPlaybookText } from '../../src/playbooks/playbook-lint.js';
import { PlaybookRegistry, resolveParams } from '../../src/playbooks/playbook-registry.js';
import { ErrorCode } from '../../src/errors.js';
import { PLAYBOOKS_DIR } from '../app/engine-harness.js';

const SHIPPED = ['mofcomp-execution-triage', 'wmi-persistence-hunt', 'wmi-subscription-sweep', 'wmiprvse-child-triage'];

async function shipped(name: string): Promise<Record<string, unknown>> {
  return parse(await readFile(join(PLAYBOOKS_DIR, `${name}.yaml`), 'utf8')) as Record<string, unknown>;
}

function lint(document: unknown, file = 'playbooks/wmi-persistence-hunt.yaml') {
  return lintPlaybookText(stringify(document), file).problems.map((problem) => `${problem.path}: ${problem.message}`);
}

describe('playbook lint', () => {
  it('passes every shipped playbook, each named after its file', async () => {
    const { playbooks, problems } = await lintPlaybookDirectory(PLAYBOOKS_DIR);
    expect(problems).toEqual([]);
    expect(playbooks.map((entry) => entry.playbook.name)).toEqual(SHIPPED);
    for (const entry of playbooks) expect(entry.file.endsWith(`${entry.playbook.name}.yaml`)).toBe(true);
  });

  it('ships the persistence hunt with collect, trace, report, approval, remove and verify in that order', async () => {
    const steps = ((await shipped('wmi-persistence-hunt')).steps as Array<{ action: string }>).map((step) => step.action).filter((action) => action !== 'notify');
    expect(steps).toEqual(['collect', 'analyze', 'trace', 'report', 'request-approval', 'remove', 'verify']);
  });

  it('rejects unknown fields anywhere', async () => {
    const document = await shipped('wmi-persistence-hunt');
    expect(lint({ ...document, severity: 'high' })).toEqual([expect.stringMatching(/^\(root\): Unrecognized key/)]);
    const steps = structuredClone(document.steps) as Array<Record<string, unknown>>;
    steps[0] = { ...steps[0], retries: 3 };
    expect(lint({ ...document, steps })).toEqual([expect.stringMatching(/^steps\.0: Unrecognized key/)]);
  });

  it('rejects a name that differs from the file name, a bad uuid, and a missing ATT&CK tag', async () => {
    const document = await shipped('wmi-persistence-hunt');
    expect(lint(document, 'playbooks/other-name.yaml')).toEqual(['name: name "wmi-persistence-hunt" must equal the file name "other-name"']);
    expect(lint({ ...document, id: 'not-a-uuid' })).toEqual([expect.stringMatching(/^id:/)]);
    expect(lint({ ...document, tags: ['persistence'] })).toEqual(['tags: needs at least one ATT&CK tag (attack.*)']);
  });

  it('rejects an action outside the fixed set and steps out of order', async () => {
    const document = await shipped('wmi-persistence-hunt');
    const steps = document.steps as Array<Record<string, unknown>>;
    expect(lint({ ...document, steps: [...steps, { id: 'shell', action: 'run-command' }] }).join('\n')).toMatch(/steps\.\d+\.action/);
    const withoutGate = steps.filter((step) => step.action !== 'request-approval' && step.id !== 'notify-approval');
    expect(lint({ ...document, steps: withoutGate })).toEqual(['steps.5: remove needs an earlier request-approval step']);
    const reportFirst = [steps[3], ...steps.filter((_, index) => index !== 3)];
    expect(lint({ ...document, steps: reportFirst }).join('\n')).toMatch(/the first step must be collect/);
  });

  it('rejects conditions on unknown or stopping steps and parameter references of the wrong type', async () => {
    const document = await shipped('wmiprvse-child-triage');
    const steps = structuredClone(document.steps) as Array<Record<string, unknown>>;
    const branch = steps.find((step) => step.id === 'notify-trace-failed')!;
    branch.when = { failed: 'report' };
    expect(lint({ ...document, steps }, 'wmiprvse-child-triage.yaml')).toEqual([
      'steps.5.when.failed: "report" stops the playbook on failure, so this branch can never run (give it onFailure: continue)',
    ]);
    branch.when = { failed: 'later' };
    expect(lint({ ...document, steps }, 'wmiprvse-child-triage.yaml')).toEqual(['steps.5.when.failed: "later" is not an earlier step']);
    branch.when = { minRisk: { param: 'lookbackHours' } };
    expect(lint({ ...document, steps }, 'wmiprvse-child-triage.yaml')).toEqual(['steps.5.when.minRisk: parameter "lookbackHours" is integer, expected risk']);
  });

  it('rejects duplicate YAML keys and duplicate ids across files', async () => {
    expect(lintPlaybookText('name: a\nname: b\n', 'a.yaml').problems[0]?.path).toBe('(yaml)');
    const dir = await mkdtemp(join(tmpdir(), 'wmi-playbooks-'));
    const document = await shipped('wmi-subscription-sweep');
    await writeFile(join(dir, 'wmi-subscription-sweep.yaml'), stringify(document));
    await writeFile(join(dir, 'copy-of-sweep.yaml'), stringify({ ...document, name: 'copy-of-sweep' }));
    const { problems } = await lintPlaybookDirectory(dir);
    expect(problems.map((problem) => problem.message)).toEqual([expect.stringMatching(/^id .* is also used by/)]);
    await expect(PlaybookRegistry.load(dir)).rejects.toMatchObject({ code: ErrorCode.SchemaViolation });
  });
});

describe('playbook registry', () => {
  it('matches alerts to the most specific playbook trigger', async () => {
    const registry = await PlaybookRegistry.load(PLAYBOOKS_DIR);
    const none = { eventIds: [], channels: [], tags: [], images: [], parentImages: [] };
    expect(registry.matchAlert({ ...none, eventIds: [20], channels: ['Microsoft-Windows-Sysmon/Operational'] })?.playbook.name).toBe('wmi-persistence-hunt');
    expect(registry.matchAlert({ ...none, eventIds: [5861], channels: ['microsoft-windows-wmi-activity/operational'] })?.playbook.name).toBe('wmi-persistence-hunt');
    expect(registry.matchAlert({ ...none, tags: ['attack.t1546.003'] })?.playbook.name).toBe('wmi-persistence-hunt');
    expect(registry.matchAlert({ ...none, parentImages: ['C:\\Windows\\System32\\wbem\\WmiPrvSE.exe'] })?.playbook.name).toBe('wmiprvse-child-triage');
    expect(registry.matchAlert({ ...none, images: ['C:\\Windows\\SysWOW64\\wbem\\mofcomp.exe'] })?.playbook.name).toBe('mofcomp-execution-triage');
    expect(registry.matchAlert({ ...none, eventIds: [20], channels: ['Security'] })).toBeNull();
    expect(registry.matchAlert({ ...none, eventIds: [4688], images: ['cmd.exe'] })).toBeNull();
    expect(registry.scheduled().map(({ entry, everyMs }) => [entry.playbook.name, everyMs])).toEqual([['wmi-subscription-sweep', 86_400_000]]);
  });

  it('resolves parameters by type and refuses unknown or ill-typed values', async () => {
    const { playbook } = (await PlaybookRegistry.load(PLAYBOOKS_DIR)).get('wmi-persistence-hunt');
    expect(resolveParams(playbook)).toEqual({ lookbackHours: 24, removalRisk: 'High', approvalExpiry: '4h' });
    expect(resolveParams(playbook, { removalRisk: 'Critical' }).removalRisk).toBe('Critical');
    expect(() => resolveParams(playbook, { removalRisk: 'Severe' })).toThrow(/removalRisk/);
    expect(() => resolveParams(playbook, { lookbackHours: 99_999 })).toThrow(/lookbackHours/);
  });
});
