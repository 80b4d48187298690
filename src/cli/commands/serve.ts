import type { Command } from 'commander';
import { pino } from 'pino';
import { loadConfig } from '../../config/config.js';
import { startService, stopOnSignals } from '../../app/service.js';
import { ExitCode } from '../exit-codes.js';
import type { CliIo } from '../io.js';

/**
 * `wmi-hunter serve`: the HTTP API, SIEM webhooks and Slack (with --with-worker, also the job
 * workers, for small setups). Runs until SIGTERM/SIGINT; configuration comes from the environment
 * (.env.example) and is checked before anything starts.
 */
export function registerServe(program: Command, io: CliIo): void {
  program
    .command('serve')
    .summary('run the HTTP API, SIEM webhooks and Slack (and the workers with --with-worker)')
    .description('Runs the service until SIGTERM or SIGINT. Configuration: environment variables, see .env.example.')
    .option('--with-worker', 'also run the job workers in this process', false)
    .action(async (flags: { withWorker: boolean }) => {
      const config = loadConfig(io.env);
      const logger = pino({ level: config.logLevel, base: { service: 'wmi-hunter', role: flags.withWorker ? 'serve+worker' : 'serve' } });
      const service = await startService(config, { serve: true, worker: flags.withWorker }, { logger });
      await stopOnSignals(service, logger);
      io.setExitCode(ExitCode.Ok);
    });
}
