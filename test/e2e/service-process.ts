import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { signWebhook } from '../../src/http/webhook-signature.js';
import { REDIS_URL } from '../support/services.js';
import { TEST_SIGNING_SECRET } from '../support/slack-signing.js';

/**
 * The service as users run it: `node bin/wmi-hunter.js serve --with-worker` in a child process,
 * configured only through its environment (real Redis under a unique prefix, the SSH lab host, the
 * fake Slack's Web API, test secrets, a fresh evidence directory). Tests then talk to it only through
 * its external interfaces: HTTP (webhooks, API, Slack endpoint) and the CLI.
 */
export const REPO_ROOT = new URL('../../', import.meta.url).pathname;
export const WEBHOOK_SECRET = 'e2e-webhook-secret-0123456789abcdef0123456789';
export const ADMIN_TOKEN = `e2e-admin-${randomUUID()}`;
export const FAKE_BOT_TOKEN = 'xoxb-e2e-not-a-real-token';
export const LAB_GROUP = 'lab';

export interface Lab {
  host: string;
  port: string;
  user: string;
  key: string;
  knownHosts: string;
  repo: string;
}

export function labFromEnv(env: NodeJS.ProcessEnv = process.env): Lab | null {
  const { WMI_LAB_SSH_HOST, WMI_LAB_SSH_PORT, WMI_LAB_SSH_USER, WMI_LAB_SSH_KEY, WMI_LAB_SSH_KNOWN_HOSTS, WMI_LAB_REPO } = env;
  if (!(WMI_LAB_SSH_HOST && WMI_LAB_SSH_PORT && WMI_LAB_SSH_USER && WMI_LAB_SSH_KEY && WMI_LAB_SSH_KNOWN_HOSTS && WMI_LAB_REPO)) return null;
  return { host: WMI_LAB_SSH_HOST, port: WMI_LAB_SSH_PORT, user: WMI_LAB_SSH_USER, key: WMI_LAB_SSH_KEY, knownHosts: WMI_LAB_SSH_KNOWN_HOSTS, repo: WMI_LAB_REPO };
}

/**
 * A lab host of the e2e run's own (test/lab/setup.sh with a fresh workdir: its own account, sshd
 * and repository), so tests running in parallel against the shared lab host never see its changes.
 */
export function startPrivateLab(work: string): Lab {
  const output = execFileSync('bash', [join(REPO_ROOT, 'test/lab/setup.sh'), join(work, 'lab')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  const exported: Record<string, string> = {};
  for (const match of output.matchAll(/^export (WMI_LAB_[A-Z_]+)=(\S+)$/gm)) exported[match[1]!] = match[2]!.replace(/^'|'$/g, '');
  const lab = labFromEnv(exported);
  if (!lab) throw new Error(`test/lab/setup.sh printed no lab host:\n${output}`);
  return lab;
}

export function stopPrivateLab(work: string): void {
  execFileSync('bash', [join(REPO_ROOT, 'test/lab/teardown.sh'), join(work, 'lab')], { stdio: 'ignore', timeout: 60_000 });
}

/** The environment of every wmi-hunter process of one e2e run: nothing inherited but PATH and HOME. */
export function serviceEnvironment(options: { lab: Lab; pwsh: string; slackApiUrl: string; alertChannel: string; work: string }): Record<string, string> {
  const { work } = options;
  const groups = join(work, 'host-groups.yaml');
  writeFileSync(groups, `${LAB_GROUP}:\n  - ${options.lab.host}\n`);
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? work,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    REDIS_URL,
    REDIS_PREFIX: `e2e-${randomUUID().slice(0, 8)}`,
    // The shared test Redis may not be configured noeviction; the check itself is tested elsewhere.
    REDIS_EVICTION_CHECK: 'warn',
    EVIDENCE_DIR: join(work, 'evidence'),
    WMI_HUNTER_STATE_DIR: join(work, 'state'),
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    API_TOKENS: JSON.stringify([{ id: 'e2e-admin', token: ADMIN_TOKEN, roles: ['admin'], groups: ['wmi-approvers'] }]),
    WEBHOOK_SECRET_GENERIC: WEBHOOK_SECRET,
    ALERT_HOST_WINDOW_MINUTES: '0',
    WORKER_CONCURRENCY: '2',
    EXECUTOR_SESSIONS: '2',
    JOB_ATTEMPTS: '2',
    JOB_BACKOFF_MS: '500',
    EXECUTOR_TRANSPORT: 'ssh',
    PWSH_PATH: options.pwsh,
    SSH_USER: options.lab.user,
    SSH_KEY_FILE: options.lab.key,
    SSH_PORT: options.lab.port,
    SSH_KNOWN_HOSTS_FILE: options.lab.knownHosts,
    SSH_CONNECT_TIMEOUT_SECONDS: '20',
    SLACK_BOT_TOKEN: FAKE_BOT_TOKEN,
    SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
    SLACK_API_URL: options.slackApiUrl,
    SLACK_DEFAULT_CHANNEL: options.alertChannel,
    HOST_GROUPS_FILE: groups,
  };
}

export interface ServiceProcess {
  baseUrl: string;
  output(): string;
  stop(): Promise<void>;
}

export function workDirectory(): string {
  return mkdtempSync(join(tmpdir(), 'wmi-e2e-'));
}

/** Deletes what the run left in Redis (its keys under the prefix) and on disk (evidence, state). */
export async function cleanUp(env: Record<string, string>, work: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${env.REDIS_PREFIX}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  await rm(work, { recursive: true, force: true });
}

/** Starts `wmi-hunter serve --with-worker` and resolves once it logged that it is up (with its port). */
export async function startServiceProcess(env: Record<string, string>, timeoutMs = 90_000): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/wmi-hunter.js'), 'serve', '--with-worker'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const started = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the service did not start within ${timeoutMs} ms:\n${output.slice(-4000)}`)), timeoutMs);
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const entry = parseLogLine(line);
        if (entry?.msg === 'wmi-hunter started' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve(entry.port);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited with ${code} before it started:\n${output.slice(-4000)}`));
    });
  });
  let port: number;
  try {
    port = await started;
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: () => stopChild(child),
  };
}

function parseLogLine(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** Runs the real CLI (`node bin/wmi-hunter.js <args>`) with the service's environment. */
export function runCliProcess(args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/wmi-hunter.js'), ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wmi-hunter ${args.join(' ')} did not finish within ${timeoutMs} ms:\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** POSTs an alert to the webhook as a SIEM does: HMAC-SHA256 over `<timestamp>.<body>`. */
export async function postSignedAlert(baseUrl: string, source: string, alert: Record<string, unknown>, secret = WEBHOOK_SECRET): Promise<{ status: number; json: Record<string, unknown> }> {
  const body = JSON.stringify(alert);
  const timestamp = Math.floor(Date.now() / 1000);
  const response = await fetch(`${baseUrl}/v1/alerts/${source}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-wmi-hunter-timestamp': String(timestamp), 'x-wmi-hunter-signature': signWebhook(secret, timestamp, body) },
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** GET on the HTTP API with the admin token. */
export async function api<T>(baseUrl: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; json: T }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return { status: response.status, json: (await response.json()) as T };
}

/** Polls `probe` until it returns a value, or fails naming `what` after `timeoutMs`. */
export async function until<T>(probe: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
