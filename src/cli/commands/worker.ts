import type { Command } from 'commander';
import { pino } from 'pino';
import { loadConfig } from '../../config/config.js';
import { startService, stopOnSignals } from '../../app/service.js';
import { ExitCode } from '../exit-codes.js';
import type { CliIo } from '../io.js';

/**
 * `wmi-hunter worker`: runs the jobs (hunts, traces, removals, restores, notifications) against
 * the configured Redis. It can run on a Windows jump host for WinRM/JEA while `serve` runs
 * elsewhere. On SIGTERM running jobs finish within SHUTDOWN_GRACE_SECONDS or go back to the queue.
 */
export function registerWorker(program: Command, io: CliIo): void {
  program
    .command('worker')
    .summary('run the job workers (host operations) until SIGTERM/SIGINT')
    .description('Configuration: environment variables, see .env.example. WORKER_METRICS_PORT serves /metrics and /healthz.')
    .action(async () => {
      const config = loadConfig(io.env);
      const logger = pino({ level: config.logLevel, base: { service: 'wmi-hunter', role: 'worker' } });
      const service = await startService(config, { serve: false, worker: true }, { logger });
      await stopOnSignals(service, logger);
      io.setExitCode(ExitCode.Ok);
    });
}
