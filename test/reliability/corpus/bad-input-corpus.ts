import { ErrorCode } from '../../../src/errors.js';

/**
 * The bad-input corpus, generated from the tables below. Each case names its entry point, its input
 * and what must come of it: a clear error (one of the listed codes, or for HTTP a status), or
 * `inert` (accepted as data and returned unchanged, never executed). `{{MARKER}}` in a payload is
 * replaced by a path in a fresh directory: a payload that ran would create that file, and the test
 * asserts the directory stays empty.
 *
 * Entry points: host-name (assertValidHostName), slack-command (parseCommand), alert (parseAlert,
 * generic source), collection (parseCollection), playbook (lintPlaybookText), event-json
 * (eventRecordFromJson), event-xml (partsFromEventXml + eventRecordFromParts), http (the Express app:
 * webhooks and API), slack-http (the Bolt HTTP receiver: request signatures), powershell (remove.ps1
 * backup phase and collect.ps1 in real pwsh, local transport).
 */
export type EntryPoint = 'host-name' | 'slack-command' | 'alert' | 'collection' | 'playbook' | 'event-json' | 'event-xml' | 'http' | 'slack-http' | 'powershell';

/**
 * `orValidatedTokens`: the Slack grammar may also accept the text when Slack's own spacing rules
 * split it into tokens that each pass their strict pattern (e.g. a zero-width space becomes a
 * space): still nothing but validated identifiers goes further.
 */
export type Expected = { error: string[]; orValidatedTokens?: true } | { inert: true } | { status: number } | { actedOnce: true };

export interface CorpusCase {
  id: string;
  entry: EntryPoint;
  /** What the case feeds the entry point (its meaning depends on the entry point, see the runner). */
  input: { template?: string; payload?: string; field?: string; text?: string; document?: unknown; request?: HttpCase; slack?: SlackRequestCase };
  expected: Expected;
}

export interface HttpCase {
  path: string;
  body: string;
  contentType?: string;
  /** How the webhook signature is made: right, wrong secret, stale timestamp, missing, replayed. */
  signature?: 'valid' | 'forged' | 'stale' | 'missing' | 'replayed';
  token?: 'none' | 'forged';
}

/** What Slack would post: a slash command, an Approve click, an app mention, a deny-reason submission. */
export type SlackRequestKind = 'command' | 'approve-click' | 'mention' | 'deny-submission';

/** How a request to the Bolt receiver is signed, or not: everything but `replayed` must be refused. */
export type SlackSignatureAttack =
  | 'forged-signature'
  | 'wrong-secret'
  | 'stale-6-minutes'
  | 'stale-1-day'
  | 'future-10-minutes'
  | 'future-1-day'
  | 'missing-signature'
  | 'missing-timestamp'
  | 'missing-both'
  | 'tampered-body'
  | 'signed-for-other-timestamp'
  | 'wrong-version-prefix'
  | 'truncated-signature'
  | 'timestamp-not-a-number'
  | 'replayed';

export interface SlackRequestCase {
  kind: SlackRequestKind;
  attack: SlackSignatureAttack;
}

/** Shell and PowerShell injection, quoting, control characters, look-alikes, sizes. */
export const HOSTILE_PAYLOADS: string[] = [
  '$(touch {{MARKER}})',
  '`touch {{MARKER}}`',
  'host01; touch {{MARKER}}',
  'host01 | touch {{MARKER}}',
  'host01 && touch {{MARKER}}',
  'host01 || touch {{MARKER}}',
  'host01\ntouch {{MARKER}}',
  'host01\r\ntouch {{MARKER}}',
  "'; New-Item -ItemType File -Path '{{MARKER}}'; '",
  '"; New-Item -ItemType File -Path "{{MARKER}}"; "',
  '$(New-Item -ItemType File -Path "{{MARKER}}")',
  '@(New-Item -ItemType File -Path "{{MARKER}}")',
  '${New-Item -ItemType File -Path "{{MARKER}}"}',
  "`$(Set-Content -Path '{{MARKER}}' -Value 1)",
  '& { New-Item -ItemType File -Path "{{MARKER}}" }',
  "'+(New-Item -ItemType File -Path '{{MARKER}}')+'",
  'host01\u0000; touch {{MARKER}}',
  'host01\u0000',
  '-ComputerName evil -ScriptBlock { New-Item {{MARKER}} }',
  '\u0441md.exe /c touch {{MARKER}}',
  'h\u043Est01',
  'host\u200b01',
  'ho\u202Est01',
  'host01\u2028touch {{MARKER}}',
  '\u2018; New-Item {{MARKER}}; \u2019',
  '\uFF04(touch {{MARKER}})',
  '../../etc/passwd',
  '\\\\evil\\share\\x',
  '%COMPUTERNAME%',
  '<script>alert(1)</script>',
  `a${'a'.repeat(300)}.example.com`,
  `${'x;'.repeat(5_000)}touch {{MARKER}}`,
];

