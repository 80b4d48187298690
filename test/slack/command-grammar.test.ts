import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_HOSTS_PER_HUNT, MAX_LOOKBACK_HOURS, normalizeSlackText, parseCommand, usageText } from '../../src/slack/command-grammar.js';
import { isValidHostName } from '../../src/domain/host.js';
import { CodedError, ErrorCode } from '../../src/errors.js';

function refusal(text: string): CodedError {
  try {
    parseCommand(text);
  } catch (error) {
    expect(error).toBeInstanceOf(CodedError);
    return error as CodedError;
  }
  throw new Error(`parsed although it should not: ${JSON.stringify(text)}`);
}

describe('the /wmi grammar', () => {
  it('parses a hunt of one host with the default look-back', () => {
    expect(parseCommand('hunt host01')).toEqual({ name: 'hunt', target: { kind: 'hosts', hosts: ['host01'] }, lookbackHours: null });
  });

  it('parses a host list, dropping repeats case-insensitively and keeping the first spelling', () => {
    expect(parseCommand('hunt host01,HOST02.corp.example,Host01 --lookback 72h')).toEqual({
      name: 'hunt',
      target: { kind: 'hosts', hosts: ['host01', 'HOST02.corp.example'] },
      lookbackHours: 72,
    });
  });

  it('parses a group target and a look-back in days or with =', () => {
    expect(parseCommand('hunt group:dc-servers --lookback=3d')).toEqual({ name: 'hunt', target: { kind: 'group', group: 'dc-servers' }, lookbackHours: 72 });
    expect(parseCommand('HUNT 10.0.0.5 --LOOKBACK 0h')).toMatchObject({ target: { hosts: ['10.0.0.5'] }, lookbackHours: 0 });
  });

  it('accepts what Slack does to typed text: smart dashes, no-break spaces, auto-linked host names', () => {
    expect(parseCommand('hunt\u00a0host01.corp.example \u2014lookback 24h')).toMatchObject({ target: { hosts: ['host01.corp.example'] }, lookbackHours: 24 });
    expect(parseCommand('hunt <http://host01.corp.example|host01.corp.example>')).toMatchObject({ target: { hosts: ['host01.corp.example'] } });
  });

  it('does not unwrap a link whose label differs from its target', () => {
    expect(normalizeSlackText('<http://evil.example|host01>')).toBe('<http://evil.example|host01>');
    expect(refusal('hunt <http://evil.example|host01>').code).toBe(ErrorCode.InvalidHostName);
  });

  it('refuses host names that could reach a shell, with E_INVALID_HOST and the hunt usage', () => {
    for (const hostile of ['host01;calc', 'host01$(whoami)', "host'01", 'host01`id`', '-host01', 'host01..corp', 'hоst01' /* Cyrillic o */, 'a'.repeat(254), '\\\\host01', 'host01|x']) {
      const error = refusal(`hunt ${hostile}`);
      expect(error.code, hostile).toBe(ErrorCode.InvalidHostName);
      expect(error.details.usage).toContain('/wmi hunt');
    }
  });

  it('refuses empty list entries, too many hosts, bad groups and look-backs', () => {
    expect(refusal('hunt host01,,host02').code).toBe(ErrorCode.BadInput);
    const many = Array.from({ length: MAX_HOSTS_PER_HUNT + 1 }, (_, index) => `h${index}`).join(',');
    expect(refusal(`hunt ${many}`).message).toContain('more than');
    expect(refusal('hunt group:').code).toBe(ErrorCode.BadInput);
    expect(refusal('hunt group:../etc').code).toBe(ErrorCode.BadInput);
    expect(refusal('hunt host01 --lookback 72').message).toContain('duration');
    expect(refusal(`hunt host01 --lookback ${MAX_LOOKBACK_HOURS + 1}h`).message).toContain('longer');
    expect(refusal('hunt host01 --lookback').message).toContain('needs a value');
    expect(refusal('hunt host01 --lookback 1h --lookback 2h').message).toContain('twice');
    expect(refusal('hunt host01 --force').message).toContain('unknown option');
    expect(refusal('hunt host01 host02').message).toContain('unexpected');
    expect(refusal('hunt').details.usage).toContain('/wmi hunt');
  });

  it('parses status, report, trace, remove and restore', () => {
    expect(parseCommand('status')).toEqual({ name: 'status', huntId: null });
    expect(parseCommand('status th-wmi-20261129-001')).toEqual({ name: 'status', huntId: 'TH-WMI-20261129-001' });
    expect(parseCommand('report TH-WMI-20261129-001')).toEqual({ name: 'report', huntId: 'TH-WMI-20261129-001', format: 'md' });
    expect(parseCommand('report TH-WMI-20261129-001 --format JSON')).toEqual({ name: 'report', huntId: 'TH-WMI-20261129-001', format: 'json' });
    expect(parseCommand('trace TH-WMI-20261129-001 f-1a2b')).toEqual({ name: 'trace', huntId: 'TH-WMI-20261129-001', findingId: 'f-1a2b' });
    expect(parseCommand('remove TH-WMI-20261129-001')).toEqual({ name: 'remove', huntId: 'TH-WMI-20261129-001', findingIds: [] });
    expect(parseCommand('remove TH-WMI-20261129-001 f-1 f-2 f-1')).toEqual({ name: 'remove', huntId: 'TH-WMI-20261129-001', findingIds: ['f-1', 'f-2'] });
    expect(parseCommand('restore BK-20261129-host01-7f3a')).toEqual({ name: 'restore', backupId: 'BK-20261129-host01-7f3a' });
    expect(parseCommand('help remove')).toEqual({ name: 'help', topic: 'remove' });
  });

  it('refuses malformed ids and formats with the usage of that command', () => {
    expect(refusal('report TH-WMI-1-001').details.usage).toContain('/wmi report');
    expect(refusal('report TH-WMI-20261129-001 --format pdf').message).toContain('format');
    expect(refusal('trace TH-WMI-20261129-001 f<@U1>').details.usage).toContain('/wmi trace');
    expect(refusal('remove').details.usage).toContain('/wmi remove');
    expect(refusal('restore').details.usage).toContain('/wmi restore');
    expect(refusal('restore ../../etc/passwd').code).toBe(ErrorCode.BadInput);
    expect(refusal('status TH-WMI-20261129-001 extra').code).toBe(ErrorCode.BadInput);
  });

  it('answers an unknown or empty command with the full usage', () => {
    for (const text of ['', '   ', 'delete everything', 'help nonsense']) {
      const error = refusal(text);
      expect(error.code).toBe(ErrorCode.BadInput);
      expect(error.details.usage).toBe(usageText());
    }
  });

  it('never echoes markup from hostile input into its message', () => {
    const error = refusal('report <!channel>`x`&');
    expect(error.message).not.toMatch(/[<>&]|`x`/);
  });

  it('refuses text longer than the limit before looking at it', () => {
    expect(refusal(`hunt ${'a'.repeat(3_000)}`).message).toContain('longer than');
  });

  it('either parses arbitrary text into a valid command or refuses it with a CodedError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }).map((s) => `hunt ${s}`)), (text) => {
        let parsed;
        try {
          parsed = parseCommand(text);
        } catch (error) {
          expect(error).toBeInstanceOf(CodedError);
          expect([ErrorCode.BadInput, ErrorCode.InvalidHostName]).toContain((error as CodedError).code);
          return;
        }
        if (parsed.name === 'hunt' && parsed.target.kind === 'hosts') {
          expect(parsed.target.hosts.every(isValidHostName)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
