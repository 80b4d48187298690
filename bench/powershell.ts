/**
 * PowerShell invocation cost: the same small script (bench/fixtures/small.ps1) run N times (default
 * 200) through the project's session pool (ScriptRunner on a SessionPool of PwshSession, the local
 * transport) and N times through a fresh `pwsh -File` per call, sequentially, in the same run.
 * The pool's first session start is reported apart and not counted in its per-call cost: a worker
 * pays it once per session (every maxInvocationsPerSession calls), not per call.
 *
 *   npx tsx bench/powershell.ts            (POWERSHELL_BENCH_CALLS to change N)
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PwshSession } from '../src/powershell/pwsh-session.js';
import { ScriptRunner, toBase64Json } from '../src/powershell/script-runner.js';
import { SessionPool } from '../src/powershell/session-pool.js';
import { emitResult, isEntryPoint } from './support/child.js';
import { msSince, round } from './support/stats.js';
import { findPwsh, pwshVersion } from './support/tools.js';

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const SCRIPT = `${FIXTURES}small.ps1`;

export interface PowerShellBenchResult {
  calls: number;
  pwsh: string;
  pwshVersion: string;
  sessionStartMs: number;
  poolMsPerCall: number;
  poolMsPerCallIncludingStart: number;
  spawnMsPerCall: number;
  poolToSpawnRatio: number;
  target: { poolToSpawnRatioAtMost: number; met: boolean };
}

interface SmallResult {
  pid: number;
  sequence: number;
  sum: number;
}

function inputFor(sequence: number) {
  return { sequence, values: [1, 2, 3, 4, sequence] };
}

function check(result: SmallResult, sequence: number): void {
  if (result.sequence !== sequence || result.sum !== 10 + sequence) throw new Error(`wrong answer for call ${sequence}: ${JSON.stringify(result)}`);
}

export async function runPowerShellBench(options: { calls?: number } = {}): Promise<PowerShellBenchResult> {
  const calls = options.calls ?? Number(process.env.POWERSHELL_BENCH_CALLS ?? 200);
  const pwsh = findPwsh();
  if (!pwsh) throw new Error('pwsh is not installed (WMI_PWSH, PATH, or /opt/wmi-hunter-tools/pwsh/pwsh)');

  // Pool: one session, never recycled during the run, so every call after the first reuses it.
  const pool = new SessionPool({ size: 1, maxInvocationsPerSession: calls + 1, startSession: () => PwshSession.start({ pwshPath: pwsh }) });
  const runner = new ScriptRunner(pool, FIXTURES);
  const invocation = { host: 'localhost', transport: { kind: 'local' as const }, timeoutMs: 60_000, maxOutputChars: 65_536 };
  let poolMs: number;
  let sessionStartMs: number;
  try {
    const startBegan = process.hrtime.bigint();
    check((await runner.run({ ...invocation, script: 'small', input: inputFor(0) })) as SmallResult, 0);
    sessionStartMs = msSince(startBegan);
    const began = process.hrtime.bigint();
    for (let sequence = 1; sequence <= calls; sequence += 1) {
      check((await runner.run({ ...invocation, script: 'small', input: inputFor(sequence) })) as SmallResult, sequence);
    }
    poolMs = msSince(began);
    if (pool.stats().started !== 1) throw new Error(`the pool started ${pool.stats().started} sessions; expected 1`);
  } finally {
    await pool.close();
  }

  // Spawn: a fresh pwsh per call, the same script and argument form.
  const began = process.hrtime.bigint();
  for (let sequence = 1; sequence <= calls; sequence += 1) {
    const { stdout } = await run(pwsh, ['-NoProfile', '-NonInteractive', '-File', SCRIPT, '-InputBase64', toBase64Json(inputFor(sequence))], {
      timeout: 60_000,
    });
    check(JSON.parse(stdout.trim().split(/\r?\n/).pop() ?? '') as SmallResult, sequence);
  }
  const spawnMs = msSince(began);

  const poolMsPerCall = poolMs / calls;
  const spawnMsPerCall = spawnMs / calls;
  const ratio = poolMsPerCall / spawnMsPerCall;
  return {
    calls,
    pwsh,
    pwshVersion: pwshVersion(pwsh),
    sessionStartMs: round(sessionStartMs, 1),
    poolMsPerCall: round(poolMsPerCall, 3),
    poolMsPerCallIncludingStart: round((poolMs + sessionStartMs) / calls, 3),
    spawnMsPerCall: round(spawnMsPerCall, 1),
    poolToSpawnRatio: round(ratio, 4),
    target: { poolToSpawnRatioAtMost: 1 / 50, met: ratio <= 1 / 50 },
  };
}

if (isEntryPoint(import.meta.url)) {
  const result = await runPowerShellBench();
  emitResult(result);
}
