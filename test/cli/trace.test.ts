import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { freshStateDir, REPO_ROOT, runCli } from './run-cli.js';

const DATASETS = '../shared/datasets';

describe('wmi-hunter trace', () => {
  it('prints the origin chains of a folder of real exports (XML, JSON lines, .evtx), skipping the README', async () => {
    const { code, stdout, stderr } = await runCli(['trace', DATASETS]);
    expect(code).toBe(1);
    for (const name of ['BotFilter82', 'Updater', 'Evil Persistence', 'SCM Event Log Filter']) expect(stdout).toContain(name);
    expect(stdout).toContain('origin: wmic (confidence high');
    expect(stdout).toContain('└─ parent C:\\Python27\\python.exe');
    expect(stdout).toContain('origin: powershell (confidence high');
    expect(stdout).toMatch(/fired 1 time\(s\):\n\s+- 2019-05-11T17:58:50\.090Z C:\\Windows\\System32\\wbem\\WmiPrvSE\.exe -> c:\\Windows\\System32\\cmd\.exe/);
    expect(stderr).toMatch(/skipped .*README\.md/);
    // The .evtx and the .xml of the same recording merge into one finding per object.
    expect(stdout.match(/BotFilter82 {2}\[subscription/g)).toHaveLength(1);
  });

  it('gives the mofcomp origins of the written samples as JSON', async () => {
    const { code, stdout } = await runCli(['trace', '-f', 'json', 'samples/events']);
    expect(code).toBe(1);
    const traced = JSON.parse(stdout) as { findings: Array<{ filterName: string; origin: { method: string; mofPath: string; autorecover: boolean | null } }>; partial: boolean };
    expect(traced.partial).toBe(false);
    expect(traced.findings.map((f) => [f.filterName, f.origin.method, f.origin.mofPath, f.origin.autorecover]).sort()).toEqual([
      ['DbMaint', 'mofcomp', 'C:\\Users\\bob\\AppData\\Local\\Temp\\x.mof', null],
      ['WindowsUpdateCheck', 'mofcomp', 'C:\\Users\\alice\\AppData\\Local\\Temp\\wuc.mof', true],
    ]);
  });
});

describe('wmi-hunter analyze with event exports', () => {
  it('takes event files mixed with collections and reports origins in the hunt report', async () => {
    const { code, stdout } = await runCli(['analyze', '-f', 'json', 'samples/collections/windows-defaults.json', `${DATASETS}/empire-elevated-wmi.winlogbeat.jsonl`]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.partial).toBe(false);
    expect(report.hosts.map((h: { host: string }) => h.host)).toEqual(expect.arrayContaining(['HR001.shire.com']));
    const updater = report.findings.find((f: { filterName: string }) => f.filterName === 'Updater');
    expect(updater).toMatchObject({ source: 'eventlog', userContext: 'SHIRE\\nmartha', origin: { method: 'powershell', confidence: 'high' } });
  });

  it('reports unreadable records with their position, still analyzes the rest, and adds 4 to the exit code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wmi-partial-'));
    const lines = readFileSync(join(REPO_ROOT, DATASETS, 'covenant-persistwmi.mordor.jsonl'), 'utf8').split('\n');
    lines.splice(10, 0, '{"EventID": 19, "Channel": "Microsoft-Windows-Sysmon/Opera');
    const path = join(dir, 'export.jsonl');
    writeFileSync(path, lines.join('\n'));
    const { code, stdout } = await runCli(['analyze', '-f', 'json', path]);
    expect(code).toBe(5);
    const report = JSON.parse(stdout);
    expect(report.partial).toBe(true);
    expect(report.problems).toEqual([expect.objectContaining({ position: 'line 11', message: expect.stringMatching(/truncated/) })]);
    expect(report.findings.map((f: { filterName: string }) => f.filterName)).toEqual(['Evil Persistence']);
  });

  it('shows progress on a terminal stderr for large inputs, never in the JSON on stdout', async () => {
    let stdout = '';
    let stderr = '';
    const code = await main(['node', 'wmi-hunter', 'analyze', '-f', 'json', `${DATASETS}/empire-elevated-wmi.winlogbeat.jsonl`], {
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      env: { WMI_HUNTER_STATE_DIR: freshStateDir() },
      cwd: REPO_ROOT,
      now: () => new Date('2026-11-29T10:00:00.000Z'),
      stderrIsTerminal: true,
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/reading 100% \(14 of 14 MB\)/);
    expect(JSON.parse(stdout).findings.length).toBeGreaterThan(0);
  });

  it('shows no progress when stderr is not a terminal', async () => {
    const { stderr } = await runCli(['analyze', '-f', 'json', `${DATASETS}/empire-elevated-wmi.winlogbeat.jsonl`]);
    expect(stderr).toBe('');
  });
});

describe('the bundled MOF-installed sample collection', () => {
  it('merges its Sysmon records with the collected objects (one finding) and shows the mofcomp origin', async () => {
    const { stdout } = await runCli(['analyze', '-f', 'json', 'samples/collections/mof-installed-logon-subscription.json']);
    const report = JSON.parse(stdout);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({
      namespace: 'root\\cimv2',
      source: 'collection+eventlog',
      origin: { method: 'mofcomp', mofPath: 'C:\\Users\\Public\\Libraries\\igfx.mof', autorecover: true },
    });
    expect(report.findings[0].origin.parentChain.map((p: { image: string }) => p.image)).toEqual(['C:\\Windows\\System32\\wscript.exe', 'C:\\Windows\\explorer.exe']);
  });
});
