import type { types } from '@slack/bolt';
import type { ApprovalRequest, ApprovalStatus } from '../app/engine.js';
import type { Finding, ObjectRef } from '../domain/finding.js';
import type { RemovalStatus } from '../domain/ports.js';
import { type Block, type SlackMessage, RISK_ICON, actorLabel, context, divider, fitBlocks, header, originLine, section, slackDate } from './block-kit.js';
import { subscriptionName } from '../domain/report/summary.js';
import { sortedFindings } from './hunt-blocks.js';
import { inlineCode, plain, trimText } from './mrkdwn.js';

/** Pure renderers for the approval card, the deny-reason modal and the removal result. */
export const ACTION_APPROVE = 'wmi.approval.approve';
export const ACTION_DENY = 'wmi.approval.deny';
export const VIEW_DENY_REASON = 'wmi.approval.deny-reason';
export const DENY_REASON_BLOCK = 'deny-reason';
export const DENY_REASON_INPUT = 'reason';
export const DENY_REASON_MIN = 3;
export const DENY_REASON_MAX = 500;

const OUTCOME: Readonly<Record<Exclude<ApprovalStatus, 'pending'>, string>> = {
  approved: ':white_check_mark: *Approved*: removal queued',
  executing: ':gear: *Approved*: removal running',
  completed: ':white_check_mark: *Approved*: removal finished (result in the thread)',
  failed: ':x: *Approved*, but the removal failed (details in the thread)',
  denied: ':no_entry: *Denied*: nothing will be removed',
  expired: ':hourglass: *Expired*: no quorum in time, so this counts as a deny and nothing will be removed',
};

function objectLine(object: ObjectRef): string {
  return `• ${plain(object.kind, 10)} ${inlineCode(object.className, 80)} in ${inlineCode(object.namespace, 120)} key ${inlineCode(object.key, 400)}\n    sha256 \`${plain(object.contentHash, 80)}\``;
}

function approvalFindingBlocks(finding: Finding): Block[] {
  const reasons = finding.reasons.slice(0, 6).map((reason) => `• ${plain(reason.message, 200)} (${inlineCode(reason.rule, 60)}, ${reason.level})`);
  const summary = [
    `${RISK_ICON[finding.riskLevel]} *${finding.riskLevel}* · ${inlineCode(subscriptionName(finding), 200)} · id ${inlineCode(finding.id, 64)}`,
    ...(finding.consumerAction ? [`*action:* ${inlineCode(finding.consumerAction, 600)}`] : []),
    ...(reasons.length > 0 ? [`*reasons:*\n${reasons.join('\n')}`] : []),
    originLine(finding.origin),
  ];
  return [section(summary.join('\n')), section(`*objects to remove:*\n${finding.objects.map(objectLine).join('\n')}`)];
}

function approvedCount(approval: ApprovalRequest): number {
  return new Set(approval.decisions.filter((d) => d.decision === 'approve').map((d) => d.actor.id)).size;
}

function decisionsLine(approval: ApprovalRequest): string | null {
  if (approval.decisions.length === 0) return null;
  return approval.decisions
    .map((d) => `${d.decision === 'approve' ? ':heavy_check_mark: approved' : ':x: denied'} by ${actorLabel(d.actor)} ${slackDate(d.at)}${d.reason ? `: ${plain(d.reason, 300)}` : ''}`)
    .join('\n');
}

function whoMayApprove(approval: ApprovalRequest): string {
  const users = approval.approvers.users.map((id) => actorLabel({ kind: 'slack', id }));
  const groups = approval.approvers.groups.map((group) => (/^S[A-Z0-9]{2,20}$/.test(group) ? `<!subteam^${group}>` : inlineCode(`@${group.replace(/^@/, '')}`, 40)));
  const who = [...users, ...groups].join(', ') || 'nobody configured';
  const rule = approval.twoPersonRule ? ' · two-person rule: the requester cannot approve' : '';
  return `approvers: ${who} · ${approval.quorum} distinct approval(s) needed${rule}`;
}