const SLACK_TEMPLATES = [
  'hunt {p}',
  'hunt host01 {p}',
  'hunt host01 --lookback {p}',
  'hunt host01 --playbook {p}',
  'trace {p}',
  'report {p}',
  'status {p}',
  'remove TH-WMI-20261129-001 {p}',
  'restore {p}',
];

const SCHEMA_BREAKERS: Array<[string, (valid: Record<string, unknown>) => unknown]> = [
  ['not an object', () => 'collection'],
  ['null', () => null],
  ['an array', (valid) => [valid]],
  ['schema version 2', (valid) => ({ ...valid, schemaVersion: 2 })],
  ['schema version as text', (valid) => ({ ...valid, schemaVersion: '1' })],
  ['no host', (valid) => ({ ...valid, host: undefined })],
  ['filters not an array', (valid) => ({ ...valid, filters: {} })],
  ['a filter without Name', (valid) => ({ ...valid, filters: [{ namespace: 'root\\subscription', className: '__EventFilter', properties: { Query: 'x' }, contentHash: '0'.repeat(64) }] })],
  ['a consumer with a function-like value', (valid) => ({ ...valid, consumers: [{ namespace: 'root\\subscription', className: 'X', properties: { Name: { toString: 1 } } }] })],
  ['an unknown top-level field', (valid) => ({ ...valid, injected: '$(touch x)' })],
  ['collectedAt not a time', (valid) => ({ ...valid, collectedAt: 'yesterday; rm -rf /' })],
  ['namespaces with a number', (valid) => ({ ...valid, namespaces: [1] })],
  ['events not an array', (valid) => ({ ...valid, events: 'x' })],
  ['errors of the wrong shape', (valid) => ({ ...valid, errors: [{ oops: true }] })],
  ['prototype pollution key', (valid) => JSON.parse(`{"__proto__":{"polluted":true},"schemaVersion":1,"host":${JSON.stringify(valid.host)}}`)],
];

const BROKEN_PLAYBOOKS: string[] = [
  '',
  ':',
  '- a\n- b',
  'name: x',
  'name: "unterminated',
  '*alias',
  'a: &a [*a]',
  'name: wmi-persistence-hunt\nsteps: 3',
  'name: wmi-persistence-hunt\nsteps:\n  - id: r\n    action: rm -rf /',
  'name: wmi-persistence-hunt\nsteps:\n  - id: r\n    action: remove\n    with: { force: true }',
  'name: "$(touch {{MARKER}})"\nsteps: []',
  'name: x\nname: y',
  '!!js/function "function(){}"',
  'name: wmi-persistence-hunt\nparameters: { p: { type: shell, default: "`touch {{MARKER}}`" } }',
  `name: ${'a'.repeat(100_000)}`,
  'name: wmi-persistence-hunt\nsteps:\n  - id: remove\n    action: remove\n  - id: remove\n    action: remove',
];

const BAD_EVENT_RECORDS: unknown[] = [
  null,
  'event',
  42,
  [],
  {},
  { EventID: 'nineteen' },
  { Event: { System: 'x' } },
  { Event: { System: { EventID: { '#text': [] } } } },
  { _source: { _source: { _source: null } } },
  { EventID: 19, UtcTime: 'not a time', Computer: '$(touch {{MARKER}})' },
  { EventID: 19, UtcTime: 8.7e15 },
];

const BAD_EVENT_XML: string[] = [
  '',
  '<Event>',
  '<Event></Evnt>',
  '<Event><System><EventID>19</EventID></System>',
  '<!DOCTYPE Event [<!ENTITY x SYSTEM "file:///etc/passwd">]><Event>&x;</Event>',
  '<Event><System><EventID>&#0;</EventID></System></Event>',
  '<Event a="1" a="2"/>',
  '<?xml version="1.0"?><Event/><Event/>',
  `<Event>${'<a>'.repeat(5_000)}</Event>`,
  '<Event><System><EventID>19</EventID><TimeCreated SystemTime="$(touch {{MARKER}})"/></System></Event>',
];

