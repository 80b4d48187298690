import { z } from 'zod';
import type { webApi } from '@slack/bolt';
import type { Actor, ApprovalRequest, Engine } from '../app/engine.js';
import { CodedError, ErrorCode, asCodedError } from '../errors.js';
import type { DenyModalContext } from './approval-blocks.js';
import { DENY_REASON_MAX, DENY_REASON_MIN } from './approval-blocks.js';
import { errorMessage, textMessage } from './command-handler.js';
import type { SlackMessage } from './block-kit.js';
import type { UsergroupDirectory } from './usergroup-directory.js';

/**
 * Approve and Deny from the card. The engine judges every click (approver list and groups, two-person
 * rule, quorum, expiry, one decision per person); this side only says who clicked and which of the
 * approver groups they are in. A refused click changes nothing and the clicker gets a private
 * explanation. The card itself is redrawn by the engine's notify jobs after every recorded
 * decision and when a late click finds the request expired (so an expired card says so).
 */
export const APPROVAL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const DenyModalContextSchema = z
  .object({
    approvalId: z.string().regex(APPROVAL_ID),
    channel: z.string().regex(/^[A-Z0-9]{2,40}$/).nullable(),
    messageTs: z.string().regex(/^\d{1,12}\.\d{1,8}$/).nullable(),
  })
  .strict();

export interface ApprovalDeps {
  engine: Engine;
  directory: UsergroupDirectory;
  client: webApi.WebClient;
  onError: (error: unknown, where: string) => void;
}

export interface Clicker {
  actor: Actor;
  userId: string;
  /** Where to answer privately: the card's channel. */
  channel: string | null;
}

export function parseApprovalId(value: unknown): string {
  if (typeof value !== 'string' || !APPROVAL_ID.test(value)) throw new CodedError(ErrorCode.BadInput, 'this button does not name a valid approval', {});
  return value;
}

export function parseDenyContext(privateMetadata: unknown): DenyModalContext {
  try {
    return DenyModalContextSchema.parse(JSON.parse(String(privateMetadata)));
  } catch {
    throw new CodedError(ErrorCode.BadInput, 'the deny form lost track of its approval; press Deny on the card again', {});
  }
}

export function parseDenyReason(value: unknown): string {
  const reason = typeof value === 'string' ? value.trim() : '';
  if (reason.length < DENY_REASON_MIN || reason.length > DENY_REASON_MAX) {
    throw new CodedError(ErrorCode.BadInput, `a reason of ${DENY_REASON_MIN} to ${DENY_REASON_MAX} characters is needed to deny`, {});
  }
  return reason;
}

const REFUSALS: ReadonlySet<ErrorCode> = new Set([ErrorCode.Forbidden, ErrorCode.Conflict, ErrorCode.NotFound, ErrorCode.BadInput]);

export async function decideFromSlack(
  input: { approvalId: string; decision: 'approve' | 'deny'; reason: string | null; clicker: Clicker },
  deps: ApprovalDeps,
): Promise<void> {
  const { engine } = deps;
  try {
    const current = await engine.getApproval(input.approvalId);
    if (!current) throw new CodedError(ErrorCode.NotFound, `approval ${input.approvalId} not found`, { approvalId: input.approvalId });
    const actorGroups = await deps.directory.groupsOf(input.clicker.userId, current.approvers.groups);
    const decided = await engine.decide({
      approvalId: input.approvalId,
      decision: input.decision,
      actor: input.clicker.actor,
      ...(input.reason === null ? {} : { reason: input.reason }),
      actorGroups,
    });
    await tellClicker(input.clicker, confirmation(decided, input.decision), deps);
  } catch (error) {
    const coded = asCodedError(error);
    if (!REFUSALS.has(coded.code)) deps.onError(error, `approval ${input.approvalId}`);
    await tellClicker(input.clicker, errorMessage(coded), deps);
  }
}

function confirmation(approval: ApprovalRequest, decision: 'approve' | 'deny'): SlackMessage {
  if (decision === 'deny') return textMessage(`:no_entry: you denied ${approval.approvalId}; nothing will be removed.`);
  const approvals = new Set(approval.decisions.filter((d) => d.decision === 'approve').map((d) => d.actor.id)).size;
  return approval.status === 'pending'
    ? textMessage(`:heavy_check_mark: your approval of ${approval.approvalId} is recorded: ${approvals} of ${approval.quorum}.`)
    : textMessage(`:white_check_mark: ${approval.approvalId} is ${approval.status} (${approvals} of ${approval.quorum}).`);
}

/** A private answer in the card's channel, or in a direct message when the channel is unknown. */
export async function tellClicker(clicker: Clicker, message: SlackMessage, deps: Pick<ApprovalDeps, 'client' | 'onError'>): Promise<void> {
  try {
    if (clicker.channel) {
      await deps.client.chat.postEphemeral({ channel: clicker.channel, user: clicker.userId, text: message.text, blocks: message.blocks });
    } else {
      await deps.client.chat.postMessage({ channel: clicker.userId, text: message.text, blocks: message.blocks });
    }
  } catch (error) {
    deps.onError(error, `telling ${clicker.userId}`);
  }
}
