import { createHash } from 'node:crypto';
import { CodedError, ErrorCode } from '../errors.js';
import { jobIds } from '../queue/queue-names.js';
import type { Queues } from '../queue/queues.js';
import type { Store } from '../store/store.js';
import { MAX_FILES_PER_UPLOAD, SLACK_FILE_ID, type UploadIntake, type UploadRequest, type UploadedFile } from './upload-intake.js';

/** As long as finished jobs are kept: the same files within this window are not analyzed again. */
const UPLOAD_DEDUP_TTL_SECONDS = 7 * 86_400;

export function uploadJobId(files: readonly UploadedFile[]): string {
  const digest = createHash('sha256').update(files.map((file) => file.id).sort().join('\n')).digest('hex');
  return jobIds.upload(digest.slice(0, 32));
}

/**
 * Queues one analyze-upload job per set of files. The job id comes from the file ids, so a
 * re-delivered event or the same files shared again queue nothing (and are told so).
 */
export class UploadQueue implements UploadIntake {
  constructor(private readonly deps: { store: Store; queues: Queues }) {}

  async queueUpload(request: UploadRequest): Promise<{ jobId: string; deduplicated: boolean }> {
    const { files } = request;
    if (files.length === 0 || files.length > MAX_FILES_PER_UPLOAD) {
      throw new CodedError(ErrorCode.BadInput, `an upload holds 1 to ${MAX_FILES_PER_UPLOAD} files`, { files: files.length });
    }
    for (const file of files) {
      if (!SLACK_FILE_ID.test(file.id)) throw new CodedError(ErrorCode.BadInput, 'a file id is not a Slack file id', { field: 'files.id' });
    }
    const jobId = uploadJobId(files);
    const { store } = this.deps;
    // Claimed atomically: deliveries of the same files racing each other queue (and announce) one job.
    const claim = `${jobId}-queued`;
    if (await store.hunts.claimIdempotencyKey(claim, jobId, UPLOAD_DEDUP_TTL_SECONDS)) return { jobId, deduplicated: true };
    try {
      await store.audit.append({
        actor: request.requestedBy,
        action: 'upload.queued',
        target: jobId,
        details: { files: files.map((file) => ({ id: file.id, name: file.name, size: file.size })), channel: request.slack.channel, threadTs: request.slack.threadTs },
      });
      await this.deps.queues.upload.add('analyze-upload', request, { jobId });
    } catch (error) {
      await store.redis.del(store.keys.huntIdempotency(claim));
      throw error;
    }
    return { jobId, deduplicated: false };
  }
}
