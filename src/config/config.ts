import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CodedError, ErrorCode } from '../errors.js';
import { isValidHostName } from '../domain/host.js';
import { TransportConfigSchema, WINRM_AUTHENTICATIONS, type TransportConfig } from '../transport/transport-config.js';

/**
 * The service configuration, read from the environment once at boot and validated with zod. Every
 * secret may instead come from a file named by `<NAME>_FILE` (Docker/Kubernetes secrets). Errors
 * name each bad variable and why, never its value.
 */
export const ALERT_SOURCES = ['generic', 'splunk', 'sentinel', 'defender', 'elastic'] as const;
export type AlertSource = (typeof ALERT_SOURCES)[number];

export const API_ROLES = ['viewer', 'responder', 'approver', 'admin'] as const;
export type ApiRole = (typeof API_ROLES)[number];

export const SECRET_VARIABLES = [
  'API_TOKENS',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'WINRM_PASSWORD',
  ...ALERT_SOURCES.map((source) => `WEBHOOK_SECRET_${source.toUpperCase()}`),
] as const;

const int = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1' || value === 'yes');
const optionalText = z.string().min(1).optional();
const webhookSecret = z.string().min(32, 'must be at least 32 characters').optional();

const ApiTokenSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'id: letters, digits, . _ @ - (1-64)'),
    token: z.string().min(24, 'token must be at least 24 characters'),
    roles: z.array(z.enum(API_ROLES)).min(1),
    groups: z.array(z.string().min(1)).default([]),
  })
  .strict();
export type ApiToken = z.infer<typeof ApiTokenSchema>;

const apiTokens = z
  .string()
  .default('[]')
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {id, token, roles, groups}' });
      return z.NEVER;
    }
  })
  .pipe(
    z.array(ApiTokenSchema).superRefine((tokens, ctx) => {
      const ids = new Set<string>();
      const secrets = new Set<string>();
      for (const token of tokens) {
        if (ids.has(token.id)) ctx.addIssue({ code: 'custom', message: `token id ${token.id} appears twice` });
        if (secrets.has(token.token)) ctx.addIssue({ code: 'custom', message: `token ${token.id} reuses another token's secret` });
        ids.add(token.id);
        secrets.add(token.token);
      }
    }),
  );

const hostList = z
  .string()
  .default('')
  .transform((text) => text.split(',').map((host) => host.trim()).filter(Boolean))
  .refine((hosts) => hosts.every(isValidHostName), 'every entry must be a valid host name');

