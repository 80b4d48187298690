import { readFileSync } from 'node:fs';
import express, { type Express, type IRouter, type Request, type RequestHandler } from 'express';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { AlertSource, ApiToken } from '../config/config.js';
import { ALERT_SOURCES } from '../config/config.js';
import type { Engine } from '../app/engine.js';
import { HuntIdSchema } from '../domain/finding.js';
import { renderJson } from '../domain/report/render-json.js';
import { renderMarkdown } from '../domain/report/render-markdown.js';
import { renderText } from '../domain/report/render-text.js';
import { CodedError, ErrorCode } from '../errors.js';
import type { PlaybookRegistry } from '../playbooks/playbook-registry.js';
import type { AlertGuard } from '../store/alert-guard.js';
import type { AuditLog } from '../store/audit-log.js';
import { parseAlert, type NormalizedAlert } from './alert-parsers.js';
import { ApiAuthenticator, apiActor } from './api-auth.js';
import { errorHandler, notFoundHandler } from './http-errors.js';
import type { ServiceMetrics } from './metrics.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from './webhook-signature.js';

/**
 * The HTTP edge (express 5): SIEM alert webhooks, the hunt/approval API, health, metrics, the
 * OpenAPI document and the queue dashboard. Routes validate, call the Engine, and answer; no route
 * does host work. Other edges (the Slack receiver) are mounted through `extraRouters`, ahead of any
 * body parser, since they read the raw body themselves.
 */
export interface HttpAppOptions {
  engine: Engine;
  playbooks: PlaybookRegistry;
  alertGuard: AlertGuard;
  audit?: AuditLog;
  metrics?: ServiceMetrics;
  settings: {
    bodyLimit: string;
    trustProxy: boolean;
    apiTokens: ApiToken[];
    webhookSecrets: Partial<Record<AlertSource, string>>;
    maxSkewSeconds: number;
    alertDedupTtlSeconds: number;
    /** The playbook an alert runs when it names none and no trigger matches. */
    defaultPlaybook: string;
  };
  readiness: { redis: () => Promise<boolean>; workers: () => Promise<number> };
  /** The bull-board router (admin only), when the queues are at hand. */
  queueDashboard?: { basePath: string; router: IRouter };
  extraRouters?: Array<{ path: string; router: IRouter | RequestHandler }>;
  log?: (error: unknown, message: string) => void;
  now?: () => Date;
}

const OPENAPI_PATH = new URL('../../docs/openapi.yaml', import.meta.url);

const HuntBodySchema = z
  .object({
    hosts: z.array(z.string()).min(1).max(50_000),
    playbook: z.string().max(100).optional(),
    lookbackHours: z.number().int().min(0).max(2160).optional(),
    params: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])).optional(),
  })
  .strict();
const RemovalBodySchema = z.object({ findingIds: z.array(z.string().max(200)).max(1000).default([]) }).strict();
const DecisionBodySchema = z.object({ decision: z.enum(['approve', 'deny']), reason: z.string().max(2000).optional() }).strict();
const RestoreBodySchema = z.object({ backupId: z.string().regex(/^backup-[0-9a-f]{64}$/, 'a backup id (backup-<sha256>)') }).strict();
const ApprovalIdSchema = z.string().regex(/^AP-[A-Za-z0-9-]{1,80}$/);
const ReportFormatSchema = z.enum(['text', 'markdown', 'json']).default('json');

function parseBody<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new CodedError(ErrorCode.BadInput, `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`, { field: issue.path.join('.') });
}

function param(request: Request, name: string, schema: z.ZodType<string>, what: string): string {
  const value = request.params[name];
  if (typeof value !== 'string' || !schema.safeParse(value).success) throw new CodedError(ErrorCode.BadInput, `not a valid ${what}`, { field: name });
  return value;
}

/** The playbook the alert names, else the most specific matching trigger, else the default. */
function choosePlaybook(playbooks: PlaybookRegistry, alert: NormalizedAlert, defaultPlaybook: string) {
  if (alert.playbook) {
    if (!playbooks.names().includes(alert.playbook)) {
      throw new CodedError(ErrorCode.BadInput, `the alert names playbook ${JSON.stringify(alert.playbook.slice(0, 80))}, which does not exist`, { field: 'playbook' });
    }
    return { playbook: playbooks.get(alert.playbook), matchedBy: 'alert' as const };
  }
  const matched = playbooks.matchAlert(alert.signals);
  return matched ? { playbook: matched, matchedBy: 'trigger' as const } : { playbook: playbooks.get(defaultPlaybook), matchedBy: 'default' as const };
}

