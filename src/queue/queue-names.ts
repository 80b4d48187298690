/**
 * The queues and their jobs. A fleet hunt fans out as `hosts` jobs, each a batch of hosts
 * (fan-out.ts), and a `host` job for a single host (a small hunt's, or a host of a batch whose
 * attempt failed and waits for its retry); it fans in to one `finalize` job, added by whichever
 * host finishes last. Every job id is deterministic, so adding the same work twice adds it once.
 */
export const QUEUE_NAMES = ['hunt', 'remove', 'restore', 'notify', 'upload'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** Everything a host job needs travels with it, so a fleet's jobs never read the fleet-sized hunt record. */
export interface HostJobData {
  huntId: string;
  host: string;
  playbook: string;
  params: Record<string, number | boolean | string>;
  lookbackHours: number;
  maxEvents: number;
}
/** A batch of hosts of one hunt: each host is worked on, recorded and failed on its own. */
export interface HostBatchJobData extends Omit<HostJobData, 'host'> {
  hosts: string[];
}
export interface FinalizeJobData {
  huntId: string;
}
export interface SweepJobData {
  playbook: string;
}
export interface RemoveJobData {
  approvalId: string;
}
export interface RestoreJobData {
  backupId: string;
  requestedBy: import('../app/engine.js').Actor;
  slack?: import('../app/engine.js').SlackThread;
}
/** Event exports a responder uploaded to Slack, to download and analyze offline (src/app/analyze-upload-job.ts). */
export type UploadJobData = import('../app/upload-intake.js').UploadRequest;
export type NotifyJobData =
  | { kind: 'hunt-updated'; huntId: string }
  | { kind: 'hunt-completed'; huntId: string }
  | { kind: 'approval-updated'; approvalId: string }
  | { kind: 'removal-finished'; approvalId: string }
  | { kind: 'restore-finished'; jobId: string };

/** Job ids may not contain ':' (BullMQ) — hunt ids, hosts and evidence ids never do. */
export const jobIds = {
  host: (huntId: string, host: string) => `host-${huntId}-${host.toLowerCase()}`,
  /** A hunt's batches are numbered in the order the engine cut them. */
  hostBatch: (huntId: string, index: number) => `hosts-${huntId}-${index}`,
  finalize: (huntId: string) => `finalize-${huntId}`,
  remove: (approvalId: string) => `remove-${approvalId}`,
  restore: (backupId: string) => `restore-${backupId}`,
  notify: (subject: string, event: string) => `notify-${subject}-${event}`,
  /** From the uploaded files' ids: the same files uploaded (or the event re-delivered) queue one job. */
  upload: (digest: string) => `upload-${digest}`,
};
