import type { RespondFn, webApi } from '@slack/bolt';
import type { SlackMessage } from './block-kit.js';

/**
 * How a command answers the person who typed it. A slash command answers in its ack and then
 * through its response_url (works in any channel, even where the app is not a member); a mention
 * answers with ephemeral messages and posts in the mention's thread.
 */
export interface Reply {
  /** The first answer: a slash command's ack body (null acks empty); for a mention, an ephemeral when given. */
  acknowledge(message: SlackMessage | null): Promise<void>;
  /** Only the requester sees it. */
  privately(message: SlackMessage): Promise<void>;
}

export function slashCommandReply(ack: (response?: Record<string, unknown>) => Promise<void>, respond: RespondFn): Reply {
  let acknowledged = false;
  return {
    async acknowledge(message) {
      if (acknowledged) return;
      acknowledged = true;
      await ack(message ? { response_type: 'ephemeral', text: message.text, blocks: message.blocks } : undefined);
    },
    async privately(message) {
      if (!acknowledged) {
        await this.acknowledge(message);
        return;
      }
      await respond({ response_type: 'ephemeral', replace_original: false, text: message.text, blocks: message.blocks });
    },
  };
}

export function ephemeralReply(client: webApi.WebClient, target: { channel: string; user: string; threadTs?: string }): Reply {
  const send = async (message: SlackMessage) => {
    await client.chat.postEphemeral({
      channel: target.channel,
      user: target.user,
      ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
      text: message.text,
      blocks: message.blocks,
    });
  };
  return {
    async acknowledge(message) {
      if (message) await send(message);
    },
    privately: send,
  };
}
