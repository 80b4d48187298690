import { Option, type Command } from 'commander';
import { loadAllowlist } from '../../allowlist/load-allowlist.js';
import { isHighOrAbove } from '../../domain/finding.js';
import { renderTraceTree } from '../../domain/origin/render-trace.js';
import { expandInputs } from '../../ingest/input-loader.js';
import { analyzeInputs } from '../../ingest/offline-analysis.js';
import { ExitCode } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { progressReporter } from '../progress.js';

/**
 * `wmi-hunter trace <files...>`: the origin chain of every subscription the inputs show (exported
 * event logs in any supported format, collections, or folders of them), as a readable tree or JSON.
 */
export const TRACE_FORMATS = ['text', 'json'] as const;
type TraceFormat = (typeof TRACE_FORMATS)[number];

interface TraceFlags {
  format: TraceFormat;
  allowlist: string[];
  defaultAllowlist: boolean;
}

export function registerTrace(program: Command, io: CliIo): void {
  program
    .command('trace')
    .summary('show what created each subscription, from exported event logs and collections')
    .description(
      'Reads exported Windows event logs (JSON lines from shippers, evtx_dump JSON, event XML, .evtx) and collection ' +
        'files, mixed, or folders of them; rebuilds the subscriptions the events describe and prints, for each, the ' +
        'activity that created it (mofcomp, wmic, PowerShell, other WMI clients), its parent chain, user, evidence and ' +
        'every time it fired.\n\n' +
        'Exit codes: 0 nothing High or above, 1 something High or Critical, 2 bad input; 4 is added when some records ' +
        'could not be read (the result is partial).',
    )
    .argument('<files...>', 'event exports, collections, or folders of them')
    .addOption(new Option('-f, --format <format>', 'output format').choices(TRACE_FORMATS).default('text'))
    .option('-a, --allowlist <file>', 'an extra allowlist file (YAML/JSON, version 1); repeatable', collect, [])
    .option('--no-default-allowlist', 'leave out the shipped allowlist/default.yaml')
    .action(async (files: string[], flags: TraceFlags) => {
      const allowlist = await loadAllowlist({ files: flags.allowlist, includeDefault: flags.defaultAllowlist });
      const paths = await expandInputs(files, io.cwd);
      const progress = progressReporter(io);
      const result = await analyzeInputs(paths, { cwd: io.cwd, allowlist, ...(progress.onProgress ? { onProgress: progress.onProgress } : {}) });
      progress.done();
      for (const skipped of result.skipped) io.stderr(`wmi-hunter: skipped ${skipped}: not an event export or a collection\n`);
      if (flags.format === 'json') {
        const traced = result.findings.map(({ id, host, kind, namespace, filterName, consumerName, created, deleted, userContext, riskLevel, benign, origin }) => ({
          id, host, kind, namespace, filterName, consumerName, created, deleted, userContext, riskLevel, benign, origin,
        }));
        io.stdout(`${JSON.stringify({ findings: traced, problems: result.problems, partial: result.problems.length > 0 }, null, 2)}\n`);
      } else {
        io.stdout(renderTraceTree(result.findings));
        for (const problem of result.problems) io.stderr(`wmi-hunter: unreadable record in ${problem.source}${problem.position ? ` at ${problem.position}` : ''}: ${problem.message}\n`);
      }
      const high = result.findings.some((finding) => isHighOrAbove(finding.riskLevel));
      io.setExitCode((high ? ExitCode.FindingsHighOrAbove : ExitCode.Ok) + (result.problems.length > 0 ? ExitCode.PartialInput : 0));
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
