import { describe, expect, it } from 'vitest';
import type { ApprovalRequest, HuntSummary } from '../../src/app/engine.js';
import { ACTION_APPROVE, ACTION_DENY, renderApprovalCard, renderDenyModal, renderRemovalResult } from '../../src/slack/approval-blocks.js';
import { renderHuntProgress, renderHuntSummary, renderTrace } from '../../src/slack/hunt-blocks.js';
import { SLACK_LIMITS, TRIM_MARKER, codeBlock, inlineCode, trimText } from '../../src/slack/mrkdwn.js';
import type { SlackMessage } from '../../src/slack/block-kit.js';
import { approvalFor } from './engine-double.js';
import { benignFinding, finding, report } from './fixtures.js';

function hunt(overrides: Partial<HuntSummary> = {}): HuntSummary {
  return {
    huntId: 'TH-WMI-20261129-007',
    status: 'running',
    playbook: 'wmi-persistence-hunt',
    hosts: ['host01.corp.example', 'host02', 'host03'],
    progress: { done: 1, failed: 1, total: 3 },
    createdAt: '2026-11-29T12:00:00.000Z',
    finishedAt: null,
    requestedBy: { kind: 'slack', id: 'UREQUESTER' },
    findingsByRisk: { Low: 0, Medium: 0, High: 0, Critical: 1 },
    errors: [{ host: 'host02', code: 'E_HOST_UNREACHABLE', message: 'connection refused' }],
    ...overrides,
  };
}

/** Every text a block carries, to check limits and escaping in one place. */
function texts(message: SlackMessage): string[] {
  const found: string[] = [];
  const walk = (value: unknown, key = ''): void => {
    if (typeof value === 'string' && key === 'text') found.push(value);
    else if (Array.isArray(value)) value.forEach((item) => walk(item));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
  };
  walk(message.blocks);
  return found;
}

function expectWithinLimits(message: SlackMessage): void {
  expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerMessage);
  for (const block of message.blocks) {
    if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    if (block.type === 'header') expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
  }
}

describe('Slack text helpers', () => {
  it('trims with a visible marker and never leaves half an entity', () => {
    expect(trimText('short', 10)).toBe('short');
    const trimmed = trimText(`${'x'.repeat(20)}&amp;${'y'.repeat(20)}`, 30);
    expect(trimmed.endsWith(TRIM_MARKER)).toBe(true);
    expect(trimmed.length).toBeLessThanOrEqual(30);
    expect(trimmed).not.toMatch(/&[a-z]*…/);
  });

  it('shows untrusted text as code that cannot break out, mention or link', () => {
    const hostile = 'a` <!channel> <@U123> <https://evil.example|click> ```';
    for (const rendered of [inlineCode(hostile), codeBlock(hostile)]) {
      expect(rendered).not.toContain('<!channel>');
      expect(rendered).not.toContain('<@U123>');
      expect(rendered).not.toContain('<https://');
      expect(rendered.slice(1, -1).replace(/^``|``$/g, '')).not.toContain('`');
    }
  });
});

