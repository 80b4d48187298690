import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { PLAYBOOKS_DIR } from '../app/engine-harness.js';

async function run(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'wmi-hunter', ...args], {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env,
    cwd: join(PLAYBOOKS_DIR, '..'),
    now: () => new Date('2026-11-29T10:00:00Z'),
  });
  return { code, stdout, stderr };
}

describe('wmi-hunter playbooks lint', () => {
  it('passes the shipped playbooks with exit code 0', async () => {
    const result = await run(['playbooks', 'lint']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('4 playbooks pass: mofcomp-execution-triage, wmi-persistence-hunt, wmi-subscription-sweep, wmiprvse-child-triage\n');
  });

  it('prints each problem as file: path: message and exits 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wmi-lint-'));
    const text = await readFile(join(PLAYBOOKS_DIR, 'wmi-subscription-sweep.yaml'), 'utf8');
    await writeFile(join(dir, 'wmi-subscription-sweep.yaml'), text.replace('status: test', 'status: test\nseverity: high'));
    const result = await run(['playbooks', 'lint'], { PLAYBOOKS_DIR: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/wmi-subscription-sweep\.yaml: \(root\): Unrecognized key: "severity"/);
  });
});

describe('wmi-hunter serve / worker', () => {
  it('refuse to start on a bad configuration, naming the variables and exiting 2', async () => {
    const result = await run(['worker'], { REDIS_URL: 'http://nope', WEBHOOK_SECRET_GENERIC: 'tiny-secret-value' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\[E_CONFIG\]/);
    expect(result.stderr).toMatch(/REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(result.stderr).not.toContain('tiny-secret-value');
    expect((await run(['serve'], {})).stderr).toMatch(/REDIS_URL: is required/);
  });
});
