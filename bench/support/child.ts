import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bench/ folder, whatever the working directory. */
export const BENCH_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs a TypeScript file in a fresh Node process (through tsx) and returns the JSON document it
 * wrote to the file named by BENCH_OUTPUT. A fresh process per measurement keeps heaps apart, so a
 * peak RSS read there belongs to that measurement alone.
 */
export async function runInChild<T>(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'wmi-hunter-bench-child-'));
  const output = join(dir, 'result.json');
  try {
    const stderr = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, ...args], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env, BENCH_OUTPUT: output },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let text = '';
      child.stderr.on('data', (chunk: Buffer) => {
        text = (text + chunk.toString('utf8')).slice(-20_000);
      });
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        if (code === 0) resolve(text);
        else reject(new Error(`${script} exited with ${signal ?? code}: ${text.trim().slice(-2_000)}`));
      });
    });
    try {
      return JSON.parse(await readFile(output, 'utf8')) as T;
    } catch (error) {
      throw new Error(`${script} wrote no result: ${(error as Error).message}; stderr: ${stderr.slice(-2_000)}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Hands a result to runInChild (the file named by BENCH_OUTPUT), or prints it when run by hand. */
export function emitResult(result: unknown): void {
  const path = process.env.BENCH_OUTPUT;
  if (path) writeFileSync(path, JSON.stringify(result));
  else console.log(JSON.stringify(result, null, 2));
}

/** True when the module is the process's entry point (`tsx bench/x.ts`), not imported. */
export function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && fileURLToPath(moduleUrl) === entry;
}

/** Runs a script that prints one JSON document on stdout (bench/evtx.ts) and returns it. */
export async function runPrintingJson<T>(script: string, env: NodeJS.ProcessEnv = {}): Promise<T> {
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-20_000)));
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve({ stdout: out, stderr: err }) : reject(new Error(`${script} exited with ${signal ?? code}: ${err.trim().slice(-2_000)}`))));
  });
  try {
    return JSON.parse(stdout) as T;
  } catch (error) {
    throw new Error(`${script} did not print one JSON document: ${(error as Error).message}; stderr: ${stderr.slice(-1_000)}`);
  }
}
