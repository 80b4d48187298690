import { createHmac, timingSafeEqual } from 'node:crypto';
import { CodedError, ErrorCode } from '../errors.js';

/**
 * SIEM webhooks sign `<timestamp>.<raw body>` with HMAC-SHA256 and a per-source secret:
 *   X-WMI-Hunter-Timestamp: <unix seconds>
 *   X-WMI-Hunter-Signature: sha256=<hex>
 * A request outside the allowed clock skew is refused even when correctly signed, so a captured
 * request cannot be replayed later (within the window, the alert-id de-duplication refuses it).
 */
export const TIMESTAMP_HEADER = 'x-wmi-hunter-timestamp';
export const SIGNATURE_HEADER = 'x-wmi-hunter-signature';

export function signWebhook(secret: string, timestamp: number | string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export function verifyWebhook(input: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: Buffer;
  nowSeconds: number;
  maxSkewSeconds: number;
}): void {
  if (!input.timestamp || !input.signature) {
    throw new CodedError(ErrorCode.Unauthorized, `missing ${TIMESTAMP_HEADER} or ${SIGNATURE_HEADER} header`, { reason: 'missing' });
  }
  if (!/^\d{1,12}$/.test(input.timestamp)) throw new CodedError(ErrorCode.Unauthorized, 'the timestamp must be unix seconds', { reason: 'bad-timestamp' });
  if (Math.abs(input.nowSeconds - Number(input.timestamp)) > input.maxSkewSeconds) {
    throw new CodedError(ErrorCode.Unauthorized, `the timestamp is outside the ${input.maxSkewSeconds}-second window`, { reason: 'stale' });
  }
  const expected = Buffer.from(signWebhook(input.secret, input.timestamp, input.body));
  const presented = Buffer.from(input.signature.trim());
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    throw new CodedError(ErrorCode.Unauthorized, 'the signature does not match', { reason: 'bad-signature' });
  }
}
