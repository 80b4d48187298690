import type { HuntStatus, HuntSummary } from '../app/engine.js';
import { UPLOAD_TRIGGER_SOURCE } from '../app/upload-intake.js';
import { ErrorCode } from '../errors.js';
import { RISK_LEVELS, riskRank, type Finding, type Report } from '../domain/finding.js';
import { subscriptionName } from '../domain/report/summary.js';
import { type Block, type SlackMessage, RISK_ICON, actorLabel, context, divider, fitBlocks, header, originLine, section, slackDate } from './block-kit.js';
import { codeBlock, inlineCode, plain } from './mrkdwn.js';

/** Pure renderers for a hunt's one Slack message: progress while it runs, the summary when done. */
const STATUS_TEXT: Readonly<Record<HuntStatus, string>> = {
  queued: ':hourglass: queued',
  running: ':mag: running',
  completed: ':white_check_mark: completed',
  partial: ':warning: partial (some hosts failed)',
  failed: ':x: failed',
};

const MAX_HOST_ERRORS_SHOWN = 10;

export function triggerLine(trigger: NonNullable<HuntSummary['trigger']>): string {
  if (trigger.source === UPLOAD_TRIGGER_SOURCE) return `:inbox_tray: *Uploaded files* (${inlineCode(trigger.alertId, 80)})\n${plain(trigger.summary, 600)}`;
  const rule = trigger.rule ? ` · rule ${inlineCode(trigger.rule, 120)}` : '';
  return `:rotating_light: *Alert* from ${plain(trigger.source, 60)} (${inlineCode(trigger.alertId, 80)})${rule}\n${plain(trigger.summary, 600)}`;
}

function progressLine(hunt: HuntSummary): string {
  const { done, failed, total } = hunt.progress;
  const failedText = failed > 0 ? `, ${failed} failed` : '';
  return `*${hunt.huntId}* · ${STATUS_TEXT[hunt.status]} · hosts done ${done + failed}/${total}${failedText}`;
}

function huntHead(hunt: HuntSummary): Block[] {
  const blocks: Block[] = [header(`WMI hunt ${hunt.huntId}`)];
  if (hunt.trigger) blocks.push(section(triggerLine(hunt.trigger)));
  blocks.push(section(progressLine(hunt)));
  const hosts = hunt.hosts.length <= 10 ? hunt.hosts.map((host) => inlineCode(host, 80)).join(' ') : `${hunt.hosts.length} hosts`;
  blocks.push(context(`requested by ${actorLabel(hunt.requestedBy)} · playbook ${inlineCode(hunt.playbook, 60)} · ${hosts} · started ${slackDate(hunt.createdAt)}`));
  return blocks;
}

/** What an analyst should read for a host failure; the code stays visible for the runbook. */
const HOST_ERROR_EXPLANATION: Readonly<Partial<Record<string, string>>> = {
  [ErrorCode.HostUnreachable]: 'could not be reached (no route, refused or closed connection); retried, then given up',
  [ErrorCode.AuthenticationFailed]: 'refused our credentials: check the service account or SSH key for this host (not retried)',
  [ErrorCode.AccessDenied]: 'accepted the login but denied access to WMI: the account lacks rights on this host (not retried)',
  [ErrorCode.Timeout]: 'did not answer in time: PowerShell hung or the host is overloaded; retried, then given up',
  [ErrorCode.BadOutput]: 'answered with output that is not a valid collection (PowerShell printed garbage); nothing from it was used',
  [ErrorCode.OutputTooLarge]: 'answered with more output than allowed; nothing from it was used',
  [ErrorCode.ScriptError]: 'the collection script failed or PowerShell crashed on this host',
  [ErrorCode.Aborted]: 'the collection was cancelled before it finished',
  [ErrorCode.InvalidHostName]: 'is not a valid host name; nothing was run',
};

/** First line only: a host error's message is a summary, never a stack or a dump of output. */
function errorDetail(message: string): string {
  const firstLine = message.split(/\r?\n/, 1)[0]?.trim() ?? '';
  return firstLine === '' ? '' : ` · detail ${inlineCode(firstLine, 160)}`;
}

export function hostErrorLine(error: HuntSummary['errors'][number]): string {
  const explanation = HOST_ERROR_EXPLANATION[error.code] ?? 'failed';
  return `• ${inlineCode(error.host, 80)} ${explanation} (${inlineCode(error.code, 40)})${errorDetail(error.message)}`;
}

