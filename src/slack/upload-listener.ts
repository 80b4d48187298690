import type { App } from '@slack/bolt';
import type { Actor } from '../app/engine.js';
import { MAX_FILES_PER_UPLOAD, SLACK_FILE_ID, type UploadIntake, type UploadedFile } from '../app/upload-intake.js';
import { CodedError, ErrorCode, asCodedError } from '../errors.js';
import { errorMessage } from './command-handler.js';
import { assertDownloadUrl, formatBytes } from './slack-file-downloader.js';
import type { SlackNotifier } from './slack-notifier.js';
import { renderUploadReceipt } from './slack-upload-replies.js';

/**
 * Event exports shared with the bot: a file uploaded in a direct message with it, or in the thread
 * of a message it posted (a hunt, an approval card). The listener only validates — who sent it,
 * where, each file's name, declared size and download URL — and queues one analyze-upload job; the
 * job downloads and sniffs the content. Anything refused is answered in the thread and queues nothing.
 * Other messages (channel chatter, the bot's own report files) are ignored.
 */
export const UPLOAD_EXTENSIONS = ['.evtx', '.xml', '.jsonl', '.ndjson', '.json'] as const;

const SLACK_USER = /^[UW][A-Z0-9]{2,20}$/;

export interface UploadListenerDeps {
  uploads: UploadIntake;
  notifier: Pick<SlackNotifier, 'post'>;
  maxBytes: number;
  allowedOrigin: string;
  onError: (error: unknown, where: string) => void;
}

interface SlackFile {
  id?: unknown;
  name?: unknown;
  size?: unknown;
  url_private_download?: unknown;
  mode?: unknown;
}

export interface MessageWithFiles {
  subtype?: string;
  user?: string;
  bot_id?: string;
  channel: string;
  channel_type?: string;
  ts: string;
  thread_ts?: string;
  parent_user_id?: string;
  files?: SlackFile[];
}

/** Whether a message event is an upload for the bot: the thread to answer in, or null to ignore it. */
export function uploadThread(event: MessageWithFiles, botUserId: string | undefined): { channel: string; threadTs: string; user: string } | null {
  if (!Array.isArray(event.files) || event.files.length === 0) return null;
  if (event.subtype !== undefined && event.subtype !== 'file_share') return null;
  if (event.bot_id || !event.user || !SLACK_USER.test(event.user) || event.user === botUserId) return null;
  const inBotThread = event.thread_ts !== undefined && event.thread_ts !== event.ts && botUserId !== undefined && event.parent_user_id === botUserId;
  if (event.channel_type !== 'im' && !inBotThread) return null;
  return { channel: event.channel, threadTs: event.thread_ts ?? event.ts, user: event.user };
}

/** The files, checked by name, declared size and download URL; one E_BAD_INPUT naming every refusal. */
export function validateUploadFiles(files: readonly SlackFile[], limits: { maxBytes: number; allowedOrigin: string }): UploadedFile[] {
  const problems: string[] = [];
  const accepted: UploadedFile[] = [];
  if (files.length > MAX_FILES_PER_UPLOAD) problems.push(`${files.length} files at once; at most ${MAX_FILES_PER_UPLOAD} per upload`);
  for (const file of files.slice(0, MAX_FILES_PER_UPLOAD)) {
    const name = typeof file.name === 'string' && file.name.trim() !== '' ? file.name : String(file.id ?? 'a file');
    if (typeof file.id !== 'string' || !SLACK_FILE_ID.test(file.id)) {
      problems.push(`${name}: not a file Slack describes (no file id)`);
      continue;
    }
    if (file.mode === 'tombstone' || file.mode === 'external' || typeof file.url_private_download !== 'string') {
      problems.push(`${name}: Slack gave no download link for it (deleted, external, or not shared with the bot); upload the file itself`);
      continue;
    }
    if (!UPLOAD_EXTENSIONS.some((extension) => name.toLowerCase().endsWith(extension))) {
      problems.push(`${name}: cannot read this kind of file; send event exports (${UPLOAD_EXTENSIONS.join(', ')})`);
      continue;
    }
    const size = typeof file.size === 'number' && Number.isFinite(file.size) ? file.size : 0;
    if (size > limits.maxBytes) {
      problems.push(`${name}: ${formatBytes(size)} is over the upload limit of ${formatBytes(limits.maxBytes)}`);
      continue;
    }
    try {
      assertDownloadUrl(file.url_private_download, limits.allowedOrigin);
    } catch (error) {
      problems.push(`${name}: ${asCodedError(error).message}`);
      continue;
    }
    accepted.push({ id: file.id, name, size, downloadUrl: file.url_private_download });
  }
  if (problems.length > 0) {
    throw new CodedError(ErrorCode.BadInput, `nothing was queued:\n${problems.map((problem) => `• ${problem}`).join('\n')}`, { problems });
  }
  return accepted;
}

export function registerUploadListener(app: App, deps: UploadListenerDeps): void {
  app.event('message', async ({ event, context }) => {
    const message = event as unknown as MessageWithFiles;
    const thread = uploadThread(message, context.botUserId);
    if (!thread) return;
    const destination = { channel: thread.channel, threadTs: thread.threadTs };
    try {
      const files = validateUploadFiles(message.files ?? [], deps);
      const requestedBy: Actor = { kind: 'slack', id: thread.user, from: thread.channel };
      const queued = await deps.uploads.queueUpload({ files, requestedBy, slack: destination });
      await deps.notifier.post(destination, renderUploadReceipt(files, queued.jobId, queued.deduplicated));
    } catch (error) {
      const coded = asCodedError(error);
      if (coded.code === ErrorCode.Internal) deps.onError(error, 'file upload');
      await deps.notifier.post(destination, errorMessage(coded)).catch((postError: unknown) => deps.onError(postError, 'file upload reply'));
    }
  });
}
