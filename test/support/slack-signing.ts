import { createHmac } from 'node:crypto';

/**
 * Sends requests to a Bolt HTTP receiver the way Slack does: v0 HMAC-SHA256 over
 * `v0:<timestamp>:<raw body>` with the app's signing secret, in X-Slack-Signature and
 * X-Slack-Request-Timestamp. Only a test signing secret is ever used here.
 */
export const TEST_SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';

export interface SignedRequest {
  body: string;
  contentType: 'application/x-www-form-urlencoded' | 'application/json';
  timestamp: number;
  signature: string;
}

export function signSlackBody(body: string, options: { secret?: string; timestamp?: number } = {}): { timestamp: number; signature: string } {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const hmac = createHmac('sha256', options.secret ?? TEST_SIGNING_SECRET);
  hmac.update(`v0:${timestamp}:${body}`);
  return { timestamp, signature: `v0=${hmac.digest('hex')}` };
}

/** A slash command as Slack posts it (form fields). */
export function slashCommandBody(fields: {
  text: string;
  userId?: string;
  channelId?: string;
  triggerId?: string;
  command?: string;
  responseUrl?: string;
}): string {
  return new URLSearchParams({
    token: 'legacy-verification-token-unused',
    team_id: 'TFAKE01',
    team_domain: 'fake',
    channel_id: fields.channelId ?? 'CSOC0001',
    channel_name: 'soc',
    user_id: fields.userId ?? 'UREQUESTER',
    user_name: 'requester',
    command: fields.command ?? '/wmi',
    text: fields.text,
    api_app_id: 'AFAKE01',
    is_enterprise_install: 'false',
    response_url: fields.responseUrl ?? 'http://127.0.0.1:9/unused-response-url',
    trigger_id: fields.triggerId ?? `trigger-${Math.random().toString(36).slice(2)}`,
  }).toString();
}

/** An interactive payload (block_actions, view_submission) as Slack posts it: form field `payload`. */
export function interactionBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function buildSignedRequest(
  body: string,
  options: { secret?: string; timestamp?: number; contentType?: SignedRequest['contentType'] } = {},
): SignedRequest {
  const { timestamp, signature } = signSlackBody(body, options);
  return { body, contentType: options.contentType ?? 'application/x-www-form-urlencoded', timestamp, signature };
}

export interface SlackResponse {
  status: number;
  text: string;
  json: unknown;
}

/** POSTs a signed request (or a tampered one: pass `signature`/`timestamp` overrides) to the receiver. */
export async function postSigned(url: string, request: SignedRequest, headers: Record<string, string> = {}): Promise<SlackResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': request.contentType,
      'x-slack-request-timestamp': String(request.timestamp),
      'x-slack-signature': request.signature,
      ...headers,
    },
    body: request.body,
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: response.status, text, json };
}
