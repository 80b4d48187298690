import { webApi } from '@slack/bolt';
import type { ApprovalRequest, ApprovalStatus, HuntStatus, HuntSummary, SlackThread } from '../app/engine.js';
import type { HuntNotifications } from '../app/notifications.js';
import type { Report } from '../domain/finding.js';
import { renderJson, renderMarkdown } from '../domain/report/index.js';
import type { RestoreResult } from '../domain/ports.js';
import { renderApprovalCard, renderRemovalResult } from './approval-blocks.js';
import { type SlackMessage, section } from './block-kit.js';
import { renderHuntProgress, renderHuntSummary } from './hunt-blocks.js';
import type { SlackMessageLedger } from './message-ledger.js';
import { inlineCode, plain } from './mrkdwn.js';

/**
 * What the jobs call to show their work in Slack: one message per hunt (posted once, then updated
 * with progress and finally the summary, with the report files in its thread), one card per
 * approval (updated with each decision and the outcome), and results posted in the card's thread.
 * Every method is safe to call again (job retries): messages are updated, one-time posts are not
 * repeated. Calls go through one WebClient, which waits out 429s (Retry-After) instead of dropping.
 */
export interface Destination {
  channel: string;
  threadTs?: string;
}

const HUNT_STATUS_RANK: Readonly<Record<HuntStatus, number>> = { queued: 0, running: 1, completed: 2, partial: 2, failed: 2 };
const APPROVAL_STATUS_RANK: Readonly<Record<ApprovalStatus, number>> = {
  pending: 0,
  approved: 1,
  denied: 1,
  expired: 1,
  executing: 2,
  completed: 3,
  failed: 3,
};
/** The summary outranks every progress snapshot, so a late progress update never hides it. */
const SUMMARY_RANK = 1e12;

export class SlackNotifier implements HuntNotifications {
  constructor(
    private readonly client: webApi.WebClient,
    private readonly ledger: SlackMessageLedger,
    private readonly options: { alertChannel?: string } = {},
  ) {}

  /** Where a hunt's messages go: the thread it was asked from, else alert hunts to the alert channel. */
  huntDestination(hunt: Pick<HuntSummary, 'slack' | 'trigger'>): Destination | null {
    if (hunt.slack?.channel) return { channel: hunt.slack.channel, threadTs: hunt.slack.threadTs };
    if (hunt.trigger && this.options.alertChannel) return { channel: this.options.alertChannel };
    return null;
  }

  async huntUpdated(hunt: HuntSummary): Promise<void> {
    const rank = HUNT_STATUS_RANK[hunt.status] * 1e6 + hunt.progress.done + hunt.progress.failed;
    await this.show(`hunt:${hunt.huntId}`, this.huntDestination(hunt), rank, renderHuntProgress(hunt));
  }

  async huntCompleted(hunt: HuntSummary, report: Report): Promise<void> {
    const destination = this.huntDestination(hunt);
    if (!destination) return;
    const subject = `hunt:${hunt.huntId}`;
    const posted = await this.show(subject, destination, SUMMARY_RANK, renderHuntSummary(hunt, report));
    if (posted && (await this.ledger.markOnce(subject, 'report-files'))) {
      try {
        await this.uploadReport({ channel: posted.channel, threadTs: destination.threadTs ?? posted.ts }, report, ['md', 'json']);
      } catch (error) {
        await this.ledger.clearOnce(subject, 'report-files');
        throw error;
      }
    }
  }

  async approvalUpdated(approval: ApprovalRequest): Promise<void> {
    await this.showApproval(approval);
  }

  async removalFinished(approval: ApprovalRequest): Promise<void> {
    const card = await this.showApproval(approval);
    if (!card || !approval.removal) return;
    const subject = `approval:${approval.approvalId}`;
    if (!(await this.ledger.markOnce(subject, 'removal-result'))) return;
    try {
      await this.post({ channel: card.channel, threadTs: card.threadTs }, renderRemovalResult(approval));
    } catch (error) {
      await this.ledger.clearOnce(subject, 'removal-result');
      throw error;
    }
  }