describe('hunt messages', () => {
  it('shows progress as hosts done over total, with host errors', () => {
    const message = renderHuntProgress(hunt());
    const all = texts(message).join('\n');
    expect(all).toContain('hosts done 2/3, 1 failed');
    expect(all).toContain('E_HOST_UNREACHABLE');
    expect(message.text).toContain('2/3');
    expectWithinLimits(message);
  });

  it('explains each host failure in words, naming the host and keeping the code', () => {
    const errors = [
      { host: 'dc01', code: 'E_HOST_UNREACHABLE', message: 'dc01: no route to host' },
      { host: 'dc02', code: 'E_AUTH_FAILED', message: 'dc02: key refused' },
      { host: 'dc03', code: 'E_TIMEOUT', message: 'dc03: timed out after 120s' },
      { host: 'dc04', code: 'E_BAD_OUTPUT', message: 'dc04: collect printed garbage' },
      { host: 'dc05', code: 'E_SCRIPT', message: 'dc05: pwsh exited with 1' },
      { host: 'dc06', code: 'E_ACCESS_DENIED', message: 'dc06: access denied' },
    ];
    const all = texts(renderHuntProgress(hunt({ status: 'partial', errors }))).join('\n');
    const expected: Array<[string, string, RegExp]> = [
      ['dc01', 'E_HOST_UNREACHABLE', /could not be reached/],
      ['dc02', 'E_AUTH_FAILED', /refused our credentials/],
      ['dc03', 'E_TIMEOUT', /did not answer in time/],
      ['dc04', 'E_BAD_OUTPUT', /not a valid collection/],
      ['dc05', 'E_SCRIPT', /script failed or PowerShell crashed/],
      ['dc06', 'E_ACCESS_DENIED', /denied access to WMI/],
    ];
    for (const [host, code, explanation] of expected) {
      const line = all.split('\n').find((candidate) => candidate.includes(`\`${host}\``));
      expect(line, host).toMatch(explanation);
      expect(line, host).toContain(`\`${code}\``);
    }
  });

  it('shows only the first line of a host error, as inert code, never a stack or markup', () => {
    const message = 'boom <!channel> `x` <https://evil.example|click>\n    at Object.collect (/app/src/x.ts:1:1)\n{"raw":"json"}';
    const all = texts(renderHuntSummary(hunt({ status: 'partial', errors: [{ host: 'h<@U1>', code: 'E_SCRIPT', message }] }), report('TH-WMI-20261129-007', []))).join('\n');
    expect(all).not.toContain('at Object.collect');
    expect(all).not.toContain('{"raw"');
    expect(all).not.toContain('<!channel>');
    expect(all).not.toContain('<https://');
    expect(all).not.toContain('<@U1>');
    expect(all).toContain('&lt;!channel&gt;');
  });

  it('says plainly that a host failed when its error code is not one it knows', () => {
    const all = texts(renderHuntProgress(hunt({ errors: [{ host: 'odd01', code: 'E_SOMETHING_NEW', message: '' }] }))).join('\n');
    expect(all).toContain('• `odd01` failed (`E_SOMETHING_NEW`)');
  });

  it('names the alert that started an alert-triggered hunt', () => {
    const message = renderHuntProgress(hunt({ trigger: { source: 'splunk', alertId: 'SPL-4711', summary: 'Sysmon 20 on host01 <!here>', rule: 'WMI consumer created' } }));
    const all = texts(message).join('\n');
    expect(all).toContain('SPL-4711');
    expect(all).toContain('WMI consumer created');
    expect(all).not.toContain('<!here>');
  });

  it('summarizes per finding: risk, name, query, trimmed consumer action and origin; benign ones counted only', () => {
    const longAction = `powershell -enc ${'A'.repeat(5_000)}`;
    const message = renderHuntSummary(hunt({ status: 'completed' }), report('TH-WMI-20261129-007', [finding({ consumerAction: longAction }), benignFinding()]));
    const all = texts(message).join('\n');
    expect(all).toContain('Critical');
    expect(all).toContain('UpdaterFilter');
    expect(all).toContain('__InstanceModificationEvent');
    expect(all).toContain(TRIM_MARKER);
    expect(all).toContain('wmic');
    expect(all).toContain('1 known-benign default(s) not shown');
    expect(all).not.toContain('SCM Event Log Filter');
    expectWithinLimits(message);
  });

  it('stays within 50 blocks for hundreds of findings and says how many were left out', () => {
    const many = Array.from({ length: 300 }, (_, index) => finding({ id: `f-${index}`, filterName: `Filter${index}` }));
    const message = renderHuntSummary(hunt({ status: 'completed' }), report('TH-WMI-20261129-007', many));
    expectWithinLimits(message);
    expect(texts(message).join('\n')).toMatch(/…and \d+ more finding\(s\)/);
  });

  it('renders an origin trace with parents and the creating command', () => {
    const message = renderTrace('TH-WMI-20261129-007', [finding()]);
    const all = texts(message).join('\n');
    expect(all).toContain('cmd.exe');
    expect(all).toContain('wmic /namespace');
    expectWithinLimits(message);
  });
});

