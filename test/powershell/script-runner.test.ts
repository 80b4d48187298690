import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCode } from '../../src/errors.js';
import { PwshSession } from '../../src/powershell/pwsh-session.js';
import { ScriptRunner } from '../../src/powershell/script-runner.js';
import { SessionPool } from '../../src/powershell/session-pool.js';
import { pwshPath, requireService } from '../support/services.js';

const pwsh = pwshPath();
const available = requireService('pwsh', pwsh !== null, 'install PowerShell 7 (.ci/setup.sh) and put pwsh on PATH');
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** A killed process whose parent has not reaped it yet is a zombie: it no longer runs. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!existsSync(`/proc/${pid}/stat`)) return true;
  const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').charAt(0);
  return state !== 'Z' && state !== 'X';
}

describe.skipIf(!available)('ScriptRunner on a pool of real pwsh sessions', () => {
  let pool: SessionPool;
  afterEach(async () => {
    await pool?.close();
  });

  function setup(size = 1, maxInvocationsPerSession = 10) {
    pool = new SessionPool({ size, maxInvocationsPerSession, startSession: () => PwshSession.start({ pwshPath: pwsh! }) });
    return new ScriptRunner(pool, fixtures);
  }
  const base = { host: 'localhost', transport: { kind: 'local' as const }, timeoutMs: 20_000, maxOutputChars: 100_000 };

  it('reuses one session across invocations and passes hostile input through untouched', async () => {
    const runner = setup();
    const hostile = { name: "x'; $(Remove-Item /) `\"; \n \u2019 сmd", list: [1, 'two'] };
    const first = (await runner.run({ ...base, script: 'echo', input: hostile })) as { pid: number; input: unknown };
    const second = (await runner.run({ ...base, script: 'echo', input: { n: 2 } })) as { pid: number };
    expect(first.input).toEqual(hostile);
    expect(second.pid).toBe(first.pid);
    expect(pool.stats()).toMatchObject({ started: 1, idle: 1 });
  }, 60_000);

  it('recycles a session after its invocation budget', async () => {
    const runner = setup(1, 1);
    const first = (await runner.run({ ...base, script: 'echo', input: {} })) as { pid: number };
    const second = (await runner.run({ ...base, script: 'echo', input: {} })) as { pid: number };
    expect(second.pid).not.toBe(first.pid);
    expect(isRunning(first.pid)).toBe(false);
  }, 60_000);

  it('kills a hung script at its timeout and serves the next call from a fresh shell', async () => {
    const runner = setup();
    const before = (await runner.run({ ...base, script: 'echo', input: {} })) as { pid: number };
    await expect(runner.run({ ...base, script: 'hang', input: {}, timeoutMs: 1_500 })).rejects.toMatchObject({ code: ErrorCode.Timeout });
    expect(isRunning(before.pid)).toBe(false);
    const after = (await runner.run({ ...base, script: 'echo', input: {} })) as { pid: number };
    expect(after.pid).not.toBe(before.pid);
  }, 60_000);

  it('aborts on the job signal by disposing the shell', async () => {
    const runner = setup();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('job timeout')), 1_000);
    await expect(runner.run({ ...base, script: 'hang', input: {}, signal: controller.signal })).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(pool.stats()).toMatchObject({ idle: 0, busy: 0 });
  }, 60_000);

  it('replaces a shell that crashed', async () => {
    const runner = setup();
    await expect(runner.run({ ...base, script: 'crash', input: {} })).rejects.toMatchObject({ code: ErrorCode.ScriptError });
    const after = (await runner.run({ ...base, script: 'echo', input: {} })) as { pid: number };
    expect(isRunning(after.pid)).toBe(true);
    expect(pool.stats().started).toBe(2);
  }, 60_000);

  it('refuses oversized output', async () => {
    const runner = setup();
    await expect(runner.run({ ...base, script: 'big', input: {}, maxOutputChars: 10_000 })).rejects.toMatchObject({ code: ErrorCode.OutputTooLarge });
  }, 60_000);

  it('refuses output that is not JSON', async () => {
    const runner = setup();
    await expect(runner.run({ ...base, script: 'not-json', input: {} })).rejects.toMatchObject({ code: ErrorCode.BadOutput });
  }, 60_000);

  it('makes callers beyond the pool size wait rather than start more shells', async () => {
    const runner = setup(1);
    const results = (await Promise.all([1, 2, 3].map(() => runner.run({ ...base, script: 'echo', input: {} })))) as Array<{ pid: number }>;
    expect(new Set(results.map((result) => result.pid)).size).toBe(1);
    expect(pool.stats().started).toBe(1);
  }, 60_000);
});
