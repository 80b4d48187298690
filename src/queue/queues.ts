import { Queue, type ConnectionOptions, type DefaultJobOptions } from 'bullmq';
import { QUEUE_NAMES, type QueueName } from './queue-names.js';

/**
 * The BullMQ queues, all under `<prefix>:q`. Transient failures retry with exponential backoff and
 * jitter (so a fleet of failures does not retry in lock-step); finished jobs are kept for a while
 * for the dashboard and then dropped — the store and the audit log keep what matters.
 */
export interface QueueSettings {
  prefix: string;
  attempts: number;
  backoffMs: number;
  backoffJitter: number;
}

export type Queues = Record<QueueName, Queue>;

export function bullPrefix(prefix: string): string {
  return `${prefix}:q`;
}

export function defaultJobOptions(settings: QueueSettings): DefaultJobOptions {
  return {
    attempts: settings.attempts,
    backoff: { type: 'exponential', delay: settings.backoffMs, jitter: settings.backoffJitter },
    removeOnComplete: { age: 7 * 86_400, count: 50_000 },
    removeOnFail: { age: 30 * 86_400 },
  };
}

export function createQueues(connection: ConnectionOptions, settings: QueueSettings): Queues {
  const options = { connection, prefix: bullPrefix(settings.prefix), defaultJobOptions: defaultJobOptions(settings) };
  return Object.fromEntries(QUEUE_NAMES.map((name) => [name, new Queue(name, options)])) as Queues;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
}