describe('the approval card', () => {
  const pending = (): ApprovalRequest => approvalFor('AP-1', 'TH-WMI-20261129-007', [finding()], { kind: 'slack', id: 'UREQUESTER' }, { channel: 'CSOC0001' });

  it('shows the exact objects with their full content hashes, risk, reasons, origin, and Approve/Deny', () => {
    const card = renderApprovalCard(pending());
    const all = texts(card).join('\n');
    for (const hash of ['b', 'c', 'd']) expect(all).toContain(hash.repeat(64));
    expect(all).toContain('CommandLineEventConsumer');
    expect(all).toContain('encoded PowerShell in the command');
    expect(all).toContain('Critical');
    expect(all).toContain('origin:');
    expect(all).toContain('two-person rule');
    expect(all).toContain('<@UAPPROVER1>');
    expect(all).toContain('<!subteam^SSECOPS>');
    const actions = card.blocks.find((block) => block.type === 'actions');
    expect(actions && 'elements' in actions ? actions.elements.map((element) => ('action_id' in element ? element.action_id : null)) : []).toEqual([ACTION_APPROVE, ACTION_DENY]);
    expect(card.findingsLeftOut).toBe(0);
    expectWithinLimits(card);
  });

  it('drops the buttons and states the outcome once decided, and says expiry means deny', () => {
    const denied = renderApprovalCard({
      ...pending(),
      status: 'denied',
      decisions: [{ actor: { kind: 'slack', id: 'UAPPROVER1' }, decision: 'deny', reason: 'this is our backup agent', at: '2026-11-29T12:10:00.000Z' }],
    });
    expect(denied.blocks.some((block) => block.type === 'actions')).toBe(false);
    expect(texts(denied).join('\n')).toContain('this is our backup agent');
    expect(texts(denied).join('\n')).toContain('Denied');
    const expired = renderApprovalCard({ ...pending(), status: 'expired' });
    expect(expired.blocks.some((block) => block.type === 'actions')).toBe(false);
    expect(texts(expired).join('\n')).toMatch(/Expired.*counts as a deny/);
  });

  it('reports findings it could not fit instead of silently dropping them', () => {
    const many = Array.from({ length: 40 }, (_, index) => finding({ id: `f-${index}` }));
    const card = renderApprovalCard(approvalFor('AP-2', 'TH-WMI-20261129-007', many, { kind: 'slack', id: 'UREQUESTER' }));
    expect(card.findingsLeftOut).toBeGreaterThan(0);
    expect(texts(card).join('\n')).toContain('more finding(s) are part of this approval');
    expect(card.blocks.some((block) => block.type === 'actions')).toBe(true);
    expectWithinLimits(card);
  });

  it('asks for a reason in the deny modal and carries the approval in its metadata', () => {
    const modal = renderDenyModal({ approvalId: 'AP-1', channel: 'CSOC0001', messageTs: '1700000000.000100' });
    expect(JSON.parse(modal.private_metadata!)).toEqual({ approvalId: 'AP-1', channel: 'CSOC0001', messageTs: '1700000000.000100' });
    expect(modal.blocks.some((block) => block.type === 'input')).toBe(true);
  });

  it('renders the removal result per object with the backup id', () => {
    const approval = pending();
    const [binding, consumer, filter] = approval.findings[0]!.objects.map((object) => ({ kind: object.kind, namespace: object.namespace, className: object.className, key: object.key, contentHash: object.contentHash }));
    const message = renderRemovalResult({
      ...approval,
      status: 'completed',
      removal: {
        host: 'host01.corp.example',
        backupId: 'BK-20261129-0001',
        backup: { host: 'host01.corp.example', takenAt: '2026-11-29T12:20:00.000Z', objects: [], mof: '', autorecoverEntries: [] },
        results: [
          { target: binding!, status: 'removed', message: '', currentHash: binding!.contentHash },
          { target: consumer!, status: 'skipped-changed', message: 'content changed since approval', currentHash: 'e'.repeat(64) },
          { target: filter!, status: 'failed', message: 'access denied', currentHash: null },
        ],
        autorecoverRemoved: [],
        verified: false,
      },
    });
    const all = texts(message).join('\n');
    expect(all).toContain('BK-20261129-0001');
    expect(all).toContain('removed');
    expect(all).toContain('skipped, it changed since approval');
    expect(all).toContain('e'.repeat(64));
    expect(all).toContain('failed');
    expect(all).toContain('1/3 removed');
  });
});
