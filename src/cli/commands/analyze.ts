import { Option, type Command } from 'commander';
import { loadAllowlist } from '../../allowlist/load-allowlist.js';
import { isHighOrAbove, type Report } from '../../domain/finding.js';
import { buildReport } from '../../domain/report/build-report.js';
import { parseHuntId } from '../../domain/report/hunt-id.js';
import { renderJson } from '../../domain/report/render-json.js';
import { renderMarkdown } from '../../domain/report/render-markdown.js';
import { renderText } from '../../domain/report/render-text.js';
import { ExitCode } from '../exit-codes.js';
import { allocateHuntId, stateDirFrom } from '../hunt-sequence.js';
import type { CliIo } from '../io.js';
import { expandInputs } from '../../ingest/input-loader.js';
import { analyzeInputs } from '../../ingest/offline-analysis.js';
import { progressReporter } from '../progress.js';

/**
 * `wmi-hunter analyze <files...>`: offline analysis of collection files and exported event logs,
 * mixed. Reads and validates every input first (bad input: exit 2, no hunt id taken), then analyzes,
 * traces origins, numbers the hunt and prints the report. Exit 1 when any finding is High or
 * Critical, 0 otherwise; 4 is added when some event records could not be read (partial input).
 */
export const REPORT_FORMATS = ['text', 'markdown', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export const RENDERERS: Record<ReportFormat, (report: Report) => string> = {
  text: renderText,
  markdown: renderMarkdown,
  json: renderJson,
};

interface AnalyzeFlags {
  format: ReportFormat;
  allowlist: string[];
  defaultAllowlist: boolean;
  huntId?: string;
}

export function registerAnalyze(program: Command, io: CliIo): void {
  program
    .command('analyze')
    .summary('analyze collection files offline and print the hunt report')
    .description(
      'Reads collection files (schema version 1) and exported Windows event logs (JSON lines, evtx_dump JSON, event ' +
        'XML, .evtx), mixed; a directory stands for the files in it. Rebuilds the subscriptions the events describe, ' +
        'joins filters, consumers and bindings across namespaces, scores each finding with its reasons, traces its ' +
        'origin, and prints the hunt report.\n\n' +
        'Exit codes: 0 nothing High or above, 1 something High or Critical, 2 bad input (nothing is analyzed); ' +
        '4 is added when some event records could not be read (the report is partial).',
    )
    .argument('<files...>', 'collections, event exports, or directories of them')
    .addOption(new Option('-f, --format <format>', 'report format').choices(REPORT_FORMATS).default('text'))
    .option('-a, --allowlist <file>', 'an extra allowlist file (YAML/JSON, version 1); repeatable', collect, [])
    .option('--no-default-allowlist', 'leave out the shipped allowlist/default.yaml')
    .option('--hunt-id <id>', 'use this hunt id (TH-WMI-YYYYMMDD-NNN) instead of the next one from the state directory')
    .addHelpText('after', '\nThe hunt id sequence lives in $WMI_HUNTER_STATE_DIR (default ~/.local/state/wmi-hunter).')
    .action(async (files: string[], flags: AnalyzeFlags) => {
      if (flags.huntId !== undefined) parseHuntId(flags.huntId);
      const allowlist = await loadAllowlist({ files: flags.allowlist, includeDefault: flags.defaultAllowlist });
      const progress = progressReporter(io);
      const analysis = await analyzeInputs(await expandInputs(files, io.cwd), {
        cwd: io.cwd,
        allowlist,
        ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
      });
      progress.done();
      for (const skipped of analysis.skipped) io.stderr(`wmi-hunter: skipped ${skipped}: not an event export or a collection\n`);
      const generatedAt = io.now();
      const huntId = flags.huntId ?? (await allocateHuntId(stateDirFrom(io.env, io.cwd), generatedAt));
      const report = buildReport({
        huntId,
        generatedAt: generatedAt.toISOString(),
        hosts: analysis.hosts,
        findings: analysis.findings,
        problems: analysis.problems,
      });
      io.stdout(RENDERERS[flags.format](report));
      const high = report.findings.some((f) => isHighOrAbove(f.riskLevel));
      io.setExitCode((high ? ExitCode.FindingsHighOrAbove : ExitCode.Ok) + (analysis.problems.length > 0 ? ExitCode.PartialInput : 0));
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
