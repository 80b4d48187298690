import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { ErrorCode } from '../../src/errors.js';
import { maliciousSubscription } from '../app/fake-host.js';
import { eventually, type EngineHarness } from '../app/engine-harness.js';
import { redisAvailable } from '../app/redis-harness.js';
import { bearer, httpHarness, TOKENS } from './http-harness.js';

describe.skipIf(!redisAvailable)('hunt and approval API', () => {
  let harness: EngineHarness;
  let app: Express;
  beforeEach(async () => {
    ({ harness, app } = await httpHarness({ bodyLimit: '2kb' }));
  });
  afterEach(async () => harness.close());

  it('runs a hunt end to end: start, status, report in three formats, removal request, approval, removal', async () => {
    harness.fleet.addHost('victim01', maliciousSubscription());
    await harness.startWorkers();
    const started = await request(app).post('/v1/hunts').set(bearer('responder')).send({ hosts: ['victim01'] });
    expect(started.status).toBe(202);
    expect(started.headers.location).toBe(`/v1/hunts/${started.body.huntId}`);
    const huntId: string = started.body.huntId;

    await eventually(async () => (await request(app).get(`/v1/hunts/${huntId}`).set(bearer('viewer'))).body.finishedAt, 'the hunt');
    const hunt = await request(app).get(`/v1/hunts/${huntId}`).set(bearer('viewer'));
    expect(hunt.body).toMatchObject({ huntId, status: 'completed', requestedBy: { kind: 'api', id: 'rick' } });

    const text = await request(app).get(`/v1/hunts/${huntId}/report?format=text`).set(bearer('viewer'));
    expect(text.headers['content-type']).toMatch(/^text\/plain/);
    expect(text.text).toContain(`Hunt ID: ${huntId}`);
    const markdown = await request(app).get(`/v1/hunts/${huntId}/report?format=markdown`).set(bearer('viewer'));
    expect(markdown.headers['content-type']).toMatch(/^text\/markdown/);
    const json = await request(app).get(`/v1/hunts/${huntId}/report`).set(bearer('viewer'));
    expect(json.body).toMatchObject({ reportVersion: 1, huntId });
    expect((await request(app).get(`/v1/hunts/${huntId}/report?format=pdf`).set(bearer('viewer'))).body.error.code).toBe(ErrorCode.UnsupportedFormat);

    const approvals = await request(app).get(`/v1/hunts/${huntId}/approvals`).set(bearer('viewer'));
    expect(approvals.body.approvals).toHaveLength(1);
    const asked = await request(app).post(`/v1/hunts/${huntId}/removal-requests`).set(bearer('responder')).send({});
    expect(asked.status).toBe(201);
    const approvalId: string = asked.body.approvals[0].approvalId;
    expect(approvalId).toBe(approvals.body.approvals[0].approvalId);

    const decided = await request(app).post(`/v1/approvals/${approvalId}/decisions`).set(bearer('approver')).send({ decision: 'approve', reason: 'confirmed' });
    expect(decided.status).toBe(200);
    expect(decided.body.status).toBe('approved');
    const done = await eventually(async () => {
      const current = await request(app).get(`/v1/approvals/${approvalId}`).set(bearer('viewer'));
      return current.body.status === 'completed' ? current.body : null;
    }, 'the removal');
    expect(harness.fleet.objects('victim01')).toEqual([]);

    const restore = await request(app).post('/v1/restores').set(bearer('admin')).send({ backupId: done.removal.backupId });
    expect(restore.status).toBe(202);
    const result = await eventually(async () => {
      const current = await request(app).get(`/v1/restores/${restore.body.jobId}`).set(bearer('viewer'));
      return current.status === 200 ? current.body : null;
    }, 'the restore');
    expect(result.result.verified).toBe(true);

    const audit = await request(app).get(`/v1/audit?huntId=${huntId}`).set(bearer('admin'));
    expect(audit.body.entries.map((entry: { action: string }) => entry.action)).toContain('removal.completed');
  });

  it('checks roles: each operation needs a token whose role grants it', async () => {
    const hunt = { hosts: ['h1'] };
    expect((await request(app).post('/v1/hunts').send(hunt)).status).toBe(401);
    expect((await request(app).post('/v1/hunts').set({ authorization: 'Bearer not-a-real-token-000000000' }).send(hunt)).status).toBe(401);
    expect((await request(app).post('/v1/hunts').set({ authorization: `Bearer ${TOKENS.viewer.slice(0, -1)}` }).send(hunt)).status).toBe(401);
    const forbidden = await request(app).post('/v1/hunts').set(bearer('viewer')).send(hunt);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe(ErrorCode.Forbidden);
    expect((await request(app).post('/v1/hunts').set(bearer('approver')).send(hunt)).status).toBe(403);
    expect((await request(app).post('/v1/hunts').set(bearer('responder')).send(hunt)).status).toBe(202);
    expect((await request(app).post('/v1/hunts').set(bearer('admin')).send({ hosts: ['h2'] })).status).toBe(202);
    const approvalPath = '/v1/approvals/AP-20261129-001-0000000000/decisions';
    expect((await request(app).post(approvalPath).set(bearer('responder')).send({ decision: 'approve' })).status).toBe(403);
    expect((await request(app).post(approvalPath).set(bearer('approver')).send({ decision: 'approve' })).status).toBe(404);
    expect((await request(app).post('/v1/restores').set(bearer('responder')).send({ backupId: `backup-${'0'.repeat(64)}` })).status).toBe(403);
    expect((await request(app).post('/v1/restores').set(bearer('approver')).send({ backupId: `backup-${'0'.repeat(64)}` })).status).toBe(404);
    expect((await request(app).post('/v1/restores').set(bearer('admin')).send({ backupId: `backup-${'0'.repeat(64)}` })).status).toBe(404);
    expect((await request(app).get('/v1/audit').set(bearer('responder'))).status).toBe(403);
    expect((await request(app).get('/admin/queues').set(bearer('viewer'))).status).toBe(403);
    expect((await request(app).get('/admin/queues')).status).toBe(401);
    const dashboard = await request(app).get('/admin/queues').auth('root', TOKENS.admin);
    expect(dashboard.status).toBe(200);
    expect(dashboard.text).toMatch(/<html/i);
  });

  it('honours Idempotency-Key per token', async () => {
    const headers = { ...bearer('responder'), 'idempotency-key': 'ticket-4711-hunt' };
    const first = await request(app).post('/v1/hunts').set(headers).send({ hosts: ['h1'] });
    const again = await request(app).post('/v1/hunts').set(headers).send({ hosts: ['h1'] });
    expect(again.body).toEqual({ huntId: first.body.huntId, deduplicated: true, status: 'deduplicated' });
    const other = await request(app).post('/v1/hunts').set({ ...bearer('admin'), 'idempotency-key': 'ticket-4711-hunt' }).send({ hosts: ['h1'] });
    expect(other.body.huntId).not.toBe(first.body.huntId);
  });

  it('answers errors as JSON with a code, never a stack, for bad bodies, sizes, ids and routes', async () => {
    const unknownField = await request(app).post('/v1/hunts').set(bearer('responder')).send({ hosts: ['h1'], extra: 1 });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.code).toBe(ErrorCode.BadInput);
    const badHost = await request(app).post('/v1/hunts').set(bearer('responder')).send({ hosts: ['h1', 'a b'] });
    expect(badHost.body.error.code).toBe(ErrorCode.InvalidHostName);
    const tooBig = await request(app).post('/v1/hunts').set(bearer('responder')).send({ hosts: Array.from({ length: 400 }, (_, index) => `host-${index}`) });
    expect(tooBig.status).toBe(413);
    const malformed = await request(app).post('/v1/hunts').set(bearer('responder')).set('content-type', 'application/json').send('{"hosts": [');
    expect(malformed.status).toBe(400);
    expect(malformed.text).not.toMatch(/at \w+ \(|node_modules|SyntaxError/);
    expect((await request(app).get('/v1/hunts/not-a-hunt').set(bearer('viewer'))).status).toBe(400);
    expect((await request(app).get('/v1/hunts/TH-WMI-20261129-999').set(bearer('viewer'))).status).toBe(404);
    const missing = await request(app).get('/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe(ErrorCode.NotFound);
    expect(await harness.queues.hunt.count()).toBe(0);
  });

  it('reports a report that is not ready as a conflict', async () => {
    const started = await request(app).post('/v1/hunts').set(bearer('responder')).send({ hosts: ['h1'] });
    const report = await request(app).get(`/v1/hunts/${started.body.huntId}/report`).set(bearer('viewer'));
    expect(report.status).toBe(409);
  });

  it('serves health, readiness by workers present, metrics and the OpenAPI document', async () => {
    expect((await request(app).get('/healthz')).body).toEqual({ status: 'ok' });
    const notReady = await request(app).get('/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ redis: true, workers: 0 });
    await harness.startWorkers();
    expect((await request(app).get('/readyz')).status).toBe(200);
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toMatch(/wmi_hunter_jobs\{queue="hunt",state="waiting"\} \d+/);
    expect(metrics.text).toMatch(/wmi_hunter_findings\{risk="Critical"\}/);
    expect(metrics.text).toMatch(/wmi_hunter_approvals\{outcome="approved"\}/);
    expect(metrics.text).toMatch(/wmi_hunter_workers\{queue="hunt"\} [1-9]/);
    const openapi = await request(app).get('/v1/openapi.json');
    expect(openapi.body.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.body.paths)).toEqual(expect.arrayContaining(['/v1/alerts/{source}', '/v1/hunts', '/v1/hunts/{huntId}/report', '/v1/approvals/{approvalId}/decisions']));
  });
});
