import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { REPO_ROOT, freshStateDir } from './run-cli.js';

/**
 * `wmi-hunter hunt` refuses bad targets and options before it connects to anything. The hunt itself
 * (queued through the service, and --local over SSH) runs against the lab host in test/e2e/.
 */
async function hunt(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'wmi-hunter', 'hunt', ...args], {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    // An unreachable Redis: any attempt to connect would fail the test with a different error.
    env: { REDIS_URL: 'redis://127.0.0.1:1', EXECUTOR_TRANSPORT: 'local', WMI_HUNTER_STATE_DIR: freshStateDir(), ...env },
    cwd: REPO_ROOT,
    now: () => new Date('2026-11-29T10:00:00.000Z'),
  });
  return { code, stdout, stderr };
}

describe('wmi-hunter hunt', () => {
  it('names an unknown host group and the groups that exist', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'wmi-groups-')), 'groups.yaml');
    await writeFile(file, 'finance: [fin-ws01, fin-ws02]\n');
    const result = await hunt(['group:payroll'], { HOST_GROUPS_FILE: file });
    expect(result.code).toBe(ExitCode.BadInput);
    expect(result.stderr).toMatch(/\[E_NOT_FOUND\]: no host group "payroll" \(known: finance\)/);
    expect(result.stdout).toBe('');
  });

  it('refuses an invalid host name before anything runs, in either mode', async () => {
    for (const mode of [[], ['--local']]) {
      const result = await hunt([...mode, 'host01', 'bad host;calc.exe']);
      expect(result.code).toBe(ExitCode.BadInput);
      expect(result.stderr).toMatch(/\[E_INVALID_HOST\]: "bad host;calc\.exe" is not a valid host name/);
    }
  });

  it('refuses a look-back or timeout out of range', async () => {
    expect((await hunt(['host01', '--lookback', 'forever'])).stderr).toMatch(/--lookback must be hours between 0 and 2160/);
    expect((await hunt(['host01', '--timeout', '0'])).code).toBe(ExitCode.BadInput);
  });

  it('refuses service-only options with --local', async () => {
    for (const option of [['--playbook', 'wmi-persistence-hunt'], ['--no-wait']]) {
      const result = await hunt(['--local', 'host01', ...option]);
      expect(result.code).toBe(ExitCode.BadInput);
      expect(result.stderr).toMatch(/--playbook and --no-wait apply to hunts queued to the service/);
    }
  });

  it('stops on a bad configuration and names the variable', async () => {
    const result = await hunt(['host01'], { EXECUTOR_TRANSPORT: 'carrier-pigeon' });
    expect(result.code).toBe(ExitCode.BadInput);
    expect(result.stderr).toMatch(/EXECUTOR_TRANSPORT/);
  });

  it('documents both modes and the exit codes in --help', async () => {
    const result = await hunt(['--help']);
    expect(result.code).toBe(ExitCode.Ok);
    expect(result.stdout).toContain('--local');
    expect(result.stdout).toContain('--no-wait');
    expect(result.stdout).toMatch(/Exit codes: 0 nothing High or above, 1 something High or Critical/);
  });
});