export function createHttpApp(options: HttpAppOptions): Express {
  const { engine, settings } = options;
  const log = options.log ?? (() => undefined);
  const now = options.now ?? (() => new Date());
  const auth = new ApiAuthenticator(settings.apiTokens, async (actor, permission, path) => {
    await options.audit?.append({ actor, action: 'api.refused', target: path, details: { permission, code: ErrorCode.Forbidden } });
  });
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', settings.trustProxy);
  if (options.metrics) {
    const counter = options.metrics.httpRequests;
    app.use((request, response, next) => {
      response.on('finish', () => counter.inc({ route: request.route?.path ?? 'unmatched', status: String(response.statusCode) }));
      next();
    });
  }
  for (const { path, router } of options.extraRouters ?? []) app.use(path, router);

  const json = express.json({ limit: settings.bodyLimit, strict: true });
  const openapi = readFileSync(OPENAPI_PATH, 'utf8');
  const openapiJson = parseYaml(openapi) as unknown;

  app.get('/healthz', (_request, response) => {
    response.json({ status: 'ok' });
  });
  app.get('/readyz', async (_request, response) => {
    const redis = await options.readiness.redis().catch(() => false);
    const workers = redis ? await options.readiness.workers().catch(() => 0) : 0;
    response.status(redis && workers > 0 ? 200 : 503).json({ status: redis && workers > 0 ? 'ready' : 'not-ready', redis, workers });
  });
  if (options.metrics) {
    const registry = options.metrics.registry;
    app.get('/metrics', async (_request, response) => {
      response.type(registry.contentType).send(await registry.metrics());
    });
  }
  app.get('/v1/openapi.yaml', (_request, response) => {
    response.type('application/yaml').send(openapi);
  });
  app.get('/v1/openapi.json', (_request, response) => {
    response.json(openapiJson);
  });

  app.post('/v1/alerts/:source', express.raw({ type: () => true, limit: settings.bodyLimit }), async (request, response) => {
    const source = request.params.source as AlertSource;
    const secret = (ALERT_SOURCES as readonly string[]).includes(source) ? settings.webhookSecrets[source] : undefined;
    if (!secret) throw new CodedError(ErrorCode.NotFound, `no alert source ${JSON.stringify(String(request.params.source).slice(0, 40))} is configured`);
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    verifyWebhook({
      secret,
      timestamp: request.get(TIMESTAMP_HEADER),
      signature: request.get(SIGNATURE_HEADER),
      body,
      nowSeconds: Math.floor(now().getTime() / 1000),
      maxSkewSeconds: settings.maxSkewSeconds,
    });
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      throw new CodedError(ErrorCode.BadInput, 'alert body is not valid JSON');
    }
    const alert = parseAlert(source, payload);
    const { playbook, matchedBy } = choosePlaybook(options.playbooks, alert, settings.defaultPlaybook);
    if (!(await options.alertGuard.firstSighting(source, alert.alertId, settings.alertDedupTtlSeconds))) {
      throw new CodedError(ErrorCode.Conflict, `alert ${alert.alertId} from ${source} was already received`, { alertId: alert.alertId });
    }
    const started = await engine.startHunt({
      hosts: alert.hosts,
      playbook: playbook.playbook.name,
      requestedBy: { kind: 'siem', id: source, from: request.ip ?? 'unknown' },
      trigger: { source, alertId: alert.alertId, summary: alert.summary, ...(alert.rule ? { rule: alert.rule } : {}) },
      idempotencyKey: `alert-${source}-${alert.alertId}`,
    });
    response.status(202).json({ status: started.deduplicated ? 'deduplicated' : 'queued', huntId: started.huntId, playbook: playbook.playbook.name, matchedBy, hosts: alert.hosts });
  });

  app.post('/v1/hunts', auth.require('hunt'), json, async (request, response) => {
    const body = parseBody(HuntBodySchema, request.body);
    const idempotencyKey = request.get('idempotency-key');
    if (idempotencyKey !== undefined && !/^[A-Za-z0-9_.:-]{8,128}$/.test(idempotencyKey)) {
      throw new CodedError(ErrorCode.BadInput, 'Idempotency-Key: 8-128 letters, digits, _ . : -', { field: 'Idempotency-Key' });
    }
    const actor = apiActor(request);
    const started = await engine.startHunt({
      hosts: body.hosts,
      requestedBy: actor,
      ...(body.playbook ? { playbook: body.playbook } : {}),
      ...(body.lookbackHours !== undefined ? { lookbackHours: body.lookbackHours } : {}),
      ...(body.params ? { params: body.params } : {}),
      ...(idempotencyKey ? { idempotencyKey: `api-${actor.id}-${idempotencyKey}` } : {}),
    });
    response.status(202).location(`/v1/hunts/${started.huntId}`).json({ ...started, status: started.deduplicated ? 'deduplicated' : 'queued' });
  });

  app.get('/v1/hunts/:huntId', auth.require('read'), async (request, response) => {
    const hunt = await engine.getHunt(param(request, 'huntId', HuntIdSchema, 'hunt id'));
    if (!hunt) throw new CodedError(ErrorCode.NotFound, `hunt ${request.params.huntId} not found`);
    response.json(hunt);
  });

  app.get('/v1/hunts/:huntId/report', auth.require('read'), async (request, response) => {
    const huntId = param(request, 'huntId', HuntIdSchema, 'hunt id');
    const format = ReportFormatSchema.safeParse(request.query.format);
    if (!format.success) throw new CodedError(ErrorCode.UnsupportedFormat, 'format must be text, markdown or json', { field: 'format' });
    const report = await engine.getReport(huntId);
    if (!report) {
      const hunt = await engine.getHunt(huntId);
      throw hunt
        ? new CodedError(ErrorCode.Conflict, `hunt ${huntId} is ${hunt.status}; its report is not ready`, { status: hunt.status })
        : new CodedError(ErrorCode.NotFound, `hunt ${huntId} not found`);
    }
    if (format.data === 'text') response.type('text/plain; charset=utf-8').send(renderText(report));
    else if (format.data === 'markdown') response.type('text/markdown; charset=utf-8').send(renderMarkdown(report));
    else response.type('application/json').send(renderJson(report));
  });

  app.get('/v1/hunts/:huntId/approvals', auth.require('read'), async (request, response) => {
    const huntId = param(request, 'huntId', HuntIdSchema, 'hunt id');
    if (!(await engine.getHunt(huntId))) throw new CodedError(ErrorCode.NotFound, `hunt ${huntId} not found`);
    response.json({ approvals: (await engine.listApprovals?.(huntId)) ?? [] });
  });

  app.post('/v1/hunts/:huntId/removal-requests', auth.require('request-removal'), json, async (request, response) => {
    const huntId = param(request, 'huntId', HuntIdSchema, 'hunt id');
    const body = parseBody(RemovalBodySchema, request.body);
    const approvals = await engine.requestRemoval({ huntId, findingIds: body.findingIds, requestedBy: apiActor(request) });
    response.status(201).json({ approvals });
  });

  app.get('/v1/approvals/:approvalId', auth.require('read'), async (request, response) => {
    const approval = await engine.getApproval(param(request, 'approvalId', ApprovalIdSchema, 'approval id'));
    if (!approval) throw new CodedError(ErrorCode.NotFound, `approval ${request.params.approvalId} not found`);
    response.json(approval);
  });

  app.post('/v1/approvals/:approvalId/decisions', auth.require('decide'), json, async (request, response) => {
    const approvalId = param(request, 'approvalId', ApprovalIdSchema, 'approval id');
    const body = parseBody(DecisionBodySchema, request.body);
    const approval = await engine.decide({
      approvalId,
      decision: body.decision,
      actor: apiActor(request),
      actorGroups: request.principal?.groups ?? [],
      ...(body.reason ? { reason: body.reason } : {}),
    });
    response.json(approval);
  });

  app.post('/v1/restores', auth.require('restore'), json, async (request, response) => {
    const body = parseBody(RestoreBodySchema, request.body);
    const principal = request.principal;
    const queued = await engine.restore({
      backupId: body.backupId,
      requestedBy: apiActor(request),
      admin: principal?.roles.includes('admin') ?? false,
      actorGroupsOf: async (groups) => (principal?.groups ?? []).filter((group) => groups.includes(group)),
    });
    response.status(202).location(`/v1/restores/${queued.jobId}`).json(queued);
  });

  app.get('/v1/restores/:jobId', auth.require('read'), async (request, response) => {
    const jobId = param(request, 'jobId', z.string().regex(/^restore-backup-[0-9a-f]{64}$/), 'restore job id');
    const result = (await engine.getRestoreResult?.(jobId)) ?? null;
    response.status(result ? 200 : 202).json(result ? { status: 'finished', result } : { status: 'pending' });
  });

  if (options.audit) {
    const audit = options.audit;
    app.get('/v1/audit', auth.require('admin'), async (request, response) => {
      const huntId = typeof request.query.huntId === 'string' ? request.query.huntId : undefined;
      if (huntId !== undefined && !HuntIdSchema.safeParse(huntId).success) throw new CodedError(ErrorCode.BadInput, 'not a valid hunt id', { field: 'huntId' });
      response.json({ entries: await audit.list(huntId ? { huntId } : {}) });
    });
  }

  if (options.queueDashboard) {
    app.use(options.queueDashboard.basePath, auth.require('admin'), options.queueDashboard.router);
  }

  app.use(notFoundHandler);
  app.use(errorHandler(log));
  return app;
}
