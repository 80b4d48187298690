import type { types } from '@slack/bolt';
import type { Actor } from '../app/engine.js';
import type { Origin, RiskLevel } from '../domain/finding.js';
import { SLACK_LIMITS, escapeMrkdwn, inlineCode, plain, trimText } from './mrkdwn.js';

/** Small Block Kit builders shared by the renderers; each keeps its text within Slack's limits. */
export type Block = types.KnownBlock;

export interface SlackMessage {
  /** Fallback text: notifications, screen readers, clients without blocks. */
  text: string;
  blocks: Block[];
}

export function header(text: string): Block {
  return { type: 'header', text: { type: 'plain_text', text: trimText(text, SLACK_LIMITS.headerText), emoji: true } };
}

export function section(mrkdwn: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: trimText(mrkdwn, SLACK_LIMITS.sectionText) } };
}

export function context(...elements: string[]): Block {
  return {
    type: 'context',
    elements: elements.slice(0, SLACK_LIMITS.contextElements).map((text) => ({ type: 'mrkdwn' as const, text: trimText(text, SLACK_LIMITS.sectionText) })),
  };
}

export function divider(): Block {
  return { type: 'divider' };
}

export const RISK_ICON: Readonly<Record<RiskLevel, string>> = {
  Critical: ':red_circle:',
  High: ':large_orange_circle:',
  Medium: ':large_yellow_circle:',
  Low: ':white_circle:',
};

const SLACK_ID = /^[UW][A-Z0-9]{2,20}$/;

/** A Slack user is shown as a mention (our own id, never user text); other actors by name. */
export function actorLabel(actor: Actor): string {
  if (actor.kind === 'slack' && SLACK_ID.test(actor.id)) return `<@${actor.id}>`;
  return `${actor.kind}:${plain(actor.displayName ?? actor.id, 80)}`;
}

/** A time every reader sees in their own zone, with the ISO text as fallback. */
export function slackDate(iso: string | null): string {
  if (!iso) return 'unknown';
  const epoch = Date.parse(iso);
  if (Number.isNaN(epoch)) return plain(iso, 40);
  return `<!date^${Math.floor(epoch / 1000)}^{date_short_pretty} {time_secs}|${escapeMrkdwn(new Date(epoch).toISOString())}>`;
}

export function originLine(origin: Origin | null): string {
  if (!origin) return '_origin: not found in the events collected_';
  const parts = [`*origin:* ${plain(origin.method, 40)} (${origin.confidence} confidence)`];
  if (origin.process) parts.push(`process ${inlineCode(origin.process, 200)}`);
  if (origin.mofPath) parts.push(`MOF ${inlineCode(origin.mofPath, 200)}`);
  if (origin.user) parts.push(`user ${inlineCode(origin.user, 100)}`);
  if (origin.time) parts.push(`at ${slackDate(origin.time)}`);
  if (origin.autorecover) parts.push('*autorecover MOF*');
  if (origin.executions.length > 0) parts.push(`${origin.executions.length} execution(s) seen`);
  return parts.join(' · ');
}

/**
 * Keeps a message within the block limit: `fixedBefore` and `fixedAfter` always stay, items are
 * added while they fit, and a note says how many were left out (and where to find them).
 */
export function fitBlocks(
  fixedBefore: Block[],
  items: Block[][],
  fixedAfter: Block[],
  leftOutNote: (count: number) => string,
): { blocks: Block[]; leftOut: number } {
  const budget = SLACK_LIMITS.blocksPerMessage - fixedBefore.length - fixedAfter.length;
  const kept: Block[] = [];
  let shown = 0;
  for (const item of items) {
    const remainingItems = items.length - shown - 1;
    const reserve = remainingItems > 0 ? 1 : 0;
    if (kept.length + item.length + reserve > budget) break;
    kept.push(...item);
    shown += 1;
  }
  const leftOut = items.length - shown;
  if (leftOut > 0) kept.push(context(leftOutNote(leftOut)));
  return { blocks: [...fixedBefore, ...kept, ...fixedAfter], leftOut };
}
