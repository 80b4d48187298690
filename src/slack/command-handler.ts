import type { Actor, Engine, ExpiringKey } from '../app/engine.js';
import { CodedError, ErrorCode, asCodedError } from '../errors.js';
import { type SlackMessage, section } from './block-kit.js';
import { type WmiCommand, parseCommand, usageText } from './command-grammar.js';
import { renderHuntProgress, renderTrace } from './hunt-blocks.js';
import type { SlackMessageLedger } from './message-ledger.js';
import { escapeMrkdwn, inlineCode, plain } from './mrkdwn.js';
import type { Reply } from './reply.js';
import type { SlackNotifier } from './slack-notifier.js';

/**
 * Runs one `/wmi` command for the slash command and for mentions alike. A hunt is acknowledged only
 * after it is queued (or with the honest reason it is not); every other command acknowledges
 * first and answers afterwards. The hunt message and the approval cards are posted by the engine's
 * notify jobs (SlackNotifier), not here: the edge only validates, calls the engine and answers.
 */
export interface CommandDeps {
  engine: Engine;
  /** Which approver groups a Slack user is in (a restore needs an approver). */
  directory: { groupsOf(userId: string, groups: readonly string[]): Promise<string[]> };
  notifier: SlackNotifier;
  ledger: SlackMessageLedger;
  hostGroups: Readonly<Record<string, readonly string[]>>;
  onError: (error: unknown, where: string) => void;
}

export interface CommandContext {
  actor: Actor;
  /** Where public output (hunt message, approval cards, files) goes. */
  channel: string;
  threadTs?: string;
  reply: Reply;
  /** Slack's id of this delivery (trigger or event id): a repeat of it returns the same hunt. */
  requestKey?: string;
  /**
   * The delivery's replay-guard claim when the caller has not made it yet: a hunt makes it as it
   * opens, and a replay is acknowledged with nothing, as the guard answers one.
   */
  replayClaim?: ExpiringKey;
}

export function textMessage(text: string): SlackMessage {
  return { text, blocks: [section(text)] };
}

export function errorMessage(error: CodedError, withUsage = false): SlackMessage {
  const usage = withUsage && typeof error.details.usage === 'string' ? `\n${escapeMrkdwn(error.details.usage)}` : '';
  return textMessage(`:warning: ${plain(error.message, 1_500)} (${error.code})${usage}`);
}

export async function runCommand(text: string, context: CommandContext, deps: CommandDeps): Promise<void> {
  let command: WmiCommand;
  try {
    command = parseCommand(text);
  } catch (error) {
    await context.reply.acknowledge(errorMessage(asCodedError(error, ErrorCode.BadInput), true));
    return;
  }
  await runParsedCommand(command, context, deps);
}

/** Runs a command already parsed (the HTTP hunt route parses it to choose its path). */
export async function runParsedCommand(command: WmiCommand, context: CommandContext, deps: CommandDeps): Promise<void> {
  if (command.name === 'hunt') {
    await startHunt(command, context, deps);
    return;
  }
  if (command.name === 'help') {
    await context.reply.acknowledge(textMessage(escapeMrkdwn(usageText(command.topic))));
    return;
  }
  await context.reply.acknowledge(null);
  try {
    await answer(command, context, deps);
  } catch (error) {
    const coded = asCodedError(error);
    if (coded.code === ErrorCode.Internal) deps.onError(error, `/wmi ${command.name}`);
    await context.reply.privately(errorMessage(coded));
  }
}

