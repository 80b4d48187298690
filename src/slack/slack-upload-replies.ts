import type { UploadNotice, UploadReplies } from '../app/analyze-upload-job.js';
import type { SlackThread } from '../app/engine.js';
import { context, fitBlocks, section, type SlackMessage } from './block-kit.js';
import { plain } from './mrkdwn.js';
import type { SlackNotifier } from './slack-notifier.js';

/**
 * What the analyze-upload job says in the upload's thread besides the report (which the notifier
 * posts like any hunt's): files it could not read, unreadable records, a job that failed. Names and
 * messages come from the upload and are escaped.
 */
const NOTICE_ICON: Readonly<Record<UploadNotice['kind'], string>> = { refused: ':no_entry:', partial: ':warning:', failed: ':x:' };

export function renderUploadNotice(notice: UploadNotice): SlackMessage {
  const items = notice.items.map((item) => [section(`• ${plain(item, 600)}`)]);
  return {
    text: notice.summary,
    blocks: fitBlocks([section(`${NOTICE_ICON[notice.kind]} ${plain(notice.summary, 1_000)}`)], items, [], (count) => `…and ${count} more`).blocks,
  };
}

export function renderUploadReceipt(files: ReadonlyArray<{ name: string; size: number }>, jobId: string, deduplicated: boolean): SlackMessage {
  const names = files.map((file) => plain(file.name, 120)).join(', ');
  const text = deduplicated
    ? `These files were already handed over for analysis; the report goes to the thread they were first shared in.`
    : `:inbox_tray: Analyzing ${files.length} uploaded file(s): ${names}. The report will follow in this thread.`;
  return { text, blocks: [section(text), context(`job \`${jobId}\``)] };
}

export class SlackUploadReplies implements UploadReplies {
  constructor(private readonly notifier: Pick<SlackNotifier, 'post'>) {}

  async uploadNotice(thread: SlackThread, notice: UploadNotice): Promise<void> {
    await this.notifier.post({ channel: thread.channel, ...(thread.threadTs ? { threadTs: thread.threadTs } : {}) }, renderUploadNotice(notice));
  }
}
