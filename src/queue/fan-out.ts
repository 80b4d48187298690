/**
 * How a fleet hunt is cut into jobs. A job carries a batch of hosts and works on up to
 * `hostsAtOncePerJob` of them at a time; the hunt queue runs at most `jobsAtOnce` jobs across all
 * workers, so at most jobsAtOnce x hostsAtOncePerJob <= QUEUE_GLOBAL_CONCURRENCY hosts are worked on
 * at once, and each worker process also holds to WORKER_CONCURRENCY hosts at once (its host slots).
 * Batches cost one job's queue round trips per batch instead of per host, which is what lets a
 * 10,000-host hunt run at the pace of its hosts rather than of the queue.
 */
export interface FanOutPlan {
  /** Hosts one job works on at a time. */
  hostsAtOncePerJob: number;
  /** Hunt-queue jobs running at once across every worker (BullMQ's global concurrency). */
  jobsAtOnce: number;
}

/** Enough hosts per job that queue costs vanish per host, few enough that one slow host holds back little. */
const MOST_HOSTS_AT_ONCE_PER_JOB = 25;
/** A job's batch stays small enough that a worker killed mid-batch leaves little to take over. */
export const MOST_HOSTS_PER_JOB = 128;

export function fanOutPlan(limits: { workerConcurrency: number; globalConcurrency: number }): FanOutPlan {
  const cap = Math.max(1, Math.min(MOST_HOSTS_AT_ONCE_PER_JOB, limits.workerConcurrency, limits.globalConcurrency));
  const jobsAtOnce = Math.ceil(limits.globalConcurrency / cap);
  // The global limit shared evenly between the jobs, so jobs x hosts per job never exceeds it.
  return { hostsAtOncePerJob: Math.max(1, Math.floor(limits.globalConcurrency / jobsAtOnce)), jobsAtOnce };
}

/**
 * The hosts of a hunt in batches: a multiple of `jobsAtOnce` batches of near-equal size (at most
 * MOST_HOSTS_PER_JOB), so every wave of jobs fills every job slot and the last wave is as full as
 * the first. A hunt of no more hosts than job slots gets one host per job.
 */
export function hostBatches(hosts: string[], jobsAtOnce: number): string[][] {
  const slots = Math.max(1, jobsAtOnce);
  const waves = Math.ceil(hosts.length / (slots * MOST_HOSTS_PER_JOB));
  const count = Math.min(hosts.length, slots * waves);
  const batches: string[][] = [];
  for (let index = 0, start = 0; index < count; index += 1) {
    const end = start + Math.floor(hosts.length / count) + (index < hosts.length % count ? 1 : 0);
    batches.push(hosts.slice(start, end));
    start = end;
  }
  return batches;
}