  async restoreFinished(input: { jobId: string; backupId: string; result: RestoreResult; slack?: SlackThread }): Promise<void> {
    if (!input.slack?.channel) return;
    const restored = input.result.results.filter((entry) => entry.status !== 'failed').length;
    const lines = input.result.results.map(
      (entry) => `• ${entry.status} · ${plain(entry.target.kind, 10)} ${inlineCode(entry.target.key, 300)}${entry.message ? ` · ${plain(entry.message, 300)}` : ''}`,
    );
    await this.post(
      { channel: input.slack.channel, threadTs: input.slack.threadTs },
      {
        text: `Restore of ${input.backupId} on ${input.result.host}: ${restored}/${input.result.results.length} back`,
        blocks: [
          section(
            `*Restore* of backup ${inlineCode(input.backupId, 128)} on ${inlineCode(input.result.host, 80)}: ${restored}/${input.result.results.length} in place · ` +
              `${input.result.verified ? ':white_check_mark: verified' : ':warning: not verified'}\n${lines.slice(0, 40).join('\n')}`,
          ),
        ],
      },
    );
  }

  async uploadReport(destination: Destination, report: Report, formats: Array<'md' | 'json'>): Promise<void> {
    const files = formats.map((format) =>
      format === 'md'
        ? { content: renderMarkdown(report), filename: `${report.huntId}.md`, title: `${report.huntId} report (Markdown)` }
        : { content: renderJson(report), filename: `${report.huntId}.json`, title: `${report.huntId} report (JSON)` },
    );
    await this.client.filesUploadV2({
      channel_id: destination.channel,
      ...(destination.threadTs ? { thread_ts: destination.threadTs } : {}),
      initial_comment: `Full report for ${report.huntId}`,
      file_uploads: files,
    });
  }

  async post(destination: Destination, message: SlackMessage): Promise<string> {
    const response = await this.client.chat.postMessage({
      channel: destination.channel,
      ...(destination.threadTs ? { thread_ts: destination.threadTs } : {}),
      text: message.text,
      blocks: message.blocks,
      unfurl_links: false,
      unfurl_media: false,
    });
    if (!response.ts) throw new Error(`chat.postMessage to ${destination.channel} returned no ts`);
    return response.ts;
  }

  private async showApproval(approval: ApprovalRequest): Promise<{ channel: string; ts: string; threadTs: string } | null> {
    const destination: Destination | null = approval.slack?.channel
      ? { channel: approval.slack.channel, threadTs: approval.slack.threadTs }
      : this.options.alertChannel
        ? { channel: this.options.alertChannel }
        : null;
    const subject = `approval:${approval.approvalId}`;
    const rank = APPROVAL_STATUS_RANK[approval.status] * 1e6 + approval.decisions.length;
    const card = renderApprovalCard(approval);
    const posted = await this.show(subject, destination, rank, card);
    if (!posted || !destination) return null;
    const threadTs = destination.threadTs ?? posted.ts;
    if (card.findingsLeftOut > 0 && (await this.ledger.markOnce(subject, 'objects-file'))) {
      await this.client.filesUploadV2({
        channel_id: posted.channel,
        thread_ts: threadTs,
        initial_comment: `Every object of approval ${approval.approvalId}, with the content hash that will be checked before removal`,
        file_uploads: [
          {
            content: `${JSON.stringify(approval.findings.map((finding) => ({ id: finding.id, riskLevel: finding.riskLevel, objects: finding.objects })), null, 2)}\n`,
            filename: `${approval.approvalId}-objects.json`,
          },
        ],
      });
    }
    return { ...posted, threadTs };
  }

  /**
   * Posts the subject's message the first time, updates it afterwards; a snapshot ranked below the
   * one already shown is dropped. Returns where the message is, or null when it has nowhere to go.
   */
  private async show(subject: string, destination: Destination | null, rank: number, message: SlackMessage): Promise<{ channel: string; ts: string } | null> {
    if (!destination) return null;
    return this.ledger.exclusive(subject, async () => {
      const existing = await this.ledger.get(subject);
      if (!existing) {
        const ts = await this.post(destination, message);
        await this.ledger.put(subject, { channel: destination.channel, ts, rank });
        return { channel: destination.channel, ts };
      }
      if (rank < existing.rank) return { channel: existing.channel, ts: existing.ts };
      try {
        await this.client.chat.update({ channel: existing.channel, ts: existing.ts, text: message.text, blocks: message.blocks });
      } catch (error) {
        if (!isGoneMessage(error)) throw error;
        const ts = await this.post(destination, message);
        await this.ledger.put(subject, { channel: destination.channel, ts, rank });
        return { channel: destination.channel, ts };
      }
      await this.ledger.put(subject, { ...existing, rank });
      return { channel: existing.channel, ts: existing.ts };
    });
  }
}

/** Someone deleted the message (or it can no longer be edited): post it again rather than fail forever. */
function isGoneMessage(error: unknown): boolean {
  return error instanceof webApi.WebAPIPlatformError && (error.data.error === 'message_not_found' || error.data.error === 'cant_update_message');
}
