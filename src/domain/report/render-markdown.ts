import type { Finding, Report } from '../finding.js';
import { displayAction, originText } from './render-text.js';
import { riskCounts, subscriptionName, summaryLine } from './summary.js';

/** The Markdown report: a summary, then one section per finding with the playbook's field labels. */
export function renderMarkdown(report: Report): string {
  const out: string[] = [];
  out.push(`# WMI persistence hunt ${report.huntId}`, '');
  out.push(`Generated ${report.generatedAt} (report version ${report.reportVersion}).`, '');
  if (report.partial) {
    out.push('> **Partial report**: some input was not fully read; what is missing may hide persistence.');
    for (const problem of report.problems) out.push(`> - ${inline(problem.source)}${problem.position ? ` (${inline(problem.position)})` : ''}: ${inline(problem.message)}`);
    for (const host of report.hosts) for (const error of host.errors) out.push(`> - ${inline(host.host)} ${inline(error.namespace)}: ${inline(error.code)}: ${inline(error.message)}`);
    out.push('');
  }
  out.push('| Host | Collected | Namespaces scanned | Sources |', '|---|---|---|---|');
  for (const host of report.hosts) {
    out.push(`| ${cell(host.host)} | ${cell(host.collectedAt ?? 'unknown')} | ${host.namespacesScanned ?? 'unknown'} | ${cell(host.sources.join(', '))} |`);
  }
  out.push('', `**Findings:** ${summaryLine(riskCounts(report.findings), report.findings)}`, '');
  if (report.findings.length > 0) {
    out.push('| # | Risk | Host | Subscription | Consumer | Benign |', '|---|---|---|---|---|---|');
    report.findings.forEach((f, i) => {
      out.push(`| ${i + 1} | ${f.riskLevel} | ${cell(f.host)} | ${cell(subscriptionName(f))} | ${cell(f.consumerType ?? '-')} | ${f.benign ? 'yes' : 'no'} |`);
    });
    out.push('');
  } else {
    out.push('No permanent WMI event subscriptions found.', '');
  }
  report.findings.forEach((finding, index) => out.push(...findingSection(report.huntId, finding, index + 1)));
  return `${out.join('\n').trimEnd()}\n`;
}

function findingSection(huntId: string, finding: Finding, number: number): string[] {
  const rows: Array<[string, string]> = [
    ['Hunt ID', huntId],
    ['Host', finding.host],
    ['Subscription Name', subscriptionName(finding)],
    ['Filter Query', finding.filterQuery ?? '(none)'],
    ['Consumer Type', finding.consumerType ?? '(none)'],
    ['Binding', finding.binding ?? '(none)'],
    ['Created', (finding.created ?? 'unknown') + (finding.deleted ? ` (deleted ${finding.deleted})` : '')],
    ['User Context', finding.userContext ?? 'unknown'],
    ['Risk Level', `**${finding.riskLevel}**${finding.benign ? ' (known-benign default)' : ''}`],
    ['Namespace', finding.namespace],
    ['Kind', finding.kind],
    ['Content Hash', `\`${finding.contentHash}\``],
    ['Origin', originText(finding.origin)],
  ];
  return [
    `## ${number}. ${inline(subscriptionName(finding))} on ${inline(finding.host)} — ${finding.riskLevel}`,
    '',
    '| Field | Value |',
    '|---|---|',
    ...rows.map(([label, value]) => `| ${label} | ${label === 'Risk Level' || label === 'Content Hash' ? value : cell(value)} |`),
    '',
    '**Consumer Action:**',
    '',
    fence(displayAction(finding.consumerAction)),
    '',
    '**Reasons:**',
    '',
    ...finding.reasons.map((reason) => `- **${reason.level}** \`${reason.rule}\`: ${inline(reason.message)}`),
    '',
  ];
}

/** A fenced block longer than any backtick run inside, so payload text cannot break out of it. */
function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}text\n${text}\n${ticks}`;
}

function cell(text: string): string {
  return inline(text);
}

/** One line, with Markdown's active characters escaped so attacker text renders as text. */
function inline(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').replace(/[\\`*_[\]<>#!|]/g, (ch) => `\\${ch}`);
}
