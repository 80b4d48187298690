import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RISK_LEVELS } from '../domain/finding.js';
import { QUEUE_NAMES } from '../queue/queue-names.js';
import type { Queues } from '../queue/queues.js';
import type { Stats } from '../store/stats.js';

/**
 * Prometheus metrics: jobs by queue and state, and workers per queue (read from Redis at scrape
 * time, so any process shows the whole picture); job durations (observed by the workers of this
 * process); findings by risk and approvals by outcome (service-wide counters kept in Redis).
 */
const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;
const APPROVAL_OUTCOMES = ['approved', 'denied', 'expired'] as const;

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly jobDuration: Histogram<'queue' | 'outcome'>;
  readonly httpRequests: Counter<'route' | 'status'>;

  constructor(queues: Queues | null, stats: Stats | null) {
    this.jobDuration = new Histogram({
      name: 'wmi_hunter_job_duration_seconds',
      help: 'Time from a job starting to finishing, by queue and outcome',
      labelNames: ['queue', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers: [this.registry],
    });
    this.httpRequests = new Counter({ name: 'wmi_hunter_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers: [this.registry] });
    if (queues) {
      new Gauge({
        name: 'wmi_hunter_jobs',
        help: 'Jobs by queue and state',
        labelNames: ['queue', 'state'],
        registers: [this.registry],
        async collect() {
          for (const name of QUEUE_NAMES) {
            const counts = await queues[name].getJobCounts(...JOB_STATES);
            for (const state of JOB_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
          }
        },
      });
      new Gauge({
        name: 'wmi_hunter_workers',
        help: 'Workers connected per queue',
        labelNames: ['queue'],
        registers: [this.registry],
        async collect() {
          for (const name of QUEUE_NAMES) this.set({ queue: name }, await queues[name].getWorkersCount());
        },
      });
    }
    if (stats) {
      new Gauge({
        name: 'wmi_hunter_findings',
        help: 'Non-benign findings reported by finished hunts, by risk level',
        labelNames: ['risk'],
        registers: [this.registry],
        async collect() {
          const all = await stats.all();
          for (const risk of RISK_LEVELS) this.set({ risk }, all[`findings:${risk}`] ?? 0);
        },
      });
      new Gauge({
        name: 'wmi_hunter_approvals',
        help: 'Approval requests by outcome',
        labelNames: ['outcome'],
        registers: [this.registry],
        async collect() {
          const all = await stats.all();
          for (const outcome of APPROVAL_OUTCOMES) this.set({ outcome }, all[`approvals:${outcome}`] ?? 0);
        },
      });
    }
  }
}