export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  REDIS_URL: z.string({ message: 'is required (redis://host:6379/0)' }).regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL'),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'letters, digits, _ . - (1-40)').default('wmi-hunter'),
  REDIS_EVICTION_CHECK: z.enum(['refuse', 'warn']).default('refuse'),

  EVIDENCE_DIR: z.string().min(1).default('./evidence'),
  PLAYBOOKS_DIR: z.string().min(1).default('./playbooks'),
  DEFAULT_PLAYBOOK: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).default('wmi-persistence-hunt'),
  ALLOWLIST_FILES: z
    .string()
    .default('')
    .transform((text) => text.split(',').map((path) => path.trim()).filter(Boolean)),

  HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  HTTP_PORT: int(8080, 0, 65535),
  HTTP_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, 'a size such as 256kb or 1mb').default('256kb'),
  HTTP_TRUST_PROXY: bool(false),
  API_TOKENS: apiTokens,

  WEBHOOK_SECRET_GENERIC: webhookSecret,
  WEBHOOK_SECRET_SPLUNK: webhookSecret,
  WEBHOOK_SECRET_SENTINEL: webhookSecret,
  WEBHOOK_SECRET_DEFENDER: webhookSecret,
  WEBHOOK_SECRET_ELASTIC: webhookSecret,
  WEBHOOK_MAX_SKEW_SECONDS: int(300, 10, 3600),
  ALERT_DEDUP_TTL_HOURS: int(168, 1, 24 * 90),
  ALERT_HOST_WINDOW_MINUTES: int(60, 0, 24 * 60),

  WORKER_CONCURRENCY: int(8, 1, 1000),
  QUEUE_GLOBAL_CONCURRENCY: int(200, 1, 10_000),
  JOB_ATTEMPTS: int(3, 1, 20),
  JOB_BACKOFF_MS: int(5_000, 10, 3_600_000),
  JOB_BACKOFF_JITTER: z.coerce.number().min(0).max(1).default(0.5),
  HUNT_TIMEOUT_SECONDS: int(600, 1, 86_400),
  REMOVE_TIMEOUT_SECONDS: int(600, 1, 86_400),
  RESTORE_TIMEOUT_SECONDS: int(600, 1, 86_400),
  SHUTDOWN_GRACE_SECONDS: int(30, 0, 3_600),
  JOB_LOCK_SECONDS: int(30, 1, 3_600),
  JOB_MAX_STALLED: int(5, 0, 100),
  WORKER_METRICS_PORT: int(0, 0, 65535),

  HUNT_LOOKBACK_HOURS: int(24, 0, 24 * 90),
  HUNT_MAX_EVENTS: int(20_000, 0, 1_000_000),
  APPROVAL_TTL_MINUTES: int(240, 1, 7 * 24 * 60),
  SWEEP_HOSTS: hostList,

  EXECUTOR_TRANSPORT: z.enum(['local', 'ssh', 'winrm']).default('ssh'),
  EXECUTOR_SESSIONS: int(4, 1, 512),
  PWSH_PATH: z.string().min(1).default('pwsh'),
  SSH_USER: optionalText,
  SSH_PORT: int(22, 1, 65535),
  SSH_KEY_FILE: optionalText,
  SSH_KNOWN_HOSTS_FILE: optionalText,
  SSH_CONNECT_TIMEOUT_SECONDS: int(15, 1, 300),
  WINRM_CONFIGURATION_NAME: optionalText,
  WINRM_USE_SSL: bool(true),
  WINRM_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  WINRM_AUTHENTICATION: z.enum(WINRM_AUTHENTICATIONS).optional(),
  WINRM_USER: optionalText,
  WINRM_PASSWORD_FILE: optionalText,
  WINRM_PASSWORD: optionalText,

  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-/, 'must be a bot token (xoxb-...)').optional(),
  SLACK_SIGNING_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  SLACK_APP_TOKEN: z.string().regex(/^xapp-/, 'must be an app-level token (xapp-...)').optional(),
  SLACK_DEFAULT_CHANNEL: optionalText,
  SLACK_UPLOAD_MAX_BYTES: int(100 * 1024 * 1024, 1024, 2 * 1024 * 1024 * 1024),
  SLACK_API_URL: z
    .string()
    .regex(/^https?:\/\/\S+$/, 'must be an http(s) URL')
    .transform((url) => (url.endsWith('/') ? url : `${url}/`))
    .optional(),
  HOST_GROUPS_FILE: optionalText,
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  logLevel: Env['LOG_LEVEL'];
  redis: { url: string; prefix: string; evictionCheck: 'refuse' | 'warn' };
  evidenceDir: string;
  playbooksDir: string;
  defaultPlaybook: string;
  /** Operator allowlist files read after the shipped allowlist/default.yaml. */
  allowlistFiles: string[];
  http: { host: string; port: number; bodyLimit: string; trustProxy: boolean; apiTokens: ApiToken[] };
  webhooks: { secrets: Partial<Record<AlertSource, string>>; maxSkewSeconds: number; dedupTtlHours: number; hostWindowMinutes: number };
  jobs: {
    workerConcurrency: number;
    globalConcurrency: number;
    attempts: number;
    backoffMs: number;
    backoffJitter: number;
    timeoutsMs: { hunt: number; remove: number; restore: number };
    shutdownGraceMs: number;
    metricsPort: number;
    /** How long a dead worker keeps its jobs: after that another worker takes them over. */
    lockMs: number;
    /** How many times a job may be taken over from a dead worker before it fails. */
    maxStalled: number;
  };
  hunt: { lookbackHours: number; maxEvents: number; approvalTtlMinutes: number; sweepHosts: string[] };
  executor: {
    /** How workers reach hosts (validated by src/transport's schema). */
    transport: TransportConfig;
    sessions: number;
    pwshPath: string;
  };
  /** HTTP mode (signing secret, receiver mounted on the API) or Socket Mode (app-level token). */
  slack: { mode: 'http' | 'socket'; botToken: string; signingSecret?: string; appToken?: string; defaultChannel?: string; apiUrl?: string; uploadMaxBytes: number } | null;
  /** Named host lists for `hunt group:NAME` (HOST_GROUPS_FILE); empty when none. */
  hostGroups: Record<string, string[]>;
}

const HOST_GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_HOSTS_PER_GROUP = 10_000;

const HostGroupsSchema = z
  .record(
    z.string(),
    z
      .array(z.string().refine(isValidHostName, 'not a valid host name'))
      .min(1, 'a group needs at least one host')
      .max(MAX_HOSTS_PER_GROUP, `at most ${MAX_HOSTS_PER_GROUP} hosts per group`),
  )
  .superRefine((groups, ctx) => {
    for (const name of Object.keys(groups)) {
      if (!HOST_GROUP_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'group names: letters, digits, . _ - (1-64, starting with a letter or digit)' });
    }
  });

