import { Command } from 'commander';
import { registerAnalyze } from './commands/analyze.js';
import { registerHunt } from './commands/hunt.js';
import { registerTrace } from './commands/trace.js';
import { registerPlaybooks } from './commands/playbooks.js';
import { registerServe } from './commands/serve.js';
import { registerWorker } from './commands/worker.js';
import type { CliIo } from './io.js';

/**
 * The wmi-hunter command line, built from command modules: each file in ./commands exports a
 * `register<Name>(program, io)`. Adding a command is one new file and one line in COMMANDS.
 */
export type RegisterCommand = (program: Command, io: CliIo) => void;

export const COMMANDS: readonly RegisterCommand[] = [registerAnalyze, registerTrace, registerHunt, registerServe, registerWorker, registerPlaybooks];

export const CLI_VERSION = '0.1.0';

export function buildProgram(io: CliIo, commands: readonly RegisterCommand[] = COMMANDS): Command {
  const program = new Command('wmi-hunter')
    .description('Hunts Windows hosts for WMI event-subscription persistence (ATT&CK T1546.003).')
    .version(CLI_VERSION)
    .showHelpAfterError()
    .configureOutput({ writeOut: (text) => io.stdout(text), writeErr: (text) => io.stderr(text) })
    .exitOverride();
  for (const register of commands) register(program, io);
  for (const command of program.commands) {
    command.exitOverride().configureOutput({ writeOut: (text) => io.stdout(text), writeErr: (text) => io.stderr(text) });
  }
  return program;
}
