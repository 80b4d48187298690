import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import type { RegisterCommand } from '../../src/cli/program.js';

export const REPO_ROOT = new URL('../../', import.meta.url).pathname;

export function freshStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'wmi-hunter-state-'));
}

/** Runs the CLI in-process, as `wmi-hunter <args>` would, and captures what it writes. */
export async function runCli(args: string[], options: { stateDir?: string; now?: Date; commands?: readonly RegisterCommand[] } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(
    ['node', 'wmi-hunter', ...args],
    {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      env: { WMI_HUNTER_STATE_DIR: options.stateDir ?? freshStateDir() },
      cwd: REPO_ROOT,
      now: () => options.now ?? new Date('2026-11-29T10:00:00.000Z'),
    },
    ...(options.commands ? [options.commands] : []),
  );
  return { code, stdout, stderr };
}
