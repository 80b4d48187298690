import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type Request, type Response } from 'express';

/**
 * A fake Slack Web API on loopback for tests: every call is recorded (method, parsed body), the
 * methods the app uses answer like Slack does, and a method can be told to answer 429 with
 * Retry-After for its next N calls. Point a WebClient at `apiUrl` (`slackApiUrl`); never a real token.
 */
export interface RecordedCall {
  method: string;
  body: Record<string, unknown>;
  /** The Authorization header's token, to check which token a call used. */
  token: string | null;
  at: number;
  /** What the fake answered (ts of a posted message, file ids), once it answered. */
  response?: Record<string, unknown>;
}

export interface RecordedUpload {
  fileId: string;
  content: string;
}

/** A file shared in Slack, as a message event's `files` entry describes it. */
export interface FakeSharedFile {
  id: string;
  name: string;
  size: number;
  mimetype: string;
  filetype: string;
  mode: 'hosted';
  url_private_download: string;
}

/** One request for a hosted file: which token it carried and what the fake answered. */
export interface RecordedDownload {
  fileId: string;
  token: string | null;
  status: number;
}

export class FakeSlack {
  readonly calls: RecordedCall[] = [];
  readonly uploads: RecordedUpload[] = [];
  readonly downloads: RecordedDownload[] = [];
  /** Members per user group id (S...). */
  readonly usergroupMembers = new Map<string, string[]>();
  /** Handle (wmi-approvers) to user group id, for usergroups.list. */
  readonly usergroupHandles = new Map<string, string>();
  readonly botUserId = 'UBOTFAKE01';
  readonly botId = 'BFAKE01';
  readonly teamId = 'TFAKE01';
  private server: Server | null = null;
  private port = 0;
  private messageSeq = 0;
  private fileSeq = 0;
  private viewSeq = 0;
  private readonly rateLimited = new Map<string, { remaining: number; retryAfterSeconds: number }>();
  private readonly failing = new Map<string, string>();
  private readonly serverErrors = new Map<string, number>();
  private readonly files = new Map<string, { filename: string; title: string | null }>();
  private readonly shared = new Map<string, { name: string; content: Buffer }>();
  private sharedSeq = 0;

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  /** A response_url for slash commands; what is posted to it is recorded as method `response_url`. */
  responseUrl(id: string): string {
    return `http://127.0.0.1:${this.port}/response/${encodeURIComponent(id)}`;
  }

