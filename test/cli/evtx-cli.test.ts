import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from './run-cli.js';

/** Raw .evtx files through the CLI, named directly or inside a folder, mixed with the other formats. */
const DATASETS = '../shared/datasets';
const EVTX = `${DATASETS}/wmic-commandline-consumer.sysmon.evtx`;

function folderOf(...names: string[]): string {
  const folder = mkdtempSync(join(tmpdir(), 'wmi-evtx-cli-'));
  for (const name of names) copyFileSync(join(REPO_ROOT, DATASETS, name), join(folder, name));
  return folder;
}

interface ReportJson {
  partial: boolean;
  hosts: Array<{ host: string; sources: string[] }>;
  findings: Array<{ filterName: string | null; consumerName: string | null; host: string; userContext: string | null; origin: { method: string } | null }>;
}

describe('wmi-hunter analyze and trace with .evtx files', () => {
  it('analyzes an .evtx named directly together with event XML, JSON lines and a folder holding another .evtx export', async () => {
    const folder = folderOf('covenant-persistwmi.mordor.jsonl', 'wmic-commandline-consumer.sysmon.evtx');
    const { code, stdout, stderr } = await runCli(['analyze', '-f', 'json', EVTX, `${DATASETS}/wmic-commandline-consumer.sysmon.xml`, `${DATASETS}/powerlurk-process-start.sysmon.evtx.jsonl`, folder]);
    expect(stderr).toBe('');
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as ReportJson;
    expect(report.partial).toBe(false);
    const bot = report.findings.filter((finding) => finding.filterName === 'BotFilter82');
    // The raw recording, its XML export and the copy in the folder describe the same objects: one finding.
    expect(bot).toHaveLength(1);
    expect(bot[0]).toMatchObject({ consumerName: 'BotConsumer23', userContext: 'IEWIN7\\IEUser', origin: { method: 'wmic' } });
    expect(report.findings.map((finding) => finding.filterName)).toEqual(expect.arrayContaining(['Evil', 'Evil Persistence']));
    const sources = report.hosts.find((host) => host.host === 'IEWIN7')?.sources ?? [];
    expect(sources.filter((source) => source.endsWith('wmic-commandline-consumer.sysmon.evtx'))).toHaveLength(2);
    expect(sources.filter((source) => source.endsWith('wmic-commandline-consumer.sysmon.xml'))).toHaveLength(1);
  });

  it('traces the wmic origin from the .evtx alone', async () => {
    const { code, stdout } = await runCli(['trace', EVTX]);
    expect(code).toBe(1);
    expect(stdout).toContain('BotFilter82');
    expect(stdout).toContain('origin: wmic (confidence high');
    expect(stdout).toContain('└─ parent C:\\Python27\\python.exe');
  });
});
