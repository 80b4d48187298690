import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const BUNDLED_PWSH = '/opt/wmi-hunter-tools/pwsh/pwsh';

/** pwsh from WMI_PWSH, PATH, or the tools folder .ci/setup.sh installs; null when none runs. */
export function findPwsh(): string | null {
  const candidates = [process.env.WMI_PWSH, 'pwsh', BUNDLED_PWSH].filter((value): value is string => Boolean(value));
  for (const candidate of candidates) {
    if (candidate.includes('/') && !existsSync(candidate)) continue;
    const probe = spawnSync(candidate, ['-NoProfile', '-NonInteractive', '-Command', '$PSVersionTable.PSVersion.ToString()'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (probe.status === 0 && /^\d+\.\d+/.test(probe.stdout.trim())) return candidate;
  }
  return null;
}

export function pwshVersion(pwsh: string): string {
  return execFileSync(pwsh, ['-NoProfile', '-NonInteractive', '-Command', '$PSVersionTable.PSVersion.ToString()'], { encoding: 'utf8' }).trim();
}

export function findRedisServer(): string | null {
  const candidates = [process.env.WMI_TEST_REDIS_SERVER, 'redis-server'].filter((value): value is string => Boolean(value));
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (probe.status === 0) return candidate;
  }
  return null;
}
