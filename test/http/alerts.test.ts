import { readFile } from 'node:fs/promises';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { parseAlert } from '../../src/http/alert-parsers.js';
import { ErrorCode } from '../../src/errors.js';
import type { EngineHarness } from '../app/engine-harness.js';
import { redisAvailable } from '../app/redis-harness.js';
import { httpHarness, signed, SECRETS } from './http-harness.js';

const EXAMPLES = new URL('../../examples/alerts/', import.meta.url);
const example = (name: string) => readFile(new URL(`${name}.json`, EXAMPLES), 'utf8');

describe('alert payloads', () => {
  it.each([
    ['generic', 'GEN-20210609-0001', ['fs01.offsec.lan'], 'wmi-persistence-hunt'],
    ['splunk', '0b9f3c2e8d4a4f1c9e7a6b5d4c3b2a19', ['HR001.shire.com'], 'wmi-persistence-hunt'],
    ['sentinel', '5f7e2a61-3c4b-4f1e-9d2a-7b8c9d0e1f23', ['IT001.shire.com'], 'wmi-persistence-hunt'],
    ['defender', 'da638689012345678901_-1234567890', ['ws042.corp.example.com'], null],
    ['elastic', '8f1e6b0a4c2d4e9f1a3b5c7d9e0f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c1d3e5f', ['IEWIN7'], 'wmiprvse-child-triage'],
  ] as const)('reads the %s example: alert id, host and named playbook', async (source, alertId, hosts, playbook) => {
    const alert = parseAlert(source, JSON.parse(await example(source)));
    expect(alert).toMatchObject({ alertId, hosts, playbook });
  });

  it('extracts the signals triggers match on', async () => {
    const defender = parseAlert('defender', JSON.parse(await example('defender')));
    expect(defender.signals.images).toEqual(['mofcomp.exe']);
    expect(defender.signals.parentImages).toEqual(['powershell.exe']);
    expect(defender.signals.tags).toEqual(expect.arrayContaining(['attack.t1546.003', 'attack.t1546', 'attack.t1047']));
    const elastic = parseAlert('elastic', JSON.parse(await example('elastic')));
    expect(elastic.signals).toMatchObject({ eventIds: [1], channels: ['Microsoft-Windows-Sysmon/Operational'], parentImages: ['C:\\Windows\\System32\\wbem\\WmiPrvSE.exe'] });
  });

  it('refuses alerts without an id or a valid host', () => {
    expect(() => parseAlert('generic', { host: 'h1' })).toThrow(expect.objectContaining({ code: ErrorCode.BadInput }));
    expect(() => parseAlert('generic', { alertId: 'a1' })).toThrow(expect.objectContaining({ code: ErrorCode.BadInput }));
    expect(() => parseAlert('generic', { alertId: 'a1', host: 'evil;rm -rf' })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidHostName }));
    expect(() => parseAlert('splunk', [])).toThrow(expect.objectContaining({ code: ErrorCode.BadInput }));
  });
});

