import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { freshStateDir, REPO_ROOT } from './run-cli.js';

/** The real command, as `npx wmi-hunter` runs it: node on bin/wmi-hunter.js, TypeScript through tsx. */
function wmiHunter(args: string[]) {
  const result = spawnSync(process.execPath, ['bin/wmi-hunter.js', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, WMI_HUNTER_STATE_DIR: freshStateDir() },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('bin/wmi-hunter.js', () => {
  it('runs the quick-start hunt on the bundled samples and exits 1 for the Critical findings', () => {
    const { code, stdout, stderr } = wmiHunter(['analyze', 'samples/collections/']);
    expect(stderr).toBe('');
    expect(code).toBe(1);
    expect(stdout).toMatch(/^WMI persistence hunt TH-WMI-\d{8}-001$/m);
    expect(stdout).toContain('Risk Level: Critical');
  });

  it('exits 0 when nothing is High or above', () => {
    expect(wmiHunter(['analyze', '--format', 'json', 'samples/collections/windows-defaults.json']).code).toBe(0);
  });

  it('exits 2 with a coded error on bad input', () => {
    const { code, stdout, stderr } = wmiHunter(['analyze', 'samples/collections/does-not-exist.json']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('wmi-hunter: error [E_BAD_INPUT]');
  });

  it('prints help with exit 0', () => {
    const { code, stdout } = wmiHunter(['analyze', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: wmi-hunter analyze');
  });
});
