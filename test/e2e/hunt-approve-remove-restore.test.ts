import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalRequest, HuntSummary } from '../../src/app/engine.js';
import type { Finding, Report } from '../../src/domain/finding.js';
import { ACTION_APPROVE } from '../../src/slack/approval-blocks.js';
import type { AuditEntry } from '../../src/store/audit-log.js';
import { FakeSlack, startFakeSlack, type RecordedCall } from '../support/fake-slack.js';
import { REDIS_URL, pwshPath, requireService, tcpReachable } from '../support/services.js';
import { buildSignedRequest, interactionBody, postSigned, slashCommandBody } from '../support/slack-signing.js';
import {
  LAB_GROUP,
  api,
  cleanUp,
  labFromEnv,
  postSignedAlert,
  startPrivateLab,
  stopPrivateLab,
  runCliProcess,
  serviceEnvironment,
  startServiceProcess,
  until,
  workDirectory,
  type Lab,
  type ServiceProcess,
} from './service-process.js';

/**
 * The whole product, end to end, as users run it: `wmi-hunter serve --with-worker` as a child
 * process on real Redis, hunting the SSH lab host over real PowerShell remoting, posting to the fake
 * Slack. Nothing is called in-process: the tests sign webhooks and Slack requests, run the CLI, and
 * read the fake Slack's calls, the HTTP API and the lab's repository file.
 */
const pwsh = pwshPath();
// The shared lab host's variables say the lab can run here (test/run.sh sets them); the run starts a
// private one of its own from the same scripts.
const available =
  requireService('redis', await tcpReachable(REDIS_URL), `no Redis at ${REDIS_URL}`) &&
  requireService('pwsh', pwsh !== null, 'put pwsh on PATH') &&
  requireService('SSH lab host', labFromEnv() !== null, 'run `bash test/lab/setup.sh <dir>` as root and export its output');

const REQUESTER = 'UREQUESTER';
const APPROVER = 'UAPPROVER1';
const SOC_CHANNEL = 'CSOC0001';
const ALERT_CHANNEL = 'CALERTS01';
/** The seeded malicious subscription whose creation the lab's event log records (test/lab/seed-repository.json). */
const MALICIOUS = { namespace: 'root\\subscription', filter: 'LabFilter', consumer: 'LabConsumer' };

interface LabInstance {
  namespace: string;
  className: string;
  properties: Record<string, unknown>;
}

interface Run {
  fake: FakeSlack;
  service: ServiceProcess;
  env: Record<string, string>;
  work: string;
  lab: Lab;
  seed: string;
}

let run: Run | null = null;

function current(): Run {
  if (!run) throw new Error('the service is not running');
  return run;
}

function labInstances(): LabInstance[] {
  return (JSON.parse(readFileSync(current().lab.repo, 'utf8')) as { instances: LabInstance[] }).instances;
}

function hasObject(instances: LabInstance[], namespace: string, name: string, className?: string): boolean {
  return instances.some(
    (instance) => instance.namespace.toLowerCase() === namespace.toLowerCase() && instance.properties.Name === name && (className === undefined || instance.className === className),
  );
}

function hasMaliciousBinding(instances: LabInstance[]): boolean {
  return instances.some((instance) => instance.className === '__FilterToConsumerBinding' && String(instance.properties.Filter).includes(`"${MALICIOUS.filter}"`));
}

function blocks(call: RecordedCall): string {
  return JSON.stringify(call.body.blocks ?? '') + String(call.body.text ?? '');
}

function objectIdentity(object: Finding['objects'][number]): string {
  return `${object.kind}|${object.namespace}|${object.className}|${object.key}`.toLowerCase();
}

function maliciousFinding(report: Report): Finding | undefined {
  return report.findings.find((finding) => finding.filterName === MALICIOUS.filter && finding.consumerName === MALICIOUS.consumer);
}

async function finishedHunt(huntId: string): Promise<HuntSummary> {
  const { service } = current();
  return until(async () => {
    const { json } = await api<HuntSummary>(service.baseUrl, `/v1/hunts/${huntId}`);
    return json.finishedAt ? json : null;
  }, `hunt ${huntId} to finish`);
}