  async start(): Promise<this> {
    const app = express();
    app.use(express.urlencoded({ extended: true, limit: '20mb' }));
    app.use(express.json({ limit: '20mb' }));
    app.post('/upload/:fileId', express.raw({ type: () => true, limit: '50mb' }), (req, res) => {
      const fileId = String(req.params.fileId);
      if (!this.files.has(fileId)) {
        res.status(404).send('unknown file');
        return;
      }
      const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : String(req.body ?? '');
      const content = multipartFileContent(raw, String(req.headers['content-type'] ?? '')) ?? raw;
      this.uploads.push({ fileId, content });
      res.status(200).send(`OK - ${content.length}`);
    });
    app.post('/response/:id', (req, res) => {
      this.calls.push({ method: 'response_url', body: { ...normalizeBody(req.body), responseId: String(req.params.id) }, token: null, at: Date.now() });
      res.status(200).send('ok');
    });
    app.post('/api/:method', (req, res) => this.answer(req, res));
    // Like files.slack.com: a shared file's bytes, only with a bot token in the Authorization header.
    app.get('/files-pri/:teamFile/download/:name', (req, res) => {
      const fileId = String(req.params.teamFile).split('-').pop() ?? '';
      const authorization = req.headers.authorization;
      const token = typeof authorization === 'string' && authorization.startsWith('Bearer ') ? authorization.slice(7) : null;
      const file = this.shared.get(fileId);
      const status = !token || !token.startsWith('xoxb-') ? 401 : file ? 200 : 404;
      this.downloads.push({ fileId, token, status });
      if (status !== 200) {
        res.status(status).send(status === 401 ? 'not_authed' : 'file_not_found');
        return;
      }
      res.status(200).set('content-type', 'application/octet-stream').send(file!.content);
    });
    await new Promise<void>((resolve) => {
      this.server = app.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server!.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Hosts a file as if a user had uploaded it, and returns its description for a message event.
   * `declaredSize` lets a test make Slack claim another size than the bytes served.
   */
  shareFile(name: string, content: Buffer | string, options: { declaredSize?: number } = {}): FakeSharedFile {
    this.sharedSeq += 1;
    const id = `FSHARED${String(this.sharedSeq).padStart(4, '0')}${Math.random().toString(36).slice(2, 8).toUpperCase()}`;
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
    this.shared.set(id, { name, content: bytes });
    const extension = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1).toLowerCase() : 'binary';
    return {
      id,
      name,
      size: options.declaredSize ?? bytes.length,
      mimetype: 'application/octet-stream',
      filetype: extension,
      mode: 'hosted',
      url_private_download: `http://127.0.0.1:${this.port}/files-pri/${this.teamId}-${id}/download/${encodeURIComponent(name)}`,
    };
  }

  /** The next `times` calls of `method` answer HTTP 429 with `Retry-After: retryAfterSeconds`. */
  rateLimit(method: string, times: number, retryAfterSeconds = 1): void {
    this.rateLimited.set(method, { remaining: times, retryAfterSeconds });
  }

  /** The next `times` calls of `method` answer HTTP 500 (Slack having a bad moment). */
  serverError(method: string, times: number): void {
    this.serverErrors.set(method, times);
  }

  /** Every call of `method` answers `{ ok: false, error }` until cleared with `null`. */
  failWith(method: string, error: string | null): void {
    if (error === null) this.failing.delete(method);
    else this.failing.set(method, error);
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Waits until `predicate` holds over the recorded calls (polling), or fails after `timeoutMs`. */
  async waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`fake Slack: timed out waiting for ${what}; calls: ${this.calls.map((c) => c.method).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Waits until no call has arrived for `quietMs`: work started by a previous step has finished. */
  async settle(quietMs = 200, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let seen = -1;
    while (Date.now() < deadline) {
      if (this.calls.length === seen) return;
      seen = this.calls.length;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
    }
  }

  reset(): void {
    this.calls.length = 0;
    this.uploads.length = 0;
    this.downloads.length = 0;
    this.rateLimited.clear();
    this.failing.clear();
    this.serverErrors.clear();
  }

  private answer(req: Request, res: Response): void {
    const method = String(req.params.method);
    const body = normalizeBody(req.body);
    const authorization = req.headers.authorization;
    const token = typeof authorization === 'string' && authorization.startsWith('Bearer ') ? authorization.slice(7) : (typeof body.token === 'string' ? body.token : null);
    const call: RecordedCall = { method, body, token, at: Date.now() };
    this.calls.push(call);

    const limit = this.rateLimited.get(method);
    if (limit && limit.remaining > 0) {
      limit.remaining -= 1;
      call.response = { ok: false, error: 'ratelimited' };
      res.status(429).set('Retry-After', String(limit.retryAfterSeconds)).json({ ok: false, error: 'ratelimited' });
      return;
    }
    const errorsLeft = this.serverErrors.get(method) ?? 0;
    if (errorsLeft > 0) {
      this.serverErrors.set(method, errorsLeft - 1);
      call.response = { ok: false, error: 'http_500' };
      res.status(500).send('internal error');
      return;
    }
    const failure = this.failing.get(method);
    call.response = failure ? { ok: false, error: failure } : token ? this.respond(method, body) : { ok: false, error: 'not_authed' };
    res.json(call.response);
  }

  private respond(method: string, body: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://fake.invalid/', team: 'Fake', user: 'wmi-hunter', team_id: this.teamId, user_id: this.botUserId, bot_id: this.botId };
      case 'chat.postMessage': {
        const ts = this.nextTs();
        return { ok: true, channel: body.channel, ts, message: { ts, text: body.text, thread_ts: body.thread_ts } };
      }
      case 'chat.update':
        return { ok: true, channel: body.channel, ts: body.ts, text: body.text };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: this.nextTs() };
      case 'views.open': {
        this.viewSeq += 1;
        return { ok: true, view: { id: `VFAKE${this.viewSeq}`, hash: `hash-${this.viewSeq}` } };
      }
      case 'usergroups.users.list': {
        const group = String(body.usergroup ?? '');
        const users = this.usergroupMembers.get(group);
        return users ? { ok: true, users } : { ok: false, error: 'no_such_subteam' };
      }
      case 'apps.connections.open':
        // No WebSocket server here: Socket Mode tests check that the app asks with its app token.
        return { ok: false, error: 'invalid_auth' };
      case 'usergroups.list':
        return { ok: true, usergroups: [...this.usergroupHandles].map(([handle, id]) => ({ id, handle, name: handle })) };
      case 'files.getUploadURLExternal': {
        this.fileSeq += 1;
        const fileId = `FFAKE${this.fileSeq}`;
        this.files.set(fileId, { filename: String(body.filename ?? ''), title: null });
        return { ok: true, upload_url: `http://127.0.0.1:${this.port}/upload/${fileId}`, file_id: fileId };
      }
      case 'files.completeUploadExternal': {
        const files = parseJsonField(body.files);
        const listed = Array.isArray(files) ? files : [];
        return { ok: true, files: listed.map((file) => ({ id: (file as { id?: string }).id, title: (file as { title?: string }).title })) };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  private nextTs(): string {
    this.messageSeq += 1;
    return `1700000000.${String(this.messageSeq).padStart(6, '0')}`;
  }
}

/** The WebClient posts file data as multipart/form-data; the content is the first part's body. */
function multipartFileContent(raw: string, contentType: string): string | null {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const marker = boundary?.[1] ?? boundary?.[2];
  if (!marker) return null;
  const part = raw.split(`--${marker}`)[1];
  if (part === undefined) return null;
  const bodyStart = part.indexOf('\r\n\r\n');
  return bodyStart < 0 ? null : part.slice(bodyStart + 4).replace(/\r\n$/, '');
}

/** The WebClient sends form-encoded bodies whose object fields are JSON strings; decode those. */
function normalizeBody(raw: unknown): Record<string, unknown> {
  if (!raw || typeof raw !== 'object') return {};
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    body[key] = typeof value === 'string' ? parseJsonField(value) : value;
  }
  return body;
}

function parseJsonField(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (!(trimmed.startsWith('[') || trimmed.startsWith('{'))) return value;
  try {
    return JSON.parse(trimmed);
  } catch {
    return value;
  }
}

export async function startFakeSlack(): Promise<FakeSlack> {
  return new FakeSlack().start();
}
