/**
 * The queues and their jobs. A fleet hunt fans out as one `host` job per host and fans in to one
 * `finalize` job (the parent), added by whichever host finishes last; every job id is deterministic,
 * so adding the same work twice adds it once.
 */
export const QUEUE_NAMES = ['hunt', 'trace', 'remove', 'restore', 'notify', 'upload'] as const;
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
export interface FinalizeJobData {
  huntId: string;
}
export interface SweepJobData {
  playbook: string;
}
export interface TraceJobData {
  huntId: string;
  host: string;
  playbook: string;
  collectionId: string;
  /** The analyzer's findings, to which the tracer adds origins. */
  findings: import('../domain/finding.js').Finding[];
  stepFailures: Record<string, string>;
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
  finalize: (huntId: string) => `finalize-${huntId}`,
  trace: (huntId: string, host: string) => `trace-${huntId}-${host.toLowerCase()}`,
  remove: (approvalId: string) => `remove-${approvalId}`,
  restore: (backupId: string) => `restore-${backupId}`,
  notify: (subject: string, event: string) => `notify-${subject}-${event}`,
  /** From the uploaded files' ids: the same files uploaded (or the event re-delivered) queue one job. */
  upload: (digest: string) => `upload-${digest}`,
};