/** The card; `findingsLeftOut` > 0 means the card could not list every object (they go in a file). */
export function renderApprovalCard(approval: ApprovalRequest): SlackMessage & { findingsLeftOut: number } {
  const objects = approval.findings.reduce((sum, finding) => sum + finding.objects.length, 0);
  const head: Block[] = [
    header(`Approve removal on ${approval.host}?`),
    section(
      `*${approval.huntId}* · host ${inlineCode(approval.host, 80)} · ${approval.findings.length} finding(s), ${objects} object(s)\n` +
        `requested by ${actorLabel(approval.requestedBy)} ${slackDate(approval.requestedAt)} · expires ${slackDate(approval.expiresAt)} · approval ${inlineCode(approval.approvalId, 80)}`,
    ),
    context(whoMayApprove(approval)),
  ];
  const tail: Block[] = [divider()];
  const decisions = decisionsLine(approval);
  if (decisions) tail.push(section(decisions));
  if (approval.status === 'pending') {
    tail.push(context(`${approvedCount(approval)} of ${approval.quorum} approval(s) so far. Each object is removed only if its content hash still matches the one shown; everything is backed up first.`));
    tail.push(approvalButtons(approval.approvalId));
  } else {
    tail.push(section(OUTCOME[approval.status]));
  }
  const items = sortedFindings(approval.findings).map((finding) => [divider(), ...approvalFindingBlocks(finding)]);
  const fitted = fitBlocks(head, items, tail, (count) => `:warning: ${count} more finding(s) are part of this approval; their exact objects and hashes are in the file posted in this thread`);
  return { text: `Removal approval ${approval.approvalId} for ${approval.host}: ${approval.status}`, blocks: fitted.blocks, findingsLeftOut: fitted.leftOut };
}

function approvalButtons(approvalId: string): Block {
  return {
    type: 'actions',
    block_id: `approval:${trimText(approvalId, 200, '')}`,
    elements: [
      { type: 'button', action_id: ACTION_APPROVE, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: approvalId },
      { type: 'button', action_id: ACTION_DENY, style: 'danger', text: { type: 'plain_text', text: 'Deny' }, value: approvalId },
    ],
  };
}

/** Where the modal's submission must land: carried through Slack in `private_metadata`. */
export interface DenyModalContext {
  approvalId: string;
  channel: string | null;
  messageTs: string | null;
}

export function renderDenyModal(target: DenyModalContext): types.ModalView {
  return {
    type: 'modal',
    callback_id: VIEW_DENY_REASON,
    private_metadata: JSON.stringify(target),
    title: { type: 'plain_text', text: 'Deny removal' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(`Deny approval ${inlineCode(target.approvalId, 80)}? Nothing will be removed. The reason goes to the audit log and the card.`),
      {
        type: 'input',
        block_id: DENY_REASON_BLOCK,
        label: { type: 'plain_text', text: 'Reason' },
        element: { type: 'plain_text_input', action_id: DENY_REASON_INPUT, multiline: true, min_length: DENY_REASON_MIN, max_length: DENY_REASON_MAX },
      },
    ],
  };
}

const REMOVAL_ICON: Readonly<Record<RemovalStatus, string>> = {
  removed: ':wastebasket: removed',
  'removed-earlier': ':wastebasket: removed by an earlier attempt of this removal (backup kept first)',
  'skipped-changed': ':no_entry_sign: skipped, it changed since approval',
  'skipped-missing': ':grey_question: skipped, already gone',
  failed: ':x: failed',
};

export function renderRemovalResult(approval: ApprovalRequest): SlackMessage {
  const removal = approval.removal;
  if (!removal) {
    return { text: `Removal ${approval.approvalId}: no result`, blocks: [section(`Removal for ${inlineCode(approval.approvalId, 80)} has no result (status ${approval.status}).`)] };
  }
  const removed = removal.results.filter((result) => result.status === 'removed' || result.status === 'removed-earlier').length;
  const head: Block[] = [
    section(
      `*Removal result* for ${inlineCode(approval.approvalId, 80)} on ${inlineCode(removal.host, 80)}: ${removed}/${removal.results.length} removed · ` +
        `${removal.verified ? ':white_check_mark: verified by a re-scan' : ':warning: not verified: a re-scan still sees objects'}\n` +
        `backup ${inlineCode(removal.backupId, 128)} (restore with \`/wmi restore ${plain(removal.backupId, 128)}\`)`,
    ),
  ];
  const items = removal.results.map((result) => [
    section(
      `${REMOVAL_ICON[result.status]} · ${plain(result.target.kind, 10)} ${inlineCode(result.target.className, 80)} key ${inlineCode(result.target.key, 300)}` +
        (result.message ? `\n${plain(result.message, 400)}` : '') +
        (result.currentHash && result.currentHash !== result.target.contentHash ? `\nhash now \`${plain(result.currentHash, 80)}\`, approved \`${plain(result.target.contentHash, 80)}\`` : ''),
    ),
  ]);
  const tail = removal.autorecoverRemoved.length > 0 ? [context(`autorecover entries removed: ${removal.autorecoverRemoved.map((entry) => inlineCode(entry, 200)).join(', ')}`)] : [];
  return {
    text: `Removal ${approval.approvalId} on ${removal.host}: ${removed}/${removal.results.length} removed, backup ${removal.backupId}`,
    blocks: fitBlocks(head, items, tail, (count) => `…and ${count} more object result(s): see the audit log`).blocks,
  };
}
