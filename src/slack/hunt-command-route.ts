import { HTTPModuleFunctions } from '@slack/bolt';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Actor } from '../app/engine.js';
import { CodedError, ErrorCode } from '../errors.js';
import type { SlackMessage } from './block-kit.js';
import { type WmiCommand, parseCommand } from './command-grammar.js';
import { runParsedCommand, textMessage, type CommandDeps } from './command-handler.js';
import { GroupCommit } from './group-commit.js';
import { type ReplayGuard, slackRequestId } from './replay-guard.js';
import { RequestSignature } from './request-signature.js';
import type { Reply } from './reply.js';

/**
 * `/wmi hunt` over HTTP on a thin path in front of Bolt: read the raw body, verify the signature
 * (Bolt's rules, request-signature.ts), start the hunt (whose open script claims the request id) and write the acknowledgement, without
 * Bolt's generic event processing (its middleware chain, listener matching, conversation store),
 * which cost more than the hunt itself. Every other request, and every other command, is handed to
 * Bolt untouched, with the body already read (Bolt takes it from `rawBody`). The acknowledgement is
 * the same as through Bolt: "queued" only once the hunt's jobs are in Redis, else the reason.
 */
export interface HuntCommandRouteOptions {
  signingSecret: string;
  /** The slash command's name, `/wmi` unless the manifest was changed. */
  command: string;
  guard: ReplayGuard;
  commandDeps: CommandDeps;
  /** Posts to a command's response_url (the app's fetch, as Bolt's `respond` uses). */
  fetch: ResponseUrlFetch;
  onError: (error: unknown, where: string) => void;
  /** Hears refused requests, as Bolt's receiver reports them (warn). */
  onRefused: (reason: string) => void;
}

export type ResponseUrlFetch = (url: string, init: { method: 'POST'; headers: Record<string, string>; body: string }) => Promise<{ ok: boolean; status: number }>;

type RequestWithRawBody = IncomingMessage & { rawBody?: Buffer };

const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/**
 * Works on node's own request and response (an express middleware too): `next` hands the request on
 * with its body already read.
 */
export type HuntCommandRoute = (request: IncomingMessage, response: ServerResponse, next: () => void) => void;

export function huntCommandRoute(options: HuntCommandRouteOptions): HuntCommandRoute {
  const hunts = new GroupCommit();
  const signature = new RequestSignature(options.signingSecret);
  return (request, response, next) => {
    // Bolt parses a body as a form only for exactly this content type; anything else it reads itself.
    if (request.headers['content-type'] !== FORM_CONTENT_TYPE || (request as RequestWithRawBody).rawBody) {
      next();
      return;
    }
    readBody(request, HTTPModuleFunctions.defaultBodyLimit).then(
      (raw) => {
        (request as RequestWithRawBody).rawBody = raw;
        const body = raw.toString('utf8');
        const signed = signature.isValid({ body, signature: headerValue(request, 'x-slack-signature'), timestamp: headerValue(request, 'x-slack-request-timestamp') });
        if (!signed) {
          options.onRefused('Request verification failed');
          response.writeHead(401).end();
          return;
        }
        const form = new URLSearchParams(body);
        const command = form.has('payload') || form.get('command') !== options.command ? null : huntCommandIn(form.get('text') ?? '');
        if (!command) {
          next();
          return;
        }
        // The group is released at the acknowledgement; what follows it (the channel's last hunt) runs on.
        hunts.add(
          () =>
            new Promise<void>((acknowledged) => {
              handleHunt(form, command, response, options, acknowledged)
                .catch((error: unknown) => {
                  options.onError(error, '/wmi hunt');
                  if (!response.headersSent) response.writeHead(500).end();
                })
                .finally(acknowledged);
            }),
        );
      },
      (error: unknown) => {
        const tooLarge = (error as { statusCode?: unknown }).statusCode === 413;
        options.onRefused(tooLarge ? 'Request body exceeded the maximum allowed size' : 'Failed to read request body');
        response.writeHead(tooLarge ? 413 : 400).end();
      },
    );
  };
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

type HuntCommand = Extract<WmiCommand, { name: 'hunt' }>;

/** The hunt the text asks for; anything else (other commands, text that does not parse) is Bolt's. */
function huntCommandIn(text: string): HuntCommand | null {
  try {
    const command = parseCommand(text);
    return command.name === 'hunt' ? command : null;
  } catch {
    return null;
  }
}

async function handleHunt(form: URLSearchParams, command: HuntCommand, response: ServerResponse, options: HuntCommandRouteOptions, onAcknowledged: () => void): Promise<void> {
  const fields = Object.fromEntries(form);
  const acknowledge = (message: SlackMessage | null) => {
    if (response.headersSent) return;
    if (message) response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ response_type: 'ephemeral', text: message.text, blocks: message.blocks }));
    else response.writeHead(200).end();
    onAcknowledged();
  };
  // The replay guard's claim is made by the hunt's open script, in the same round trip.
  const requestId = slackRequestId(fields);
  const userId = fields.user_id ?? '';
  const channel = fields.channel_id ?? '';
  const actor: Actor = { kind: 'slack', id: userId, ...(fields.user_name ? { displayName: fields.user_name } : {}), from: channel };
  const reply = httpAckReply(acknowledge, fields.response_url ?? null, options.fetch);
  const requestKey = `slack-${fields.team_id}-${fields.trigger_id}`;
  await runParsedCommand(command, { actor, channel, reply, requestKey, ...(requestId === null ? {} : { replayClaim: options.guard.claimOf(requestId) }) }, options.commandDeps);
}

/** The acknowledgement is the HTTP response; later private answers go to the command's response_url. */
function httpAckReply(acknowledge: (message: SlackMessage | null) => void, responseUrl: string | null, fetchFn: ResponseUrlFetch): Reply {
  let acknowledged = false;
  return {
    async acknowledge(message) {
      if (acknowledged) return;
      acknowledged = true;
      acknowledge(message);
    },
    async privately(message) {
      if (!acknowledged) {
        await this.acknowledge(message);
        return;
      }
      if (!responseUrl) throw new CodedError(ErrorCode.BadInput, 'the slash command carried no response_url to answer on', {});
      const answer = await fetchFn(responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text: message.text, blocks: message.blocks }),
      });
      if (!answer.ok) throw new CodedError(ErrorCode.Internal, `the response_url answered ${answer.status}`, { status: answer.status });
    },
  };
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (declared > limit) {
      request.resume();
      reject(Object.assign(new Error('request body too large'), { statusCode: 413 }));
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      if (length > limit) return;
      length += chunk.length;
      if (length > limit) {
        // The rest is read and dropped, so the 413 reaches a client still sending.
        chunks.length = 0;
        reject(Object.assign(new Error('request body too large'), { statusCode: 413 }));
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    request.once('error', reject);
    request.once('close', () => reject(new Error('the request closed before its body ended')));
  });
}
