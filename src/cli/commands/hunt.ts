import { hostname, userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import { pino } from 'pino';
import { DomainAnalysis } from '../../app/analysis.js';
import type { Actor, HuntSummary } from '../../app/engine.js';
import { startService } from '../../app/service.js';
import { loadConfig, type Config } from '../../config/config.js';
import { isHighOrAbove, type Finding, type Report } from '../../domain/finding.js';
import { isValidHostName } from '../../domain/host.js';
import type { HostSummary, Problem } from '../../domain/report/build-report.js';
import { CodedError, ErrorCode, asCodedError } from '../../errors.js';
import { createPowerShellHostExecutor } from '../../powershell/powershell-host-executor.js';
import { ExitCode } from '../exit-codes.js';
import { allocateHuntId, stateDirFrom } from '../hunt-sequence.js';
import type { CliIo } from '../io.js';
import { RENDERERS, REPORT_FORMATS, type ReportFormat } from './analyze.js';

/**
 * `wmi-hunter hunt <hosts...>`: a live hunt. By default it goes through the service's engine: the
 * hunt is queued in Redis, a worker (`wmi-hunter worker` or `serve --with-worker`) runs it, and the
 * command waits and prints the report; the hunt, its approvals and the audit log are the service's.
 * With --local it runs collect, analyze, trace and report in this process over the configured
 * transport, without Redis or a worker (nothing is queued, stored or audited; removal is not offered).
 */
interface HuntFlags {
  format: ReportFormat;
  playbook?: string;
  lookback?: number;
  wait: boolean;
  timeout: number;
  local: boolean;
}

const POLL_MS = 500;
const GROUP_PREFIX = 'group:';

export function registerHunt(program: Command, io: CliIo): void {
  program
    .command('hunt')
    .summary('hunt hosts for WMI persistence now and print the report')
    .description(
      'Hunts the hosts (names, or group:NAME from HOST_GROUPS_FILE) for permanent WMI event subscriptions. ' +
        'By default the hunt is queued to the service (REDIS_URL and REDIS_PREFIX of the deployment; a worker ' +
        'must be running) and this command waits for it: the report is the service\'s, removal is asked for and ' +
        'approved in Slack or the API, and everything is in the audit log. --local runs the hunt in this process ' +
        'over EXECUTOR_TRANSPORT instead, with no Redis and no worker, and only prints the report.\n\n' +
        'Configuration: the service\'s environment variables (.env.example).\n' +
        'Exit codes: 0 nothing High or above, 1 something High or Critical, 2 bad input or configuration, ' +
        '3 the hunt failed or did not finish in time; 4 is added when some hosts could not be hunted (partial).',
    )
    .argument('<hosts...>', 'host names, or group:NAME')
    .addOption(new Option('-f, --format <format>', 'report format').choices(REPORT_FORMATS).default('text'))
    .option('-p, --playbook <name>', 'the playbook to run (default: DEFAULT_PLAYBOOK)')
    .option('-l, --lookback <hours>', 'hours of event logs to collect for the origin trace', parseHours)
    .option('--no-wait', 'print the hunt id once queued and exit (service mode)')
    .option('--timeout <seconds>', 'how long to wait for the report', parseSeconds, 900)
    .option('--local', 'run in this process over the configured transport, without Redis or a worker', false)
    .action(async (targets: string[], flags: HuntFlags) => {
      if (flags.local && (flags.playbook !== undefined || !flags.wait)) {
        throw new CodedError(ErrorCode.BadInput, '--playbook and --no-wait apply to hunts queued to the service, not to --local', { field: flags.playbook !== undefined ? 'playbook' : 'wait' });
      }
      // --local uses no Redis; the shared schema still wants a URL, so a placeholder stands in when none is set.
      const config = loadConfig(flags.local && !io.env.REDIS_URL ? { ...io.env, REDIS_URL: 'redis://127.0.0.1:6379' } : io.env);
      const hosts = expandTargets(targets, config.hostGroups);
      if (flags.local) await huntLocally(hosts, flags, config, io);
      else await huntThroughService(hosts, flags, config, io);
    });
}

function expandTargets(targets: string[], groups: Record<string, string[]>): string[] {
  const hosts: string[] = [];
  for (const target of targets.flatMap((entry) => entry.split(',')).map((entry) => entry.trim()).filter(Boolean)) {
    if (!target.startsWith(GROUP_PREFIX)) {
      if (!isValidHostName(target)) throw new CodedError(ErrorCode.InvalidHostName, `${JSON.stringify(target.slice(0, 80))} is not a valid host name`, { field: 'hosts' });
      hosts.push(target);
      continue;
    }
    const name = target.slice(GROUP_PREFIX.length);
    const members = groups[name];
    if (!members) {
      const known = Object.keys(groups);
      throw new CodedError(ErrorCode.NotFound, `no host group ${JSON.stringify(name.slice(0, 64))} (${known.length > 0 ? `known: ${known.join(', ')}` : 'HOST_GROUPS_FILE defines none'})`, { field: 'hosts' });
    }
    hosts.push(...members);
  }
  return hosts;
}

function cliActor(io: CliIo): Actor {
  let name = io.env.USER ?? io.env.USERNAME ?? 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry (some containers): the environment's name stands.
  }
  return { kind: 'cli', id: name.slice(0, 64), from: hostname() };
}

