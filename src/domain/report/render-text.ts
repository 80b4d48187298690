import type { Finding, Origin, Report } from '../finding.js';
import { riskCounts, subscriptionName, summaryLine } from './summary.js';

/**
 * The plain-text report. Each finding is a block in the hunting playbook's output format, with exactly
 * its field labels (Hunt ID, Host, Subscription Name, Filter Query, Consumer Type, Consumer Action,
 * Binding, Created, User Context, Risk Level), followed by Namespace, Reasons, Content Hash and Origin.
 */
export const ACTION_DISPLAY_LIMIT = 600;

export function renderText(report: Report): string {
  const lines: string[] = [];
  lines.push(`WMI persistence hunt ${report.huntId}`);
  lines.push(`Generated: ${report.generatedAt} (report version ${report.reportVersion})`);
  for (const host of report.hosts) {
    const scanned = host.namespacesScanned === null ? 'namespaces unknown' : `${host.namespacesScanned} namespaces scanned`;
    lines.push(`Scanned: ${host.host} (collected ${host.collectedAt ?? 'unknown'}, ${scanned}; from ${host.sources.join(', ')})`);
    for (const error of host.errors) lines.push(`  ! ${error.namespace}: ${error.code}: ${oneLine(error.message)}`);
  }
  lines.push(`Findings: ${summaryLine(riskCounts(report.findings), report.findings)}`);
  if (report.partial) {
    lines.push('PARTIAL REPORT: some input was not fully read; what is missing may hide persistence.');
    for (const problem of report.problems) lines.push(`  ! ${problem.source}${problem.position ? ` (${problem.position})` : ''}: ${oneLine(problem.message)}`);
  }
  report.findings.forEach((finding, index) => {
    lines.push('');
    lines.push(`--- Finding ${index + 1} of ${report.findings.length} (${finding.id}, ${finding.kind}${finding.benign ? ', known-benign default' : ''}) ---`);
    lines.push(...findingLines(report.huntId, finding));
  });
  if (report.findings.length === 0) lines.push('', 'No permanent WMI event subscriptions found.');
  return `${lines.join('\n')}\n`;
}

function findingLines(huntId: string, finding: Finding): string[] {
  const lines = [
    field('Hunt ID', huntId),
    field('Host', finding.host),
    field('Subscription Name', subscriptionName(finding)),
    field('Filter Query', finding.filterQuery ?? '(none)'),
    field('Consumer Type', finding.consumerType ?? '(none)'),
    field('Consumer Action', displayAction(finding.consumerAction)),
    field('Binding', finding.binding ?? '(none)'),
    field('Created', finding.created ?? 'unknown') + (finding.deleted ? ` (deleted ${finding.deleted})` : ''),
    field('User Context', finding.userContext ?? 'unknown'),
    field('Risk Level', finding.riskLevel),
    field('Namespace', finding.namespace),
    'Reasons:',
    ...finding.reasons.map((reason) => `  - [${reason.level}] ${reason.rule}: ${oneLine(reason.message)}`),
    field('Content Hash', finding.contentHash),
    field('Origin', originText(finding.origin)),
  ];
  if (finding.allowlistEntry) lines.push(field('Allowlist Entry', finding.allowlistEntry));
  return lines;
}

function field(label: string, value: string): string {
  const [first, ...rest] = value.split('\n');
  return [`${label}: ${first}`, ...rest.map((line) => `    ${line}`)].join('\n');
}

export function displayAction(action: string | null, limit = ACTION_DISPLAY_LIMIT): string {
  if (action === null) return '(none)';
  const clean = action.replace(/\r\n?/g, '\n').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, ' ');
  if (clean.length <= limit) return clean;
  return `${clean.slice(0, limit)}… (${clean.length - limit} more characters; the JSON report has the full text)`;
}

function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]+/g, ' ');
}

export function originText(origin: Origin | null): string {
  if (!origin) return 'not traced';
  const parts = [`${origin.method}`];
  if (origin.process) parts.push(`by ${origin.process}`);
  if (origin.user) parts.push(`as ${origin.user}`);
  if (origin.time) parts.push(`at ${origin.time}`);
  if (origin.mofPath) parts.push(`from MOF ${origin.mofPath}${origin.autorecover ? ' (autorecover)' : ''}`);
  parts.push(`(confidence ${origin.confidence})`);
  const chain = origin.parentChain.map((p) => p.image ?? '?').join(' <- ');
  const executions = origin.executions.length > 0 ? `; fired ${origin.executions.length} time(s)` : '';
  return oneLine(`${parts.join(' ')}${chain ? `; parents: ${chain}` : ''}${executions}`);
}
