import { isValidSlackRequest } from '@slack/bolt';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RequestSignature } from '../../src/slack/request-signature.js';
import { TEST_SIGNING_SECRET, signSlackBody } from '../support/slack-signing.js';

const NOW_MS = Date.parse('2026-11-29T12:00:00Z');
const NOW_S = NOW_MS / 1000;

function boltVerdict(body: string, signature: string | undefined, timestamp: string | undefined): boolean {
  const headers = { 'x-slack-signature': signature as string, 'x-slack-request-timestamp': Number(timestamp) };
  return isValidSlackRequest({ signingSecret: TEST_SIGNING_SECRET, body, headers, nowMilliseconds: NOW_MS });
}

describe('RequestSignature (Slack v0, by the rules of Bolt’s receiver)', () => {
  const check = new RequestSignature(TEST_SIGNING_SECRET);

  it('accepts the request Slack signed and refuses it stale, tampered, resigned or without headers', () => {
    const body = 'token=x&team_id=T1&command=%2Fwmi&text=hunt+host01';
    const { timestamp, signature } = signSlackBody(body, { timestamp: NOW_S - 10 });
    const verdict = (input: { body?: string; signature?: string; timestamp?: string }) =>
      check.isValid({ body: input.body ?? body, signature: 'signature' in input ? input.signature : signature, timestamp: 'timestamp' in input ? input.timestamp : String(timestamp), nowMs: NOW_MS });
    expect(verdict({})).toBe(true);
    expect(verdict({ body: body.replace('host01', 'host02') })).toBe(false);
    expect(verdict({ signature: signSlackBody(body, { timestamp: NOW_S - 10, secret: 'another-secret-0123456789' }).signature })).toBe(false);
    expect(verdict({ signature: signature.toUpperCase() })).toBe(false);
    expect(verdict({ signature: signature.replace('v0=', 'v1=') })).toBe(false);
    expect(verdict({ timestamp: String(NOW_S - 301), signature: signSlackBody(body, { timestamp: NOW_S - 301 }).signature })).toBe(false);
    expect(verdict({ timestamp: 'soon' })).toBe(false);
    expect(verdict({ signature: undefined })).toBe(false);
    expect(verdict({ timestamp: undefined })).toBe(false);
  });

  it('gives Bolt’s verdict on any body, timestamp and signature, signed or forged', () => {
    const timestamp = fc.oneof(
      fc.integer({ min: NOW_S - 600, max: NOW_S + 600 }).map(String),
      fc.constantFrom('', 'abc', '1e3', ' 1700000000', `${NOW_S}.5`, '-1'),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), timestamp, fc.constantFrom('signed', 'wrong-secret', 'flipped', 'garbage', 'missing'), fc.string({ maxLength: 70 }), (body, stamp, kind, garbage) => {
        const signed = signSlackBody(body, { timestamp: Number(stamp) as number });
        const signature =
          kind === 'signed'
            ? signed.signature
            : kind === 'wrong-secret'
              ? signSlackBody(body, { timestamp: Number(stamp), secret: 'another-secret-0123456789' }).signature
              : kind === 'flipped'
                ? signed.signature.slice(0, -1) + (signed.signature.endsWith('0') ? '1' : '0')
                : kind === 'garbage'
                  ? garbage.replace(/=/g, '')
                  : undefined;
        expect(check.isValid({ body, signature, timestamp: stamp, nowMs: NOW_MS })).toBe(boltVerdict(body, signature, stamp));
      }),
      { numRuns: 500 },
    );
  });
});