async function reportOf(huntId: string): Promise<Report> {
  const { status, json } = await api<Report>(current().service.baseUrl, `/v1/hunts/${huntId}/report`);
  expect(status).toBe(200);
  return json;
}

async function approvalOf(huntId: string): Promise<ApprovalRequest> {
  const { service } = current();
  return until(async () => {
    const { json } = await api<{ approvals: ApprovalRequest[] }>(service.baseUrl, `/v1/hunts/${huntId}/approvals`);
    return json.approvals?.[0] ?? null;
  }, `the approval request of ${huntId}`);
}

async function auditOf(query = ''): Promise<AuditEntry[]> {
  const { status, json } = await api<{ entries: AuditEntry[] }>(current().service.baseUrl, `/v1/audit${query}`);
  expect(status).toBe(200);
  return json.entries;
}

/** The approval card in the fake Slack, once posted. */
async function approvalCard(approvalId: string, channel: string): Promise<RecordedCall> {
  const { fake } = current();
  return fake.waitFor(
    () => fake.callsOf('chat.postMessage').find((call) => call.body.channel === channel && blocks(call).includes(approvalId) && blocks(call).includes(ACTION_APPROVE) && call.response?.ts),
    60_000,
    `the approval card of ${approvalId}`,
  );
}

/** An approver presses Approve on the card: a signed block_actions POST to the Slack endpoint. */
async function clickApprove(approvalId: string, card: RecordedCall, userId = APPROVER): Promise<void> {
  const channel = String(card.body.channel);
  const ts = String(card.response!.ts);
  const payload = {
    type: 'block_actions',
    team: { id: 'TFAKE01', domain: 'fake' },
    user: { id: userId, username: userId.toLowerCase(), team_id: 'TFAKE01' },
    api_app_id: 'AFAKE01',
    token: 'unused',
    trigger_id: `trigger-${randomUUID()}`,
    container: { type: 'message', message_ts: ts, channel_id: channel, is_ephemeral: false },
    channel: { id: channel, name: 'soc' },
    message: { type: 'message', ts, text: 'card' },
    response_url: current().fake.responseUrl(`approve-${randomUUID()}`),
    actions: [{ type: 'button', action_id: ACTION_APPROVE, block_id: `approval:${approvalId}`, value: approvalId, action_ts: `${Date.now() / 1000}` }],
  };
  const response = await postSigned(`${current().service.baseUrl}/slack/events`, buildSignedRequest(interactionBody(payload)));
  expect(response.status).toBe(200);
}

/** A slash command as Slack posts it (signed form body); returns the immediate answer's text. */
async function slash(text: string, userId: string, channel = SOC_CHANNEL): Promise<string> {
  const body = slashCommandBody({ text, userId, channelId: channel, responseUrl: current().fake.responseUrl(`cmd-${randomUUID()}`) });
  const response = await postSigned(`${current().service.baseUrl}/slack/events`, buildSignedRequest(body));
  expect(response.status).toBe(200);
  return String((response.json as { text?: string } | null)?.text ?? response.text);
}

async function completedApproval(approvalId: string): Promise<ApprovalRequest> {
  const { service } = current();
  return until(async () => {
    const { json } = await api<ApprovalRequest>(service.baseUrl, `/v1/approvals/${approvalId}`);
    if (json.status === 'failed') throw new Error(`the removal failed: ${JSON.stringify(json.removal)}`);
    return json.status === 'completed' ? json : null;
  }, `the removal of ${approvalId}`);
}

