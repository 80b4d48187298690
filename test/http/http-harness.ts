import { createHttpApp } from '../../src/http/http-app.js';
import { ServiceMetrics } from '../../src/http/metrics.js';
import { createQueueDashboard } from '../../src/http/queue-dashboard.js';
import { signWebhook } from '../../src/http/webhook-signature.js';
import type { ApiToken } from '../../src/config/config.js';
import { engineHarness, type EngineHarness, type HarnessOptions } from '../app/engine-harness.js';

export const TOKENS = {
  viewer: 'viewer-token-0123456789abcdef',
  responder: 'responder-token-0123456789abcdef',
  approver: 'approver-token-0123456789abcdef',
  admin: 'admin-token-0123456789abcdef01',
} as const;

export const API_TOKENS: ApiToken[] = [
  { id: 'vera', token: TOKENS.viewer, roles: ['viewer'], groups: [] },
  { id: 'rick', token: TOKENS.responder, roles: ['responder'], groups: [] },
  { id: 'anna', token: TOKENS.approver, roles: ['approver'], groups: ['wmi-approvers'] },
  { id: 'root', token: TOKENS.admin, roles: ['admin'], groups: [] },
];

export const SECRETS = { generic: 'g'.repeat(40), splunk: 's'.repeat(40), sentinel: 'n'.repeat(40), defender: 'd'.repeat(40), elastic: 'e'.repeat(40) };

export async function httpHarness(options: HarnessOptions & { bodyLimit?: string; now?: () => Date } = {}) {
  const harness: EngineHarness = await engineHarness(options);
  const metrics = new ServiceMetrics(harness.queues, harness.store.stats);
  const app = createHttpApp({
    engine: harness.engine,
    playbooks: harness.playbooks,
    alertGuard: harness.store.alerts,
    audit: harness.store.audit,
    metrics,
    settings: {
      bodyLimit: options.bodyLimit ?? '64kb',
      trustProxy: false,
      apiTokens: API_TOKENS,
      webhookSecrets: SECRETS,
      maxSkewSeconds: 300,
      alertDedupTtlSeconds: 3600,
      defaultPlaybook: 'wmi-persistence-hunt',
    },
    readiness: { redis: async () => (await harness.store.redis.ping()) === 'PONG', workers: () => harness.queues.hunt.getWorkersCount() },
    queueDashboard: createQueueDashboard(harness.queues),
    ...(options.now ? { now: options.now } : {}),
  });
  return { harness, app };
}

export function signed(source: keyof typeof SECRETS, body: string, timestamp = Math.floor(Date.now() / 1000)) {
  return {
    'content-type': 'application/json',
    'x-wmi-hunter-timestamp': String(timestamp),
    'x-wmi-hunter-signature': signWebhook(SECRETS[source], timestamp, body),
  };
}

export const bearer = (role: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[role]}` });
