/**
 * What a command may touch of the outside world, passed in so commands run in-process in tests:
 * output streams, the environment, the working directory, the clock, and the exit code it sets.
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  now(): Date;
  /** Whether stderr is a terminal: progress is shown only there. */
  stderrIsTerminal?: boolean;
  /** Commands report their outcome here; main() returns the last value set (0 when none). */
  setExitCode(code: number): void;
}

/** What main() is given; it adds setExitCode itself. */
export type CliEnvironment = Omit<CliIo, 'setExitCode'>;

export function processEnvironment(): CliEnvironment {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    now: () => new Date(),
    stderrIsTerminal: process.stderr.isTTY === true,
  };
}