/** What every entry point shares once the hunt finished: the origin, approval, removal and re-scan. */
async function expectHuntApproveRemove(huntId: string, cardChannel: string): Promise<{ approval: ApprovalRequest; card: RecordedCall; untouchedDefaults: Finding[] }> {
  const report = await reportOf(huntId);
  const finding = maliciousFinding(report);
  expect(finding, 'the seeded malicious subscription is reported').toBeDefined();
  expect(finding!.riskLevel).toBe('Critical');
  expect(finding!.benign).toBe(false);
  expect(finding!.host).toBe(current().lab.host);
  expect(finding!.origin).toMatchObject({ method: 'powershell', user: 'LAB\\labadmin' });
  expect(finding!.origin!.process).toMatch(/\\powershell\.exe$/i);
  expect(finding!.origin!.commandLine).toContain('Set-WmiInstance');
  expect(finding!.origin!.parentChain[0]).toMatchObject({ image: expect.stringMatching(/explorer\.exe$/i) });
  const benignBefore = report.findings.filter((entry) => entry.benign);
  expect(benignBefore.length).toBeGreaterThan(0);

  const approval = await approvalOf(huntId);
  expect(approval.status).toBe('pending');
  expect(approval.findings.map((entry) => entry.id)).toContain(finding!.id);
  expect(approval.findings.some((entry) => entry.benign)).toBe(false);
  const card = await approvalCard(approval.approvalId, cardChannel);
  for (const object of finding!.objects) expect(blocks(card)).toContain(object.contentHash);

  expect(hasObject(labInstances(), MALICIOUS.namespace, MALICIOUS.filter, '__EventFilter')).toBe(true);
  await clickApprove(approval.approvalId, card);
  const completed = await completedApproval(approval.approvalId);
  expect(completed.decisions).toEqual([expect.objectContaining({ decision: 'approve', actor: expect.objectContaining({ kind: 'slack', id: APPROVER }) })]);
  expect(completed.removal).toMatchObject({ verified: true, backupId: expect.stringMatching(/^backup-[0-9a-f]{64}$/) });
  expect(completed.removal!.results.filter((entry) => entry.status === 'failed')).toEqual([]);

  const after = labInstances();
  expect(hasObject(after, MALICIOUS.namespace, MALICIOUS.filter, '__EventFilter')).toBe(false);
  expect(hasObject(after, MALICIOUS.namespace, MALICIOUS.consumer, 'CommandLineEventConsumer')).toBe(false);
  expect(hasMaliciousBinding(after)).toBe(false);
  // A default object that an approved finding also uses (an impostor bound to the genuine default
  // filter) is removed with it today, so only the defaults' own objects are checked here.
  const approvedObjects = new Set(approval.findings.flatMap((entry) => entry.objects).map(objectIdentity));
  const untouchedDefaults = benignBefore.filter((entry) => entry.objects.every((object) => !approvedObjects.has(objectIdentity(object))));
  expect(untouchedDefaults.length).toBeGreaterThan(0);
  for (const object of untouchedDefaults.flatMap((entry) => entry.objects)) {
    if (object.kind !== 'binding') expect(hasObject(after, object.namespace, object.key, object.className), `${object.namespace} ${object.key} (a Windows default) stays`).toBe(true);
  }
  return { approval: completed, card, untouchedDefaults };
}