function hostErrors(hunt: HuntSummary): Block[] {
  if (hunt.errors.length === 0) return [];
  const lines = hunt.errors.slice(0, MAX_HOST_ERRORS_SHOWN).map(hostErrorLine);
  if (hunt.errors.length > MAX_HOST_ERRORS_SHOWN) lines.push(`…and ${hunt.errors.length - MAX_HOST_ERRORS_SHOWN} more host errors (see the report)`);
  return [section(`*Host errors*\n${lines.join('\n')}`)];
}

export function renderHuntProgress(hunt: HuntSummary): SlackMessage {
  const { done, failed, total } = hunt.progress;
  return {
    text: `WMI hunt ${hunt.huntId}: ${hunt.status}, hosts done ${done + failed}/${total}`,
    blocks: [...huntHead(hunt), ...hostErrors(hunt)],
  };
}

export function findingBlock(finding: Finding): Block {
  const lines = [
    `${RISK_ICON[finding.riskLevel]} *${finding.riskLevel}* · ${inlineCode(subscriptionName(finding), 200)} · ${plain(finding.kind, 30)} on ${inlineCode(finding.host, 80)} · id ${inlineCode(finding.id, 64)}`,
  ];
  if (finding.filterQuery) lines.push(`*query:* ${inlineCode(finding.filterQuery, 500)}`);
  if (finding.consumerAction) lines.push(`*${plain(finding.consumerType ?? 'consumer', 40)}:*\n${codeBlock(finding.consumerAction, 900)}`);
  if (finding.reasons.length > 0) lines.push(`*why:* ${finding.reasons.slice(0, 5).map((reason) => plain(reason.message, 160)).join('; ')}`);
  lines.push(originLine(finding.origin));
  if (finding.deleted) lines.push(`_deleted at ${slackDate(finding.deleted)} (from events)_`);
  return section(lines.join('\n'));
}

export function sortedFindings(findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) => riskRank(b.riskLevel) - riskRank(a.riskLevel) || subscriptionName(a).localeCompare(subscriptionName(b)));
}

export function renderHuntSummary(hunt: HuntSummary, report: Report): SlackMessage {
  const suspicious = sortedFindings(report.findings.filter((finding) => !finding.benign));
  const benign = report.findings.length - suspicious.length;
  const counts = [...RISK_LEVELS].reverse().map((level) => `${RISK_ICON[level]} ${level}: ${suspicious.filter((f) => f.riskLevel === level).length}`).join('  ');
  const head = [...huntHead(hunt), section(`*Findings:* ${suspicious.length === 0 ? 'none suspicious' : counts}`)];
  const tail: Block[] = [...hostErrors(hunt)];
  const notes: string[] = [];
  if (benign > 0) notes.push(`${benign} known-benign default(s) not shown`);
  if (report.partial) notes.push(':warning: the report is partial: some input could not be read');
  notes.push(`full report attached in the thread · \`/wmi report ${hunt.huntId}\` · \`/wmi remove ${hunt.huntId} [finding...]\``);
  tail.push(context(...notes));
  const items = suspicious.map((finding) => [divider(), findingBlock(finding)]);
  return {
    text: `WMI hunt ${hunt.huntId}: ${hunt.status}, ${suspicious.length} suspicious finding(s)`,
    blocks: fitBlocks(head, items, tail, (count) => `…and ${count} more finding(s): see the attached report`).blocks,
  };
}

export function renderTrace(huntId: string, findings: Finding[]): SlackMessage {
  const items = findings.map((finding) => {
    const chain = finding.origin?.parentChain ?? [];
    const lines = [`${RISK_ICON[finding.riskLevel]} ${inlineCode(subscriptionName(finding), 200)} · id ${inlineCode(finding.id, 64)}`, originLine(finding.origin)];
    if (finding.origin?.commandLine) lines.push(`*command:* ${codeBlock(finding.origin.commandLine, 800)}`);
    if (chain.length > 0) lines.push(`*parents:* ${chain.slice(0, 8).map((process) => inlineCode(process.image ?? '?', 120)).join(' ← ')}`);
    if (finding.origin?.scriptBlock) lines.push(`*script block:* ${codeBlock(finding.origin.scriptBlock, 600)}`);
    for (const execution of (finding.origin?.executions ?? []).slice(0, 3)) {
      lines.push(`*ran:* ${inlineCode(execution.commandLine ?? execution.image ?? '?', 300)} at ${slackDate(execution.time)}`);
    }
    return [section(lines.join('\n'))];
  });
  if (items.length === 0) items.push([section('No matching findings in this hunt.')]);
  return {
    text: `Origin trace for ${huntId}`,
    blocks: fitBlocks([header(`Origin trace ${huntId}`)], items, [], (count) => `…and ${count} more: \`/wmi report ${huntId} --format json\``).blocks,
  };
}
