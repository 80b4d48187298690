import type { Redis } from 'ioredis';
import type { ExpiringKey } from '../app/engine.js';

/**
 * Slack's signature binds a request to a timestamp (5-minute window) but not to a single use: the
 * same signed request replayed within the window verifies again. Each request therefore claims its
 * Slack-assigned id once in Redis; a second delivery of the same id is acknowledged and dropped.
 * The ids are Slack's own (trigger_id, event_id, action_ts), never text the user typed.
 */
export const REPLAY_WINDOW_SECONDS = 15 * 60;

export class ReplayGuard {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly ttlSeconds = REPLAY_WINDOW_SECONDS,
  ) {}

  /** True the first time `requestId` is seen within the window, false for every repeat. */
  async firstSeen(requestId: string): Promise<boolean> {
    const { key, ttlSeconds } = this.claimOf(requestId);
    const claimed = await this.redis.set(key, '1', 'EX', ttlSeconds, 'NX');
    return claimed === 'OK';
  }

  /** The same claim for a hunt to make as it opens (HuntRequest.openedWith.once): one round trip for both. */
  claimOf(requestId: string): ExpiringKey {
    return { key: `${this.keyPrefix}:slack:seen:${requestId}`, ttlSeconds: this.ttlSeconds };
  }
}

/** The id Slack gives this delivery, or null for payloads that carry none (they are not deduplicated). */
export function slackRequestId(body: unknown): string | null {
  if (!body || typeof body !== 'object') return null;
  const payload = body as Record<string, unknown>;
  const team = stringField(payload.team_id) ?? stringField((payload.team as Record<string, unknown> | undefined)?.id) ?? '-';
  if (payload.type === 'event_callback') {
    const eventId = stringField(payload.event_id);
    return eventId ? `event:${team}:${eventId}` : null;
  }
  const trigger = stringField(payload.trigger_id);
  if (payload.type === 'block_actions') {
    const actions = Array.isArray(payload.actions) ? (payload.actions as Array<Record<string, unknown>>) : [];
    const actionTs = stringField(actions[0]?.action_ts) ?? '-';
    const user = stringField((payload.user as Record<string, unknown> | undefined)?.id) ?? '-';
    return trigger ? `action:${team}:${trigger}:${actionTs}:${user}` : null;
  }
  if (payload.type === 'view_submission') {
    const view = payload.view as Record<string, unknown> | undefined;
    const viewId = stringField(view?.id) ?? '-';
    return trigger ? `view:${team}:${trigger}:${viewId}` : null;
  }
  if (typeof payload.command === 'string') return trigger ? `command:${team}:${trigger}` : null;
  return null;
}

function stringField(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 && value.length <= 200 ? value : null;
}