/** Reads HOST_GROUPS_FILE: a YAML (or JSON) map of group name to host names, every entry checked. */
function hostGroupsOf(file: string | undefined, problems: string[]): Record<string, string[]> {
  if (!file) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`HOST_GROUPS_FILE: cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return {};
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch {
    problems.push('HOST_GROUPS_FILE: is not valid YAML or JSON');
    return {};
  }
  const parsed = HostGroupsSchema.safeParse(document);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const where = issue.path.length > 0 ? ` (${issue.path.map(String).join('.')})` : '';
    problems.push(`HOST_GROUPS_FILE${where}: ${issue.code === 'invalid_type' && issue.path.length === 0 ? 'must be a map of group name to a list of host names' : issue.message}`);
  }
  return {};
}

/** Reads `<NAME>_FILE` for each secret that is not set directly; a file that cannot be read is a config error. */
function withSecretFiles(source: NodeJS.ProcessEnv, problems: string[]): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...source };
  for (const name of SECRET_VARIABLES) {
    const file = source[`${name}_FILE`];
    if (!file) continue;
    if (source[name]) {
      problems.push(`${name}: set both directly and through ${name}_FILE; keep one`);
      continue;
    }
    try {
      env[name] = readFileSync(file, 'utf8').trim();
    } catch (error) {
      problems.push(`${name}_FILE: cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  for (const [name, value] of Object.entries(env)) if (value === '') env[name] = undefined;
  return env;
}

/** Validates the environment; throws one E_CONFIG error listing every problem (variable names only). */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const env = withSecretFiles(source, problems);
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? '(environment)');
      const where = issue.path.length > 1 ? ` (${issue.path.slice(1).join('.')})` : '';
      const message = issue.code === 'invalid_type' && env[name] === undefined ? 'is required' : issue.message;
      problems.push(`${name}${where}: ${message}`);
    }
  }
  problems.push(...crossFieldProblems(env));
  const transport = parsed.success ? transportOf(parsed.data, problems) : null;
  const hostGroups = parsed.success ? hostGroupsOf(parsed.data.HOST_GROUPS_FILE, problems) : {};
  if (problems.length > 0 || !parsed.success || !transport) {
    throw new CodedError(ErrorCode.Config, `invalid configuration:\n  - ${problems.join('\n  - ')}`, { problems });
  }
  return { ...toConfig(parsed.data, transport), hostGroups };
}

/** The transport from its variables, checked by the transport's own schema. */
function transportOf(env: Env, problems: string[]): TransportConfig | null {
  const candidate =
    env.EXECUTOR_TRANSPORT === 'local'
      ? { kind: 'local' }
      : env.EXECUTOR_TRANSPORT === 'ssh'
        ? {
            kind: 'ssh',
            userName: env.SSH_USER,
            keyFile: env.SSH_KEY_FILE,
            port: env.SSH_PORT,
            connectTimeoutSeconds: env.SSH_CONNECT_TIMEOUT_SECONDS,
            ...(env.SSH_KNOWN_HOSTS_FILE ? { knownHostsFile: env.SSH_KNOWN_HOSTS_FILE } : {}),
          }
        : {
            kind: 'winrm',
            useSsl: env.WINRM_USE_SSL,
            ...(env.WINRM_PORT ? { port: env.WINRM_PORT } : {}),
            ...(env.WINRM_AUTHENTICATION ? { authentication: env.WINRM_AUTHENTICATION } : {}),
            ...(env.WINRM_CONFIGURATION_NAME ? { configurationName: env.WINRM_CONFIGURATION_NAME } : {}),
            ...(env.WINRM_USER ? { userName: env.WINRM_USER } : {}),
            ...(env.WINRM_PASSWORD_FILE ? { passwordFile: env.WINRM_PASSWORD_FILE } : {}),
            // The password stays in the environment: pwsh reads it from there, Node never holds it in job data.
            ...(env.WINRM_PASSWORD ? { passwordEnv: 'WINRM_PASSWORD' } : {}),
          };
  const result = TransportConfigSchema.safeParse(candidate);
  if (result.success) return result.data;
  const names: Record<string, string> = {
    userName: env.EXECUTOR_TRANSPORT === 'ssh' ? 'SSH_USER' : 'WINRM_USER',
    keyFile: 'SSH_KEY_FILE',
    knownHostsFile: 'SSH_KNOWN_HOSTS_FILE',
    configurationName: 'WINRM_CONFIGURATION_NAME',
    passwordFile: 'WINRM_PASSWORD_FILE',
    passwordEnv: 'WINRM_PASSWORD',
  };
  for (const issue of result.error.issues) {
    const key = String(issue.path[0] ?? '');
    problems.push(`${names[key] ?? `EXECUTOR_TRANSPORT (${key || 'transport'})`}: ${issue.message}`);
  }
  return null;
}

function crossFieldProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const slackReceiver = Boolean(env.SLACK_SIGNING_SECRET || env.SLACK_APP_TOKEN);
  if (Boolean(env.SLACK_BOT_TOKEN) !== slackReceiver) {
    problems.push('SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode): set both to enable Slack, or neither');
  }
  if ((env.EXECUTOR_TRANSPORT ?? 'ssh') === 'ssh' && !(env.SSH_USER && env.SSH_KEY_FILE)) {
    problems.push('SSH_USER and SSH_KEY_FILE: required when EXECUTOR_TRANSPORT is ssh (the default)');
  }
  if (env.WINRM_PASSWORD && env.WINRM_PASSWORD_FILE) problems.push('WINRM_PASSWORD and WINRM_PASSWORD_FILE: set one, not both');
  return problems;
}

function toConfig(env: Env, transport: TransportConfig): Omit<Config, 'hostGroups'> {
  const secrets: Partial<Record<AlertSource, string>> = {};
  for (const source of ALERT_SOURCES) {
    const secret = env[`WEBHOOK_SECRET_${source.toUpperCase()}` as `WEBHOOK_SECRET_${Uppercase<AlertSource>}`];
    if (secret) secrets[source] = secret;
  }
  return {
    env: env.NODE_ENV,
    logLevel: env.LOG_LEVEL,
    redis: { url: env.REDIS_URL, prefix: env.REDIS_PREFIX, evictionCheck: env.REDIS_EVICTION_CHECK },
    evidenceDir: env.EVIDENCE_DIR,
    playbooksDir: env.PLAYBOOKS_DIR,
    defaultPlaybook: env.DEFAULT_PLAYBOOK,
    allowlistFiles: env.ALLOWLIST_FILES,
    http: {
      host: env.HTTP_HOST,
      port: env.HTTP_PORT,
      bodyLimit: env.HTTP_BODY_LIMIT,
      trustProxy: env.HTTP_TRUST_PROXY,
      apiTokens: env.API_TOKENS,
    },
    webhooks: {
      secrets,
      maxSkewSeconds: env.WEBHOOK_MAX_SKEW_SECONDS,
      dedupTtlHours: env.ALERT_DEDUP_TTL_HOURS,
      hostWindowMinutes: env.ALERT_HOST_WINDOW_MINUTES,
    },
    jobs: {
      workerConcurrency: env.WORKER_CONCURRENCY,
      globalConcurrency: env.QUEUE_GLOBAL_CONCURRENCY,
      attempts: env.JOB_ATTEMPTS,
      backoffMs: env.JOB_BACKOFF_MS,
      backoffJitter: env.JOB_BACKOFF_JITTER,
      timeoutsMs: {
        hunt: env.HUNT_TIMEOUT_SECONDS * 1000,
        remove: env.REMOVE_TIMEOUT_SECONDS * 1000,
        restore: env.RESTORE_TIMEOUT_SECONDS * 1000,
      },
      shutdownGraceMs: env.SHUTDOWN_GRACE_SECONDS * 1000,
      metricsPort: env.WORKER_METRICS_PORT,
      lockMs: env.JOB_LOCK_SECONDS * 1000,
      maxStalled: env.JOB_MAX_STALLED,
    },
    hunt: {
      lookbackHours: env.HUNT_LOOKBACK_HOURS,
      maxEvents: env.HUNT_MAX_EVENTS,
      approvalTtlMinutes: env.APPROVAL_TTL_MINUTES,
      sweepHosts: env.SWEEP_HOSTS,
    },
    executor: { transport, sessions: env.EXECUTOR_SESSIONS, pwshPath: env.PWSH_PATH },
    slack: env.SLACK_BOT_TOKEN
      ? {
          mode: env.SLACK_SIGNING_SECRET ? 'http' : 'socket',
          botToken: env.SLACK_BOT_TOKEN,
          uploadMaxBytes: env.SLACK_UPLOAD_MAX_BYTES,
          ...(env.SLACK_SIGNING_SECRET ? { signingSecret: env.SLACK_SIGNING_SECRET } : {}),
          ...(env.SLACK_APP_TOKEN ? { appToken: env.SLACK_APP_TOKEN } : {}),
          ...(env.SLACK_DEFAULT_CHANNEL ? { defaultChannel: env.SLACK_DEFAULT_CHANNEL } : {}),
          ...(env.SLACK_API_URL ? { apiUrl: env.SLACK_API_URL } : {}),
        }
      : null,
  };
}

/** The configuration with every secret replaced by "[redacted]", for logs and `config check` output. */
export function redactConfig(config: Config): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value: unknown) => {
      if (key === 'token' || key === 'botToken' || key === 'signingSecret' || key === 'appToken') return '[redacted]';
      if (key === 'secrets' && value && typeof value === 'object') {
        return Object.fromEntries(Object.keys(value).map((source) => [source, '[redacted]']));
      }
      return value;
    }),
  );
}