async function startHunt(command: Extract<WmiCommand, { name: 'hunt' }>, context: CommandContext, deps: CommandDeps): Promise<void> {
  let hosts: string[];
  if (command.target.kind === 'group') {
    const members = Object.hasOwn(deps.hostGroups, command.target.group) ? deps.hostGroups[command.target.group] : undefined;
    if (!members || members.length === 0) {
      const known = Object.keys(deps.hostGroups).map((name) => inlineCode(name, 64)).join(', ') || 'none configured';
      await context.reply.acknowledge(textMessage(`:warning: no host group ${inlineCode(command.target.group, 64)} (known: ${known}). Nothing was queued.`));
      return;
    }
    hosts = [...members];
  } else {
    hosts = command.target.hosts;
  }
  let started: { huntId: string; deduplicated: boolean };
  try {
    started = await deps.engine.startHunt({
      hosts,
      ...(command.lookbackHours === null ? {} : { lookbackHours: command.lookbackHours }),
      requestedBy: context.actor,
      slack: { channel: context.channel, ...(context.threadTs ? { threadTs: context.threadTs } : {}) },
      ...(context.requestKey ? { idempotencyKey: context.requestKey } : {}),
      // The channel's last hunt is written as the hunt opens: no round trip of its own after the acknowledgement.
      openedWith: { remember: deps.ledger.rememberedKey(lastHuntOf(context.channel)), ...(context.replayClaim ? { once: context.replayClaim } : {}) },
    });
  } catch (error) {
    const coded = asCodedError(error);
    if (context.replayClaim && coded.code === ErrorCode.Conflict && coded.details.replayed === true) {
      await context.reply.acknowledge(null);
      return;
    }
    if (coded.code === ErrorCode.Internal) deps.onError(error, '/wmi hunt');
    await context.reply.acknowledge(textMessage(`:x: hunt *not* queued: ${plain(coded.message, 1_000)} (${coded.code})`));
    return;
  }
  const what = hosts.length === 1 ? inlineCode(hosts[0]!, 80) : `${hosts.length} hosts`;
  await context.reply.acknowledge(
    textMessage(
      started.deduplicated
        ? `:repeat: the same hunt of ${what} is already queued as *${started.huntId}*; its progress is in this channel.`
        : `:mag: hunt *${started.huntId}* queued for ${what}; progress follows in this channel.`,
    ),
  );
}

function lastHuntOf(channel: string): string {
  return `last-hunt:${channel}`;
}

async function answer(command: Exclude<WmiCommand, { name: 'hunt' | 'help' }>, context: CommandContext, deps: CommandDeps): Promise<void> {
  const { engine } = deps;
  switch (command.name) {
    case 'status': {
      const huntId = command.huntId ?? (await deps.ledger.recall(lastHuntOf(context.channel)));
      if (!huntId) throw new CodedError(ErrorCode.NotFound, 'no hunt was started from this channel yet; give a hunt id', {});
      const hunt = await engine.getHunt(huntId);
      if (!hunt) throw new CodedError(ErrorCode.NotFound, `hunt ${huntId} not found`, { huntId });
      await context.reply.privately(renderHuntProgress(hunt));
      return;
    }
    case 'report': {
      const report = await requireReport(engine, command.huntId);
      await deps.notifier.uploadReport({ channel: context.channel, ...(context.threadTs ? { threadTs: context.threadTs } : {}) }, report, [command.format]);
      return;
    }
    case 'trace': {
      const report = await requireReport(engine, command.huntId);
      const findings = command.findingId === null ? report.findings.filter((finding) => !finding.benign) : report.findings.filter((finding) => finding.id === command.findingId);
      if (command.findingId !== null && findings.length === 0) {
        throw new CodedError(ErrorCode.NotFound, `finding ${command.findingId} is not in hunt ${command.huntId}`, { huntId: command.huntId });
      }
      await context.reply.privately(renderTrace(command.huntId, findings));
      return;
    }
    case 'remove': {
      const approvals = await engine.requestRemoval({
        huntId: command.huntId,
        findingIds: command.findingIds,
        requestedBy: context.actor,
        slack: { channel: context.channel, ...(context.threadTs ? { threadTs: context.threadTs } : {}) },
      });
      if (approvals.length === 0) {
        await context.reply.privately(textMessage(`Nothing to remove in ${command.huntId}: no matching High or Critical findings.`));
        return;
      }
      const ids = approvals.map((approval) => inlineCode(approval.approvalId, 80)).join(', ');
      await context.reply.privately(textMessage(`:lock: approval requested (${ids}); nothing is removed until approvers agree.`));
      return;
    }
    case 'restore': {
      const { jobId } = await engine.restore({
        backupId: command.backupId,
        requestedBy: context.actor,
        actorGroupsOf: (groups) => deps.directory.groupsOf(context.actor.id, groups),
        slack: { channel: context.channel, ...(context.threadTs ? { threadTs: context.threadTs } : {}) },
      });
      await context.reply.privately(textMessage(`:leftwards_arrow_with_hook: restore of ${inlineCode(command.backupId, 128)} queued (job ${inlineCode(jobId, 80)}); the result will be posted here.`));
      return;
    }
  }
}

async function requireReport(engine: Engine, huntId: string) {
  const report = await engine.getReport(huntId);
  if (report) return report;
  const hunt = await engine.getHunt(huntId);
  if (!hunt) throw new CodedError(ErrorCode.NotFound, `hunt ${huntId} not found`, { huntId });
  throw new CodedError(ErrorCode.Conflict, `hunt ${huntId} has no report yet (it is ${hunt.status})`, { huntId });
}