describe.skipIf(!available)('end to end: wmi-hunter serve --with-worker, the SSH lab host, Redis and the fake Slack', () => {
  beforeAll(async () => {
    const work = workDirectory();
    const labHost = startPrivateLab(work);
    const fake = await startFakeSlack();
    fake.usergroupHandles.set('wmi-approvers', 'SAPPROVERS');
    fake.usergroupMembers.set('SAPPROVERS', [APPROVER]);
    const env = serviceEnvironment({ lab: labHost, pwsh: pwsh!, slackApiUrl: fake.apiUrl, alertChannel: ALERT_CHANNEL, work });
    try {
      const service = await startServiceProcess(env);
      run = { fake, service, env, work, lab: labHost, seed: readFileSync(labHost.repo, 'utf8') };
    } catch (error) {
      await fake.stop();
      stopPrivateLab(work);
      await cleanUp(env, work);
      throw error;
    }
  }, 120_000);

  afterAll(async () => {
    if (!run) return;
    const { fake, service, env, work, lab: labHost, seed } = run;
    run = null;
    await service.stop();
    await fake.stop();
    writeFileSync(labHost.repo, seed);
    stopPrivateLab(work);
    await cleanUp(env, work);
  }, 60_000);

  beforeEach(() => {
    const { fake, lab: labHost, seed } = current();
    writeFileSync(labHost.repo, seed);
    fake.reset();
  });

  it('a signed SIEM alert hunts the lab host, an approver removes the subscription from Slack, a re-scan shows it gone, the audit log holds every step in order, and restore brings it back', async () => {
    const { fake, service, lab: labHost } = current();
    const alertId = `e2e-${randomUUID()}`;
    const accepted = await postSignedAlert(service.baseUrl, 'generic', {
      alertId,
      host: labHost.host,
      summary: 'Sysmon WmiEvent: a WMI event filter was registered',
      eventId: 19,
      channel: 'Microsoft-Windows-Sysmon/Operational',
      tags: ['attack.persistence', 'attack.t1546.003'],
    });
    expect(accepted.status).toBe(202);
    expect(accepted.json).toMatchObject({ status: 'queued', playbook: 'wmi-persistence-hunt', hosts: [labHost.host] });
    const huntId = String(accepted.json.huntId);
    const forged = await postSignedAlert(service.baseUrl, 'generic', { alertId: `${alertId}-forged`, host: labHost.host }, 'not-the-secret-but-long-enough-0123456789');
    expect(forged.status).toBe(401);

    const hunt = await finishedHunt(huntId);
    expect(hunt).toMatchObject({ requestedBy: { kind: 'siem', id: 'generic' }, trigger: { source: 'generic', alertId } });
    expect(['completed', 'partial']).toContain(hunt.status);

    const huntMessage = await fake.waitFor(
      () => fake.callsOf('chat.postMessage').find((call) => call.body.channel === ALERT_CHANNEL && blocks(call).includes(`WMI hunt ${huntId}`) && call.response?.ts),
      60_000,
      'the hunt message in the alert channel',
    );
    const reportUpload = await fake.waitFor(() => fake.callsOf('files.completeUploadExternal').find((call) => call.body.thread_ts === huntMessage.response!.ts), 60_000, 'the report files in the hunt thread');
    expect(reportUpload.body.channel_id).toBe(ALERT_CHANNEL);
    const markdown = await fake.waitFor(() => fake.uploads.find((upload) => upload.content.startsWith(`# WMI persistence hunt ${huntId}`)), 30_000, 'the markdown report');
    expect(markdown.content).toContain(MALICIOUS.filter);

    const { approval, card, untouchedDefaults } = await expectHuntApproveRemove(huntId, ALERT_CHANNEL);
    const backupId = approval.removal!.backupId;
    const removalResult = await fake.waitFor(
      () => fake.callsOf('chat.postMessage').find((call) => call.body.thread_ts === card.response!.ts && blocks(call).includes(backupId)),
      60_000,
      'the removal result in the card thread',
    );
    expect(blocks(removalResult)).toContain('verified by a re-scan');

    const rescan = await api<{ huntId: string }>(service.baseUrl, '/v1/hunts', { method: 'POST', body: { hosts: [labHost.host] } });
    expect(rescan.status).toBe(202);
    await finishedHunt(rescan.json.huntId);
    const rescanReport = await reportOf(rescan.json.huntId);
    expect(maliciousFinding(rescanReport)).toBeUndefined();
    const defaultsAfter = rescanReport.findings.filter((finding) => finding.benign).map((finding) => finding.contentHash);
    for (const kept of untouchedDefaults) expect(defaultsAfter, `${kept.filterName} (a Windows default) in the re-scan`).toContain(kept.contentHash);

    const trail = (await auditOf(`?huntId=${huntId}`)).map((entry) => ({ action: entry.action, kind: (entry.details as { kind?: string }).kind, actor: entry.actor.kind }));
    const expectedOrder = [
      { action: 'hunt.started', actor: 'siem' },
      { action: 'evidence.stored', kind: 'collection' },
      { action: 'evidence.stored', kind: 'report' },
      { action: 'approval.requested' },
      { action: 'hunt.finished' },
      { action: 'approval.decided', actor: 'slack' },
      { action: 'removal.started' },
      { action: 'evidence.stored', kind: 'backup' },
      { action: 'removal.objects' },
      { action: 'removal.completed' },
    ];
    let position = -1;
    for (const step of expectedOrder) {
      const found = trail.findIndex((entry, index) => index > position && entry.action === step.action && (step.kind === undefined || entry.kind === step.kind) && (step.actor === undefined || entry.actor === step.actor));
      expect(found, `${JSON.stringify(step)} after position ${position} in ${JSON.stringify(trail)}`).toBeGreaterThan(position);
      position = found;
    }

    await slash(`restore ${backupId}`, APPROVER);
    // Commands other than `hunt` acknowledge at once and answer through the response URL.
    await fake.waitFor(() => fake.callsOf('response_url').find((call) => String(call.body.text).includes(`restore of`) && String(call.body.text).includes(backupId)), 30_000, 'the restore answer');
    await until(async () => hasObject(labInstances(), MALICIOUS.namespace, MALICIOUS.filter, '__EventFilter') && hasMaliciousBinding(labInstances()), 'the restored subscription in the lab repository');
    expect(hasObject(labInstances(), MALICIOUS.namespace, MALICIOUS.consumer, 'CommandLineEventConsumer')).toBe(true);
    const restored = await until(async () => (await auditOf()).find((entry) => entry.action === 'restore.completed' && entry.target === backupId), 'restore.completed in the audit log');
    expect(restored).toMatchObject({ actor: { kind: 'slack', id: APPROVER }, details: expect.objectContaining({ verified: true }) });
    await fake.waitFor(() => fake.callsOf('chat.postMessage').find((call) => call.body.channel === SOC_CHANNEL && blocks(call).includes(backupId)), 60_000, 'the restore result in Slack');
  }, 240_000);

  it('the same flow started by `/wmi hunt group:lab` in Slack: ack, hunt message and report in the thread, approval, removal', async () => {
    const { fake, lab: labHost } = current();
    const ack = await slash(`hunt group:${LAB_GROUP} --lookback 24h`, REQUESTER);
    const huntId = /TH-WMI-\d{8}-\d{3,}/.exec(ack)?.[0];
    expect(huntId, ack).toBeDefined();
    const hunt = await finishedHunt(huntId!);
    expect(hunt).toMatchObject({ hosts: [labHost.host], requestedBy: { kind: 'slack', id: REQUESTER, from: SOC_CHANNEL }, slack: { channel: SOC_CHANNEL } });
    const huntMessage = await fake.waitFor(
      () => fake.callsOf('chat.postMessage').find((call) => call.body.channel === SOC_CHANNEL && blocks(call).includes(`WMI hunt ${huntId}`) && call.response?.ts),
      60_000,
      'the hunt message in the requesting channel',
    );
    await fake.waitFor(() => fake.callsOf('files.completeUploadExternal').find((call) => call.body.thread_ts === huntMessage.response!.ts), 60_000, 'the report files in the hunt thread');
    await expectHuntApproveRemove(huntId!, SOC_CHANNEL);
  }, 180_000);

  it('the same flow started by `wmi-hunter hunt` on the command line: the report on stdout, approval in Slack, removal', async () => {
    const { env, lab: labHost } = current();
    const cli = await runCliProcess(['hunt', labHost.host, '--format', 'json', '--timeout', '120'], env);
    const printed = JSON.parse(cli.stdout) as Report;
    const huntId = printed.huntId;
    expect(cli.stderr).toContain(`hunt ${huntId} queued for 1 host(s)`);
    expect(maliciousFinding(printed)?.origin?.method).toBe('powershell');
    const hunt = await finishedHunt(huntId);
    expect(hunt.requestedBy).toMatchObject({ kind: 'cli' });
    // 1: a Critical finding; +4 when the hunt is partial.
    expect(cli.code, cli.stderr).toBe(hunt.status === 'partial' ? 5 : 1);
    await expectHuntApproveRemove(huntId, ALERT_CHANNEL);
  }, 180_000);

  it('`wmi-hunter hunt --local` hunts the lab host over SSH in its own process and only reads', async () => {
    const { env, lab: labHost, seed } = current();
    const { REDIS_URL: _unused, ...withoutRedis } = env;
    const cli = await runCliProcess(['hunt', '--local', labHost.host, '--format', 'json'], withoutRedis);
    expect(cli.code, cli.stderr).toBe(1);
    const report = JSON.parse(cli.stdout) as Report;
    expect(report.hosts.map((host) => host.host)).toEqual([labHost.host]);
    expect(maliciousFinding(report)?.origin).toMatchObject({ method: 'powershell', user: 'LAB\\labadmin' });
    expect(report.findings.some((finding) => finding.benign)).toBe(true);
    expect(readFileSync(labHost.repo, 'utf8')).toBe(seed);
  }, 120_000);
});