const HTTP_CASES: Array<[string, HttpCase, number]> = [
  ['forged webhook signature', { path: '/v1/alerts/generic', body: '{"alertId":"a1","host":"host01"}', signature: 'forged' }, 401],
  ['stale webhook timestamp', { path: '/v1/alerts/generic', body: '{"alertId":"a2","host":"host01"}', signature: 'stale' }, 401],
  ['missing webhook signature', { path: '/v1/alerts/generic', body: '{"alertId":"a3","host":"host01"}', signature: 'missing' }, 401],
  ['replayed webhook (same alert id)', { path: '/v1/alerts/generic', body: '{"alertId":"a4","host":"host01"}', signature: 'replayed' }, 409],
  ['oversized webhook body', { path: '/v1/alerts/generic', body: JSON.stringify({ alertId: 'a5', host: 'host01', pad: 'x'.repeat(200_000) }), signature: 'valid' }, 413],
  ['malformed JSON webhook', { path: '/v1/alerts/generic', body: '{"alertId":', signature: 'valid' }, 400],
  ['webhook host injection', { path: '/v1/alerts/generic', body: '{"alertId":"a6","host":"host01; touch {{MARKER}}"}', signature: 'valid' }, 400],
  ['webhook of an unknown source', { path: '/v1/alerts/nosuch', body: '{}', signature: 'valid' }, 404],
  ['API with a forged token', { path: '/v1/hunts', body: '{"hosts":["host01"]}', token: 'forged' }, 401],
  ['API without a token', { path: '/v1/hunts', body: '{"hosts":["host01"]}', token: 'none' }, 401],
];

const SLACK_REQUEST_KINDS: SlackRequestKind[] = ['command', 'approve-click', 'mention', 'deny-submission'];
const SLACK_SIGNATURE_ATTACKS: SlackSignatureAttack[] = [
  'forged-signature',
  'wrong-secret',
  'stale-6-minutes',
  'stale-1-day',
  'future-10-minutes',
  'future-1-day',
  'missing-signature',
  'missing-timestamp',
  'missing-both',
  'tampered-body',
  'signed-for-other-timestamp',
  'wrong-version-prefix',
  'truncated-signature',
  'timestamp-not-a-number',
  'replayed',
];

const HOST_ERRORS = [ErrorCode.InvalidHostName, ErrorCode.BadInput];

export function buildCorpus(): CorpusCase[] {
  const cases: CorpusCase[] = [];
  const add = (entry: EntryPoint, name: string, input: CorpusCase['input'], expected: Expected) => cases.push({ id: `${entry}/${cases.length}/${name}`, entry, input, expected });
  HOSTILE_PAYLOADS.forEach((payload, index) => {
    add('host-name', `payload ${index}`, { payload }, { error: [ErrorCode.InvalidHostName] });
    for (const template of SLACK_TEMPLATES) add('slack-command', `${template} ${index}`, { template, payload }, { error: HOST_ERRORS, orValidatedTokens: true });
    add('alert', `host ${index}`, { field: 'host', payload }, { error: HOST_ERRORS });
    add('alert', `rule ${index}`, { field: 'rule', payload }, { inert: true });
    add('collection', `consumer name ${index}`, { field: 'Name', payload }, { inert: true });
    add('collection', `command line ${index}`, { field: 'CommandLineTemplate', payload }, { inert: true });
    add('powershell', `removal target key ${index}`, { field: 'key', payload }, { inert: true });
    add('powershell', `collected instance name ${index}`, { field: 'Name', payload }, { inert: true });
  });
  for (const [name, breaker] of SCHEMA_BREAKERS) add('collection', name, { document: breaker }, { error: [ErrorCode.SchemaViolation, ErrorCode.BadInput] });
  BROKEN_PLAYBOOKS.forEach((text, index) => add('playbook', `broken ${index}`, { text }, { error: ['lint'] }));
  BAD_EVENT_RECORDS.forEach((document, index) => add('event-json', `record ${index}`, { document }, { error: ['record-shape'] }));
  BAD_EVENT_XML.forEach((text, index) => add('event-xml', `xml ${index}`, { text }, { error: ['xml'] }));
  for (const [name, request, status] of HTTP_CASES) add('http', name, { request }, { status });
  for (const kind of SLACK_REQUEST_KINDS) {
    for (const attack of SLACK_SIGNATURE_ATTACKS) add('slack-http', `${kind} ${attack}`, { slack: { kind, attack } }, attack === 'replayed' ? { actedOnce: true } : { status: 401 });
  }
  return cases;
}
