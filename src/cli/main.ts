import { CommanderError } from 'commander';
import { asCodedError } from '../errors.js';
import { ExitCode, exitCodeForError } from './exit-codes.js';
import { processEnvironment, type CliEnvironment, type CliIo } from './io.js';
import { buildProgram, COMMANDS, type RegisterCommand } from './program.js';

/**
 * Runs the CLI on a full argv (node, script, args...) and returns the exit code; never calls
 * process.exit, so tests run it in-process. Errors become one line on stderr with their code.
 */
export async function main(
  argv: string[],
  environment: CliEnvironment = processEnvironment(),
  commands: readonly RegisterCommand[] = COMMANDS,
): Promise<number> {
  const cli = environment;
  let exitCode: number = ExitCode.Ok;
  const tracked: CliIo = {
    ...cli,
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  const program = buildProgram(tracked, commands);
  try {
    await program.parseAsync(argv, { from: 'node' });
    if (argv.length <= 2) {
      program.outputHelp({ error: true });
      return ExitCode.BadInput;
    }
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end parsing with exit code 0; anything else is a usage error.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.BadInput;
    }
    const coded = asCodedError(error);
    cli.stderr(`wmi-hunter: error [${coded.code}]: ${coded.message}\n`);
    return exitCodeForError(coded.code);
  }
}