async function huntThroughService(hosts: string[], flags: HuntFlags, config: Config, io: CliIo): Promise<void> {
  const logger = pino({ level: config.logLevel === 'silent' ? 'silent' : 'warn', base: { service: 'wmi-hunter', role: 'cli' } }, pino.destination(2));
  const service = await startService(config, { serve: false, worker: false }, { logger });
  try {
    const { huntId, deduplicated } = await service.engine.startHunt({
      hosts,
      requestedBy: cliActor(io),
      ...(flags.playbook ? { playbook: flags.playbook } : {}),
      ...(flags.lookback !== undefined ? { lookbackHours: flags.lookback } : {}),
    });
    io.stderr(`wmi-hunter: hunt ${huntId} ${deduplicated ? 'already running' : 'queued'} for ${hosts.length} host(s)\n`);
    if (!flags.wait) {
      io.stdout(`${huntId}\n`);
      io.setExitCode(ExitCode.Ok);
      return;
    }
    const hunt = await waitForHunt(() => service.engine.getHunt(huntId), flags.timeout * 1000, io);
    for (const error of hunt.errors) io.stderr(`wmi-hunter: ${error.host}: [${error.code}] ${error.message}\n`);
    const report = await service.engine.getReport(huntId);
    if (!report) {
      io.stderr(`wmi-hunter: hunt ${huntId} ${hunt.status} without a report\n`);
      io.setExitCode(ExitCode.Failure);
      return;
    }
    io.stdout(RENDERERS[flags.format](report));
    io.setExitCode(hunt.status === 'failed' ? ExitCode.Failure : exitCodeOf(report, hunt.status === 'partial'));
  } finally {
    await service.stop();
  }
}

async function waitForHunt(read: () => Promise<HuntSummary | null>, timeoutMs: number, io: CliIo): Promise<HuntSummary> {
  const deadline = Date.now() + timeoutMs;
  let shown = -1;
  for (;;) {
    const hunt = await read();
    if (hunt?.finishedAt) return hunt;
    if (hunt && io.stderrIsTerminal && hunt.progress.done + hunt.progress.failed !== shown) {
      shown = hunt.progress.done + hunt.progress.failed;
      io.stderr(`wmi-hunter: ${hunt.status}, hosts done ${shown}/${hunt.progress.total}\n`);
    }
    if (Date.now() > deadline) {
      throw new CodedError(ErrorCode.Timeout, `the hunt did not finish within ${Math.round(timeoutMs / 1000)} s (is a worker running on this Redis and prefix?); it stays queued`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function huntLocally(hosts: string[], flags: HuntFlags, config: Config, io: CliIo): Promise<void> {
  const lookbackHours = flags.lookback ?? config.hunt.lookbackHours;
  const analysis = await DomainAnalysis.withDefaultAllowlist(config.allowlistFiles);
  const powershell = createPowerShellHostExecutor({
    transportFor: () => config.executor.transport,
    pwshPath: config.executor.pwshPath,
    poolSize: Math.min(config.executor.sessions, hosts.length),
    limits: { collectTimeoutMs: config.jobs.timeoutsMs.hunt },
  });
  const summaries: HostSummary[] = [];
  const findings: Finding[] = [];
  const problems: Problem[] = [];
  let failedHosts = 0;
  try {
    const signal = new AbortController().signal;
    await Promise.all(
      [...new Set(hosts)].map(async (host) => {
        try {
          const collection = await powershell.executor.collect({ host, lookbackHours, maxEvents: config.hunt.maxEvents }, signal);
          const described = analysis.hostSummary(collection);
          summaries.push(described.summary);
          problems.push(...described.problems);
          findings.push(...analysis.trace(analysis.analyze(collection, { allowlist: 'default' }), collection));
        } catch (thrown) {
          const error = asCodedError(thrown);
          failedHosts += 1;
          io.stderr(`wmi-hunter: ${host}: [${error.code}] ${error.message}\n`);
          summaries.push({ host, collectedAt: null, namespacesScanned: null, errors: [{ namespace: '(host)', code: error.code, message: error.message }], sources: [] });
        }
      }),
    );
  } finally {
    await powershell.close();
  }
  const generatedAt = io.now();
  const huntId = await allocateHuntId(stateDirFrom(io.env, io.cwd), generatedAt);
  const report = analysis.buildReport({ huntId, generatedAt: generatedAt.toISOString(), hosts: summaries.sort((a, b) => a.host.localeCompare(b.host)), findings, problems });
  io.stdout(RENDERERS[flags.format](report));
  io.setExitCode(failedHosts === summaries.length ? ExitCode.Failure : exitCodeOf(report, failedHosts > 0));
}

function exitCodeOf(report: Report, partial: boolean): number {
  const high = report.findings.some((finding) => !finding.benign && isHighOrAbove(finding.riskLevel));
  return (high ? ExitCode.FindingsHighOrAbove : ExitCode.Ok) + (partial ? ExitCode.PartialInput : 0);
}

function parseHours(value: string): number {
  const hours = Number(value.replace(/h$/i, ''));
  if (!Number.isFinite(hours) || hours < 0 || hours > 24 * 90) throw new CodedError(ErrorCode.BadInput, '--lookback must be hours between 0 and 2160 (e.g. 48 or 48h)', { field: 'lookback' });
  return hours;
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) throw new CodedError(ErrorCode.BadInput, '--timeout must be whole seconds between 1 and 86400', { field: 'timeout' });
  return seconds;
}
