import { type KeyObject, createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';

/**
 * Slack's v0 request signature, checked by the same rules as Bolt's receiver (verifySlackRequest):
 * a numeric timestamp no more than five minutes old, a `v0=` signature, and HMAC-SHA256 with the
 * signing secret over `v0:<timestamp>:<raw body>` compared in constant time. It costs one HMAC with
 * a key prepared once; Bolt's check prepares the key per request and compares through two more
 * HMACs. Future timestamps are refused before this (slack-app.ts).
 */
const MAX_AGE_SECONDS = 5 * 60;
const SIGNATURE = /^v0=([0-9a-f]{64})$/;

export class RequestSignature {
  private readonly key: KeyObject;

  constructor(signingSecret: string) {
    this.key = createSecretKey(Buffer.from(signingSecret, 'utf8'));
  }

  isValid(input: { body: string; signature: string | undefined; timestamp: string | undefined; nowMs?: number }): boolean {
    if (input.signature === undefined || input.timestamp === undefined) return false;
    const timestamp = Number(input.timestamp);
    if (Number.isNaN(timestamp)) return false;
    if (timestamp < Math.floor((input.nowMs ?? Date.now()) / 1000) - MAX_AGE_SECONDS) return false;
    const given = SIGNATURE.exec(input.signature);
    if (!given) return false;
    const expected = createHmac('sha256', this.key).update(`v0:${timestamp}:${input.body}`).digest();
    return timingSafeEqual(Buffer.from(given[1]!, 'hex'), expected);
  }
}
