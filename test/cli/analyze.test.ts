import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReportSchema } from '../../src/domain/finding.js';
import { freshStateDir, runCli } from './run-cli.js';

const SAMPLES = 'samples/collections';
const sample = (name: string) => `${SAMPLES}/${name}.json`;

function tempFile(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'wmi-cli-')), name);
  writeFileSync(path, content);
  return path;
}

function collectionWith(mutate: (c: Record<string, any>) => void): string {
  const collection = JSON.parse(readFileSync(sample('windows-defaults'), 'utf8'));
  mutate(collection);
  return tempFile('c.json', JSON.stringify(collection));
}

describe('wmi-hunter analyze', () => {
  it('exits 1 and prints the text report when something is High or above', async () => {
    const { code, stdout, stderr } = await runCli(['analyze', sample('apt29-activescript-startup')]);
    expect(stderr).toBe('');
    expect(code).toBe(1);
    expect(stdout).toContain('Hunt ID: TH-WMI-20261129-001');
    expect(stdout).toContain('Risk Level: Critical');
  });

  it('exits 0 when everything is below High (the Windows defaults)', async () => {
    const { code, stdout } = await runCli(['analyze', sample('windows-defaults')]);
    expect(code).toBe(0);
    expect(stdout).toContain('2 known-benign');
  });

  it('prints Markdown and JSON on request; the JSON follows the report contract', async () => {
    const markdown = await runCli(['analyze', '--format', 'markdown', sample('windows-defaults')]);
    expect(markdown.stdout).toMatch(/^# WMI persistence hunt TH-WMI-/);
    const json = await runCli(['analyze', '-f', 'json', SAMPLES]);
    const report = ReportSchema.parse(JSON.parse(json.stdout));
    expect(report.hosts).toHaveLength(6);
    expect(json.code).toBe(1);
  });

  it('takes the next number of the day for each hunt and starts again the next day', async () => {
    const stateDir = freshStateDir();
    const ids = [];
    for (const now of ['2026-11-29T08:00:00Z', '2026-11-29T09:00:00Z', '2026-11-30T00:00:01Z']) {
      const { stdout } = await runCli(['analyze', '-f', 'json', sample('windows-defaults')], { stateDir, now: new Date(now) });
      ids.push(JSON.parse(stdout).huntId);
    }
    expect(ids).toEqual(['TH-WMI-20261129-001', 'TH-WMI-20261129-002', 'TH-WMI-20261130-001']);
  });

  it('never hands out one hunt id twice to runs at the same time', async () => {
    const stateDir = freshStateDir();
    const runs = await Promise.all(Array.from({ length: 8 }, () => runCli(['analyze', '-f', 'json', sample('windows-defaults')], { stateDir })));
    const ids = runs.map((r) => JSON.parse(r.stdout).huntId);
    expect(new Set(ids).size).toBe(8);
  });

  it('uses an explicit --hunt-id and refuses a malformed one with exit 2', async () => {
    expect(JSON.parse((await runCli(['analyze', '-f', 'json', '--hunt-id', 'TH-WMI-20250101-777', sample('windows-defaults')])).stdout).huntId).toBe('TH-WMI-20250101-777');
    const bad = await runCli(['analyze', '--hunt-id', 'HUNT-1', sample('windows-defaults')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('E_BAD_INPUT');
  });

  it('applies an operator allowlist file', async () => {
    const allowlist = tempFile(
      'ops.yaml',
      `version: 1
entries:
  - id: corp.core-init
    status: verified
    title: test entry
    why: only for this test
    references: [test]
    filter: { name: WindowsCoreInit, query: "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240 AND TargetInstance.SystemUpTime < 325", eventNamespace: root\\cimv2 }
    consumer:
      name: WindowsCoreInit
      className: ActiveScriptEventConsumer
      properties: { ScriptingEngine: VBScript, ScriptText: ${JSON.stringify(JSON.parse(readFileSync(sample('apt29-activescript-startup'), 'utf8')).consumers[0].properties.ScriptText)} }
`,
    );
    const { code, stdout } = await runCli(['analyze', '-f', 'json', '--allowlist', allowlist, sample('apt29-activescript-startup')]);
    expect(JSON.parse(stdout).findings[0]).toMatchObject({ benign: true, allowlistEntry: 'corp.core-init' });
    expect(code).toBe(0);
  });

  describe('bad input (exit 2, nothing printed to stdout, no hunt id taken)', () => {
    it.each([
      ['a missing file', () => 'samples/collections/nope.json', /cannot read samples\/collections\/nope\.json/],
      ['a file that is not JSON', () => tempFile('x.json', '{ nope'), /not JSON/],
      ['a wrong schema version', () => collectionWith((c) => (c.schemaVersion = 2)), /schemaVersion/],
      ['a filter without a query, by its path', () => collectionWith((c) => delete c.filters[0].properties.Query), /filters\.0\.properties\.Query: Query must be a string/],
      ['a consumer whose content does not match its hash', () => collectionWith((c) => (c.consumers[0].properties.SourceName = 'Evil')), /consumers\.0\.contentHash|consumer #0/],
      ['an unknown top-level field', () => collectionWith((c) => (c.extra = true)), /Unrecognized key/i],
      ['an empty directory', () => mkdtempSync(join(tmpdir(), 'wmi-empty-')), /no \.json collection files/],
    ])('refuses %s', async (_name, input, message) => {
      const stateDir = freshStateDir();
      const { code, stdout, stderr } = await runCli(['analyze', input(), sample('windows-defaults')], { stateDir });
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(message);
      const next = await runCli(['analyze', '-f', 'json', sample('windows-defaults')], { stateDir });
      expect(JSON.parse(next.stdout).huntId).toBe('TH-WMI-20261129-001');
    });

    it('refuses an unknown format and an unknown option with usage help', async () => {
      const format = await runCli(['analyze', '--format', 'xml', sample('windows-defaults')]);
      expect(format.code).toBe(2);
      expect(format.stderr).toMatch(/Allowed choices are text, markdown, json/);
      expect((await runCli(['analyze', '--bogus', sample('windows-defaults')])).code).toBe(2);
      expect((await runCli(['analyze'])).code).toBe(2);
    });
  });
});

describe('wmi-hunter help', () => {
  it('prints --help for the program and every command, exit 0', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('Usage: wmi-hunter');
    const commands = [...top.stdout.matchAll(/^ {2}([a-z][a-z-]*)(?: |\[|<)/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
    expect(commands).toContain('analyze');
    for (const command of commands) {
      const help = await runCli([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: wmi-hunter ${command}`);
    }
  });

  it('adds a command from a module with one register function', async () => {
    const { code, stdout } = await runCli(['hello'], {
      commands: [
        (program, io) => {
          program.command('hello').action(() => {
            io.stdout('hi\n');
            io.setExitCode(0);
          });
        },
      ],
    });
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'hi\n' });
  });
});
