import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';

/**
 * Integration tests need real services (Redis, pwsh, the SSH lab host). Locally a missing service
 * skips those tests with a clear reason; in CI (CI=true) a missing service is a failure, never a skip.
 */
export const inCI = process.env.CI === 'true' || process.env.CI === '1';

export const REDIS_URL = process.env.WMI_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function pwshPath(): string | null {
  const candidate = process.env.WMI_PWSH ?? 'pwsh';
  const probe = spawnSync(candidate, ['-NoProfile', '-NoLogo', '-Command', '$PSVersionTable.PSVersion.Major'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return probe.status === 0 && /\d/.test(probe.stdout) ? candidate : null;
}

export async function tcpReachable(url: string, timeoutMs = 1_000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Returns true when the service is there. When it is not: throws in CI, returns false locally so
 * the caller can `describe.skipIf(!available)`.
 */
export function requireService(name: string, available: boolean, hint: string): boolean {
  if (available) return true;
  if (inCI) throw new Error(`${name} is required in CI but is not available: ${hint}`);
  console.warn(`[skip] ${name} not available (${hint}); integration tests that need it are skipped locally`);
  return false;
}
