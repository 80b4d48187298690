import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pwshPath, requireService } from '../support/services.js';

const pwsh = pwshPath();
const available = requireService('pwsh', pwsh !== null, 'install PowerShell 7 (.ci/setup.sh) and put pwsh on PATH');
const suites = fileURLToPath(new URL('./pester/', import.meta.url));

describe.skipIf(!available)('Pester suites of the PowerShell scripts (real pwsh)', () => {
  it.each(['CanonicalJson', 'Collect', 'Remove', 'Restore', 'Session'])('%s.Tests.ps1 passes every test', (suite) => {
    const work = mkdtempSync(join(tmpdir(), 'wmi-pester-'));
    const resultFile = join(work, 'result.xml');
    try {
      const script = [
        '$ErrorActionPreference = "Stop"',
        'Import-Module Pester -MinimumVersion 5.7.1',
        '$c = New-PesterConfiguration',
        '$c.Run.Path = $args[0]',
        '$c.Output.Verbosity = "Normal"',
        '$c.TestResult.Enabled = $true',
        '$c.TestResult.OutputFormat = "NUnitXml"',
        '$c.TestResult.OutputPath = $args[1]',
        'Invoke-Pester -Configuration $c',
      ].join('; ');
      const run = spawnSync(pwsh!, ['-NoProfile', '-NonInteractive', '-Command', `& { ${script} }`, join(suites, `${suite}.Tests.ps1`), resultFile], {
        encoding: 'utf8',
        timeout: 240_000,
        env: { ...process.env, TERM: 'dumb', NO_COLOR: '1' },
      });
      const xml = readFileSync(resultFile, 'utf8');
      const totals = /<test-results[^>]*\btotal="(\d+)"[^>]*\berrors="(\d+)"[^>]*\bfailures="(\d+)"[^>]*\bnot-run="(\d+)"/.exec(xml);
      expect(totals, run.stdout + run.stderr).not.toBeNull();
      const [, total, errors, failures, notRun] = totals!.map(Number);
      const failed = [...xml.matchAll(/<test-case[^>]*name="([^"]*)"[^>]*result="Failure"/g)].map((match) => match[1]);
      expect({ failures, errors, notRun, failed }, run.stdout.slice(-4000)).toEqual({ failures: 0, errors: 0, notRun: 0, failed: [] });
      expect(total).toBeGreaterThan(0);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 300_000);
});