describe.skipIf(!redisAvailable)('POST /v1/alerts/:source', () => {
  let harness: EngineHarness;
  let app: Express;
  beforeEach(async () => {
    ({ harness, app } = await httpHarness());
  });
  afterEach(async () => harness.close());

  const post = (source: keyof typeof SECRETS, body: string, headers: Record<string, string>) => request(app).post(`/v1/alerts/${source}`).set(headers).send(body);

  it('queues the playbook the alert names on the alert host, once per alert id', async () => {
    const body = await example('splunk');
    const accepted = await post('splunk', body, signed('splunk', body));
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ status: 'queued', playbook: 'wmi-persistence-hunt', matchedBy: 'alert', hosts: ['HR001.shire.com'] });
    const hunt = await harness.engine.getHunt(accepted.body.huntId);
    expect(hunt).toMatchObject({ hosts: ['HR001.shire.com'], trigger: { source: 'splunk', alertId: '0b9f3c2e8d4a4f1c9e7a6b5d4c3b2a19' }, requestedBy: { kind: 'siem', id: 'splunk' } });

    const repeated = await post('splunk', body, signed('splunk', body));
    expect(repeated.status).toBe(409);
    expect(repeated.body.error.code).toBe(ErrorCode.Conflict);
    expect(await harness.queues.hunt.count()).toBe(1);
  });

  it('starts one hunt per host within the window: a new alert on the same host joins the running hunt', async () => {
    const first = JSON.stringify({ alertId: 'A-1', host: 'ws01', tags: ['attack.t1546.003'] });
    const second = JSON.stringify({ alertId: 'A-2', host: 'WS01', eventId: 5861, channel: 'Microsoft-Windows-WMI-Activity/Operational' });
    const one = await post('generic', first, signed('generic', first));
    const two = await post('generic', second, signed('generic', second));
    expect(one.body).toMatchObject({ status: 'queued', matchedBy: 'trigger' });
    expect(two.status).toBe(202);
    expect(two.body).toMatchObject({ status: 'deduplicated', huntId: one.body.huntId });
    expect(await harness.queues.hunt.count()).toBe(1);
  });

  it('matches triage playbooks by trigger and runs the default when nothing matches', async () => {
    const wmiprvse = JSON.stringify({ alertId: 'B-1', host: 'ws02', parentImage: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', image: 'cmd.exe' });
    const unmatched = JSON.stringify({ alertId: 'B-2', host: 'ws03', rule: 'Something else' });
    expect((await post('generic', wmiprvse, signed('generic', wmiprvse))).body).toMatchObject({ playbook: 'wmiprvse-child-triage', matchedBy: 'trigger' });
    expect((await post('generic', unmatched, signed('generic', unmatched))).body).toMatchObject({ playbook: 'wmi-persistence-hunt', matchedBy: 'default' });
  });

  it('refuses a missing, bad or stale signature and starts nothing', async () => {
    const body = await example('generic');
    const missing = await post('generic', body, { 'content-type': 'application/json' });
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe(ErrorCode.Unauthorized);

    const wrongSecret = { ...signed('splunk', body) };
    expect((await post('generic', body, wrongSecret)).status).toBe(401);

    const tampered = signed('generic', body);
    expect((await post('generic', body.replace('fs01', 'fs02'), tampered)).status).toBe(401);

    const stale = await post('generic', body, signed('generic', body, Math.floor(Date.now() / 1000) - 301));
    expect(stale.status).toBe(401);
    expect(stale.body.error.message).toMatch(/window/);
    const future = await post('generic', body, signed('generic', body, Math.floor(Date.now() / 1000) + 301));
    expect(future.status).toBe(401);

    expect(await harness.queues.hunt.count()).toBe(0);
    expect(await harness.store.alerts.firstSighting('generic', 'GEN-20210609-0001', 60)).toBe(true);
  });

  it('answers 404 for a source that is not configured and 400 for a bad payload, without consuming the alert id', async () => {
    const body = JSON.stringify({ alertId: 'C-1', host: 'bad host' });
    expect((await post('generic', body, signed('generic', body))).status).toBe(400);
    const fixed = JSON.stringify({ alertId: 'C-1', host: 'goodhost' });
    expect((await post('generic', fixed, signed('generic', fixed))).status).toBe(202);
    const unknown = await request(app).post('/v1/alerts/qradar').set(signed('generic', fixed)).send(fixed);
    expect(unknown.status).toBe(404);
    const notJson = 'not json';
    expect((await post('generic', notJson, signed('generic', notJson))).status).toBe(400);
    const unknownPlaybook = JSON.stringify({ alertId: 'C-2', host: 'goodhost2', playbook: 'nope' });
    expect((await post('generic', unknownPlaybook, signed('generic', unknownPlaybook))).status).toBe(400);
  });
});
