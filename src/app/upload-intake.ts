import type { Actor, SlackThread } from './engine.js';

/**
 * Event exports handed over in chat (Slack file uploads) for offline analysis: what the edge passes
 * to `queueUpload` (implemented by upload-queue.ts); the analyze-upload job downloads, reads,
 * analyzes and answers in the thread. Types and limits only, so the edge imports nothing else.
 */
export interface UploadedFile {
  /** Slack file id (F...). */
  id: string;
  /** The name the responder gave the file; shown in the report, never used as a path as is. */
  name: string;
  /** Size Slack declared; the download is capped at the limit whatever this says. */
  size: number;
  /** Where the bot downloads it with its token; checked against the allowed origin before any request. */
  downloadUrl: string;
}

export interface UploadRequest {
  files: UploadedFile[];
  requestedBy: Actor;
  /** The thread the answer goes to (the upload message's own thread when it was not in one). */
  slack: SlackThread & { threadTs: string };
}

export interface UploadIntake {
  queueUpload(request: UploadRequest): Promise<{ jobId: string; deduplicated: boolean }>;
}

export const MAX_FILES_PER_UPLOAD = 20;
/** The trigger source recorded on hunts made from uploaded files. */
export const UPLOAD_TRIGGER_SOURCE = 'upload';
export const SLACK_FILE_ID = /^F[A-Z0-9]{2,30}$/;
