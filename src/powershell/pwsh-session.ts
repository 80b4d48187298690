import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PowerShell } from 'node-powershell';
import { CodedError, ErrorCode } from '../errors.js';

export const SESSION_SCRIPT = fileURLToPath(new URL('./session.ps1', import.meta.url));

export interface PwshSessionOptions {
  /** The pwsh executable (a path or a name on PATH). */
  pwshPath: string;
  /** Script dot-sourced once when the session starts. */
  sessionScript?: string;
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

export interface RunOutput {
  stdout: string;
  stderr: string;
}

export interface RunLimits {
  timeoutMs: number;
  /** Characters of stdout one invocation may produce before the shell is killed. */
  maxOutputChars: number;
  signal?: AbortSignal;
}

/**
 * node-powershell exposes neither the child process nor its exit promise; both are needed to know
 * the pid, to notice a shell that died while idle, and to keep that death from surfacing as an
 * unhandled rejection.
 */
interface ShellInternals {
  process: ChildProcess;
  exitPromise: Promise<void>;
}

/** Characters PowerShell reads as the end of a single-quoted string, or of a line. */
const UNSAFE_IN_SINGLE_QUOTES = /['\u2018\u2019\u201a\u201b\r\n\0]/;

/** One long-lived pwsh process driven through node-powershell. */
export class PwshSession {
  readonly pid: number;
  /**
   * The process that runs PowerShell itself. A pwsh installed as a .NET tool is a launcher whose
   * child is the engine; killing only the launcher would leave the engine running.
   */
  enginePid: number | null = null;
  invocations = 0;
  private exited = false;
  private readonly shell: PowerShell;
  private readonly child: ChildProcess;

  private constructor(shell: PowerShell) {
    this.shell = shell;
    const internals = shell as unknown as ShellInternals;
    this.child = internals.process;
    this.pid = this.child.pid ?? -1;
    this.child.once('exit', () => {
      this.exited = true;
    });
    internals.exitPromise.catch(() => undefined);
  }

  static async start(options: PwshSessionOptions): Promise<PwshSession> {
    const sessionScript = options.sessionScript ?? SESSION_SCRIPT;
    if (UNSAFE_IN_SINGLE_QUOTES.test(sessionScript)) {
      throw new CodedError(ErrorCode.Config, 'the session script path contains a quote or line break', { path: sessionScript });
    }
    const shell = new PowerShell({
      executable: options.pwshPath,
      executableOptions: { '-NoProfile': true, '-NonInteractive': true },
      // A dumb terminal keeps pwsh from writing cursor-mode escape sequences around each command.
      spawnOptions: { env: { ...(options.env ?? process.env), TERM: 'dumb', NO_COLOR: '1' } },
      throwOnInvocationError: false,
    });
    const session = new PwshSession(shell);
    try {
      const output = await session.run(`. '${sessionScript}'; $PID`, { timeoutMs: options.startTimeoutMs ?? 60_000, maxOutputChars: 65_536 });
      const printed = (output.stdout + output.stderr).trim();
      if (!/^\d+$/.test(printed)) throw new CodedError(ErrorCode.Internal, `the session script printed output: ${printed.slice(0, 300)}`);
      session.enginePid = Number(printed);
    } catch (error) {
      await session.dispose();
      throw error;
    }
    session.invocations = 0;
    return session;
  }

  get alive(): boolean {
    return !this.exited && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Runs one command and returns what it wrote. stderr is not a failure by itself: child processes
   * of pwsh (the ssh client) write there directly. A timeout, an abort or too much output kills the
   * shell (node-powershell's own timeout would leave pwsh running the command).
   */
  async run(command: string, limits: RunLimits): Promise<RunOutput> {
    if (!this.alive) throw new CodedError(ErrorCode.Internal, 'the pwsh session has exited', { pid: this.pid });
    if (limits.signal?.aborted) throw abortedError(limits.signal);
    this.invocations += 1;

    let outputChars = 0;
    let stop: (error: CodedError) => void = () => undefined;
    const stopped = new Promise<never>((_, reject) => {
      stop = reject;
    });
    // The caller hears of the failure only once the process is gone, so nothing outlives it.
    const kill = (error: CodedError) => {
      void this.dispose().then(() => stop(error));
    };
    const onData = (chunk: string | Buffer) => {
      outputChars += chunk.length;
      if (outputChars > limits.maxOutputChars) {
        kill(new CodedError(ErrorCode.OutputTooLarge, `output exceeded ${limits.maxOutputChars} characters; the shell was killed`, { limit: limits.maxOutputChars }));
      }
    };
    const onAbort = () => kill(abortedError(limits.signal!));
    const timer = setTimeout(
      () => kill(new CodedError(ErrorCode.Timeout, `no result within ${limits.timeoutMs} ms; the shell was killed`, { timeoutMs: limits.timeoutMs })),
      limits.timeoutMs,
    );
    this.shell.streams.stdout.on('data', onData);
    limits.signal?.addEventListener('abort', onAbort, { once: true });

    const invocation = this.shell.invoke(command);
    invocation.catch(() => undefined);
    try {
      const result = await Promise.race([invocation, stopped]);
      if (!this.alive) throw new CodedError(ErrorCode.ScriptError, 'pwsh exited while running the command', { pid: this.pid });
      return { stdout: result.stdout?.toString('utf8') ?? '', stderr: result.stderr?.toString('utf8') ?? '' };
    } catch (error) {
      if (error instanceof CodedError) throw error;
      await this.dispose();
      throw new CodedError(ErrorCode.ScriptError, `pwsh failed: ${error instanceof Error ? error.message : String(error)}`, { pid: this.pid }, { cause: error });
    } finally {
      clearTimeout(timer);
      this.shell.streams.stdout.off('data', onData);
      limits.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Kills the process; resolves once it has exited. */
  async dispose(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.enginePid !== null && this.enginePid !== this.pid) {
      try {
        process.kill(this.enginePid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.child.kill('SIGKILL');
    await exited;
    if (this.enginePid !== null && this.enginePid !== this.pid) await untilGone(this.enginePid, ENGINE_EXIT_WAIT_MS);
  }
}

/** How long dispose waits for a killed engine to be gone; a loaded machine takes a while to tear down a .NET process. */
const ENGINE_EXIT_WAIT_MS = 5_000;

/** Resolves once `pid` no longer runs (gone, or a zombie waiting to be reaped), or after `limitMs`. */
async function untilGone(pid: number, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (isRunning(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // Elsewhere a signal-0 answer is all there is; on Linux a zombie also answers it.
  if (process.platform !== 'linux') return true;
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').charAt(0);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function abortedError(signal: AbortSignal): CodedError {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
  return new CodedError(ErrorCode.Aborted, `aborted: ${reason}; the shell was killed`);
}
