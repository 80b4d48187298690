import { App, ExpressReceiver, LogLevel, type Logger, webApi } from '@slack/bolt';
import type { IncomingMessage, RequestListener } from 'node:http';
import { Router, type Application, type IRouter, type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import type { Actor, Engine } from '../app/engine.js';
import type { UploadIntake } from '../app/upload-intake.js';
import { CodedError, ErrorCode, asCodedError } from '../errors.js';
import { assertValidHostName } from '../domain/host.js';
import { ACTION_APPROVE, ACTION_DENY, DENY_REASON_BLOCK, DENY_REASON_INPUT, VIEW_DENY_REASON, renderDenyModal } from './approval-blocks.js';
import { type Clicker, decideFromSlack, parseApprovalId, parseDenyContext, parseDenyReason, tellClicker } from './approval-handler.js';
import { errorMessage, runCommand, textMessage, type CommandDeps } from './command-handler.js';
import { huntCommandRoute } from './hunt-command-route.js';
import { SlackMessageLedger } from './message-ledger.js';
import { ReplayGuard, slackRequestId } from './replay-guard.js';
import { ephemeralReply, slashCommandReply } from './reply.js';
import { SlackFileDownloader, allowedDownloadOrigin } from './slack-file-downloader.js';
import { SlackNotifier } from './slack-notifier.js';
import { SlackUploadReplies } from './slack-upload-replies.js';
import { registerUploadListener } from './upload-listener.js';
import { UsergroupDirectory } from './usergroup-directory.js';

/**
 * The Bolt app: Socket Mode (an app-level token, no public URL) or HTTP (signing secret; the
 * receiver is an express Router the service mounts). Listeners only validate, acknowledge and hand
 * over to the engine; refused or malformed input is answered privately and changes nothing.
 */
export interface SlackAppConfig {
  /** xoxb- bot token. */
  botToken: string;
  /** HTTP mode: verifies every request (HMAC v0, 5-minute window). */
  signingSecret?: string;
  /** Socket Mode: xapp- app-level token with connections:write. */
  appToken?: string;
  /** Where hunts started by alerts (no requesting thread) are posted. */
  alertChannel?: string;
  /** Web API base URL with trailing slash; Slack's own unless pointed elsewhere (tests, egress proxies). */
  apiUrl?: string;
  /** Redis key prefix for the replay guard and the message ledger. */
  keyPrefix: string;
  /** `hunt group:NAME` targets. */
  hostGroups?: Readonly<Record<string, readonly string[]>>;
  usergroupCacheMs?: number;
  /** The slash command's name, `/wmi` unless the manifest was changed. */
  command?: string;
  /** Largest file accepted for offline analysis (declared size and downloaded bytes). */
  uploadMaxBytes?: number;
}

export const DEFAULT_UPLOAD_MAX_BYTES = 100 * 1024 * 1024;

export interface CreateSlackAppOptions {
  engine: Engine;
  config: SlackAppConfig;
  mode: 'http' | 'socket';
  redis: Redis;
  receiverOptions?: {
    /** Path of the Events/Interactivity/Commands request URL, default /slack/events. */
    endpoint?: string;
    /** Router to attach the endpoint to (the service's); a new one otherwise. */
    router?: IRouter;
  };
  /** Extra WebClient options (retry policy, timeouts). Retry-After is always honoured. */
  clientOptions?: Omit<webApi.WebClientOptions, 'slackApiUrl' | 'rejectRateLimitedCalls' | 'logger'>;
  logger?: Logger;
  /** Where event exports shared with the bot are queued for analysis; without it uploads are not listened to. */
  uploads?: UploadIntake;
}

export interface SlackApp {
  app: App;
  client: webApi.WebClient;
  notifier: SlackNotifier;
  /** HTTP mode: mount this on the service's express app before any body parser (Bolt reads the raw body). */
  router: IRouter | null;
  /** HTTP mode: a standalone express app serving only the Slack endpoint. */
  expressApp: Application | null;
  /**
   * HTTP mode: a request listener for the HTTP server that takes the endpoint's `/wmi hunt` commands
   * before express (whose routing cost a tenth of such a request) and hands every other request to
   * `fallback`, the express app that also mounts `router`. `onAnswered` hears the status of each
   * request it answers itself (the service's request metrics).
   */
  listenerAhead: ((fallback: RequestListener, onAnswered?: (status: number) => void) => RequestListener) | null;
  /** Socket Mode: connects to Slack. HTTP mode: nothing to do (the router is mounted by the service). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const SLACK_USER = /^[UW][A-Z0-9]{2,20}$/;

export function validateSlackAppConfig(config: SlackAppConfig, mode: 'http' | 'socket'): void {
  const problems: string[] = [];
  if (!/^xoxb-/.test(config.botToken)) problems.push('botToken must be a bot token (xoxb-...)');
  if (mode === 'http' && !(config.signingSecret && config.signingSecret.length >= 16)) problems.push('HTTP mode needs the signing secret');
  if (mode === 'socket' && !/^xapp-/.test(config.appToken ?? '')) problems.push('Socket Mode needs an app-level token (xapp-...)');
  if (config.apiUrl !== undefined && !/^https?:\/\/\S+\/$/.test(config.apiUrl)) problems.push('apiUrl must be an http(s) URL ending in /');
  if (config.uploadMaxBytes !== undefined && !(Number.isInteger(config.uploadMaxBytes) && config.uploadMaxBytes > 0)) problems.push('uploadMaxBytes must be a positive whole number of bytes');
  if (!/^[A-Za-z0-9_.:-]{1,60}$/.test(config.keyPrefix)) problems.push('keyPrefix: letters, digits, _ . : -');
  for (const [group, hosts] of Object.entries(config.hostGroups ?? {})) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(group)) problems.push(`host group name ${JSON.stringify(group.slice(0, 40))} is invalid`);
    for (const host of hosts) {
      try {
        assertValidHostName(host);
      } catch {
        problems.push(`host group ${group}: invalid host name`);
      }
    }
  }
  if (problems.length > 0) throw new CodedError(ErrorCode.Config, `invalid Slack configuration: ${problems.join('; ')}`, { problems });
}

export function createSlackClient(config: Pick<SlackAppConfig, 'botToken' | 'apiUrl'>, clientOptions: CreateSlackAppOptions['clientOptions'] = {}, logger?: Logger): webApi.WebClient {
  return new webApi.WebClient(config.botToken, {
    ...clientOptions,
    ...(config.apiUrl ? { slackApiUrl: config.apiUrl } : {}),
    ...(logger ? { logger } : { logLevel: webApi.LogLevel.WARN }),
    rejectRateLimitedCalls: false,
  });
}

/** What the analyze-upload job needs from Slack (worker processes): the file downloader and the thread notices. */
export function createUploadPorts(options: Pick<CreateSlackAppOptions, 'config' | 'redis' | 'clientOptions' | 'logger'>): {
  downloader: SlackFileDownloader;
  replies: SlackUploadReplies;
} {
  return {
    downloader: new SlackFileDownloader({ botToken: options.config.botToken, allowedOrigin: allowedDownloadOrigin(options.config.apiUrl) }),
    replies: new SlackUploadReplies(createSlackNotifier(options)),
  };
}

/** The notifier alone, for worker processes that post to Slack but receive nothing from it. */
export function createSlackNotifier(options: Pick<CreateSlackAppOptions, 'config' | 'redis' | 'clientOptions' | 'logger'>): SlackNotifier {
  const client = createSlackClient(options.config, options.clientOptions, options.logger);
  return new SlackNotifier(client, new SlackMessageLedger(options.redis, options.config.keyPrefix), { alertChannel: options.config.alertChannel });
}

/** How far ahead of our clock a request's timestamp may be, as Slack allows behind it. */
const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

/**
 * Bolt refuses only timestamps more than five minutes old; a validly signed one from further in the
 * future would stay replayable for as long, so it is refused before the signature is even checked.
 */
function refuseFutureTimestamps(request: Request, response: Response, next: NextFunction): void {
  if (stampedInTheFuture(request)) {
    response.status(401).send();
    return;
  }
  next();
}

function stampedInTheFuture(request: IncomingMessage): boolean {
  const timestamp = Number(request.headers['x-slack-request-timestamp']);
  return Number.isFinite(timestamp) && timestamp > Date.now() / 1000 + MAX_CLOCK_SKEW_SECONDS;
}

export async function createSlackApp(options: CreateSlackAppOptions): Promise<SlackApp> {
  const { engine, config, mode, redis } = options;
  validateSlackAppConfig(config, mode);
  const clientOptions: webApi.WebClientOptions = {
    ...options.clientOptions,
    ...(config.apiUrl ? { slackApiUrl: config.apiUrl } : {}),
    rejectRateLimitedCalls: false,
  };
  const logging = options.logger ? { logger: options.logger } : { logLevel: LogLevel.WARN };
  let receiver: ExpressReceiver | null = null;
  let huntRoute: ReturnType<typeof huntCommandRoute> | null = null;
  let router: IRouter | null = null;
  let app: App;
  const endpoint = options.receiverOptions?.endpoint ?? '/slack/events';
  if (mode === 'http') {
    router = options.receiverOptions?.router ?? Router();
    // The hunt route is bound once its dependencies exist (after app.init); until then all goes to Bolt.
    router.post(endpoint, refuseFutureTimestamps, (request, response, next) => (huntRoute ? huntRoute(request, response, next) : next()));
    receiver = new ExpressReceiver({
      signingSecret: config.signingSecret!,
      endpoints: endpoint,
      router,
      processBeforeResponse: false,
      ...logging,
    });
    app = new App({ token: config.botToken, receiver, clientOptions, deferInitialization: true, ...logging });
  } else {
    app = new App({ token: config.botToken, appToken: config.appToken!, socketMode: true, clientOptions, deferInitialization: true, ...logging });
  }
  // Calls auth.test once, so every later request is authorized from the cached bot identity.
  await app.init();

  const client = app.client;
  const ledger = new SlackMessageLedger(redis, config.keyPrefix);
  const notifier = new SlackNotifier(client, ledger, { alertChannel: config.alertChannel });
  const guard = new ReplayGuard(redis, config.keyPrefix);
  const onError = (error: unknown, where: string) => app.logger.error(`wmi-hunter slack: ${where}: ${asCodedError(error).message}`);
  const directory = new UsergroupDirectory(client, config.usergroupCacheMs, (group, error) => onError(error, `usergroups.users.list ${group}`));
  const commandDeps: CommandDeps = { engine, notifier, ledger, directory, hostGroups: config.hostGroups ?? {}, onError };
  const approvalDeps = { engine, directory, client, onError };
  if (mode === 'http') {
    huntRoute = huntCommandRoute({
      signingSecret: config.signingSecret!,
      command: config.command ?? '/wmi',
      guard,
      commandDeps,
      fetch: clientOptions.fetch ?? globalThis.fetch,
      onError,
      onRefused: (reason) => app.logger.warn(`wmi-hunter slack: ${reason}`),
    });
  }

  app.use(async (args) => {
    const requestId = slackRequestId(args.body);
    const ack = 'ack' in args && typeof args.ack === 'function' ? (args.ack as (response?: unknown) => Promise<void>) : null;
    if (requestId !== null) {
      let first: boolean;
      try {
        first = await guard.firstSeen(requestId);
      } catch (error) {
        onError(error, 'replay guard');
        if (ack) await ack(typeof (args.body as { command?: unknown }).command === 'string' ? textMessage(':x: wmi-hunter cannot reach its store right now; nothing was done.') : undefined);
        return;
      }
      if (!first) {
        if (ack) await ack();
        return;
      }
    }
    await args.next();
  });

  app.command(config.command ?? '/wmi', async ({ command, ack, respond }) => {
    const actor: Actor = { kind: 'slack', id: command.user_id, displayName: command.user_name, from: command.channel_id };
    const requestKey = `slack-${command.team_id}-${command.trigger_id}`;
    await runCommand(command.text ?? '', { actor, channel: command.channel_id, reply: slashCommandReply(ack, respond), requestKey }, commandDeps);
  });

  app.event('app_mention', async ({ event, body }) => {
    if (!event.user) return;
    const threadTs = event.thread_ts ?? event.ts;
    const actor: Actor = { kind: 'slack', id: event.user, from: event.channel };
    const text = (event.text ?? '').replace(/^(\s*<@[A-Z0-9]+(?:\|[^>]*)?>)+/, '');
    const reply = ephemeralReply(client, { channel: event.channel, user: event.user, threadTs });
    const requestKey = `slack-${body.team_id}-${body.event_id}`;
    try {
      await runCommand(text, { actor, channel: event.channel, threadTs, reply, requestKey }, commandDeps);
    } catch (error) {
      onError(error, 'app_mention');
    }
  });

  app.action(ACTION_APPROVE, async ({ ack, body, action }) => {
    await ack();
    const clicker = clickerOf(body);
    if (!clicker) return;
    try {
      const approvalId = parseApprovalId('value' in action ? action.value : undefined);
      await decideFromSlack({ approvalId, decision: 'approve', reason: null, clicker }, approvalDeps);
    } catch (error) {
      await tellClicker(clicker, errorMessage(asCodedError(error)), approvalDeps);
    }
  });

  app.action(ACTION_DENY, async ({ ack, body, action }) => {
    await ack();
    const clicker = clickerOf(body);
    if (!clicker) return;
    try {
      const approvalId = parseApprovalId('value' in action ? action.value : undefined);
      const messageTs = 'message' in body && body.message ? String(body.message.ts) : null;
      await client.views.open({
        trigger_id: (body as { trigger_id: string }).trigger_id,
        view: renderDenyModal({ approvalId, channel: clicker.channel, messageTs }),
      });
    } catch (error) {
      await tellClicker(clicker, errorMessage(asCodedError(error)), approvalDeps);
    }
  });

  app.view(VIEW_DENY_REASON, async ({ ack, body, view }) => {
    await ack();
    const userId = body.user.id;
    const fallback: Clicker = { actor: { kind: 'slack', id: userId }, userId, channel: null };
    try {
      const target = parseDenyContext(view.private_metadata);
      const reason = parseDenyReason(view.state.values[DENY_REASON_BLOCK]?.[DENY_REASON_INPUT]?.value);
      const clicker: Clicker = { actor: { kind: 'slack', id: userId, displayName: body.user.name, ...(target.channel ? { from: target.channel } : {}) }, userId, channel: target.channel };
      await decideFromSlack({ approvalId: target.approvalId, decision: 'deny', reason, clicker }, approvalDeps);
    } catch (error) {
      await tellClicker(fallback, errorMessage(asCodedError(error)), approvalDeps);
    }
  });

  if (options.uploads) {
    registerUploadListener(app, {
      uploads: options.uploads,
      notifier,
      maxBytes: config.uploadMaxBytes ?? DEFAULT_UPLOAD_MAX_BYTES,
      allowedOrigin: allowedDownloadOrigin(config.apiUrl),
      onError,
    });
  }

  app.error(async (error) => {
    onError(error, 'listener');
  });

  return {
    app,
    client,
    notifier,
    router,
    expressApp: receiver ? receiver.app : null,
    listenerAhead:
      mode === 'http'
        ? (fallback, onAnswered) => (request, response) => {
            if (request.method !== 'POST' || request.url !== endpoint || !huntRoute) {
              fallback(request, response);
              return;
            }
            let handedOn = false;
            if (onAnswered) response.once('finish', () => handedOn || onAnswered(response.statusCode));
            if (stampedInTheFuture(request)) {
              response.writeHead(401).end();
              return;
            }
            huntRoute(request, response, () => {
              handedOn = true;
              fallback(request, response);
            });
          }
        : null,
    async start() {
      if (mode === 'socket') await app.start();
    },
    async stop() {
      if (mode === 'socket') await app.stop();
    },
  };
}

function clickerOf(body: unknown): Clicker | null {
  const payload = body as { user?: { id?: unknown; username?: unknown; name?: unknown }; channel?: { id?: unknown } };
  const userId = payload.user?.id;
  if (typeof userId !== 'string' || !SLACK_USER.test(userId)) return null;
  const channel = typeof payload.channel?.id === 'string' ? payload.channel.id : null;
  const displayName = typeof payload.user?.username === 'string' ? payload.user.username : typeof payload.user?.name === 'string' ? payload.user.name : undefined;
  return { actor: { kind: 'slack', id: userId, ...(displayName ? { displayName } : {}), ...(channel ? { from: channel } : {}) }, userId, channel };
}
