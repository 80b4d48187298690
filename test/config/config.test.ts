import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { EnvSchema, loadConfig, redactConfig } from '../../src/config/config.js';
import { CodedError, ErrorCode } from '../../src/errors.js';

const minimal = { REDIS_URL: 'redis://127.0.0.1:6379/0', EXECUTOR_TRANSPORT: 'local' };

function configError(env: Record<string, string>): CodedError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof CodedError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('accepts the minimal environment and fills the documented defaults', () => {
    const config = loadConfig(minimal);
    expect(config.redis).toEqual({ url: minimal.REDIS_URL, prefix: 'wmi-hunter', evictionCheck: 'refuse' });
    expect(config.http.port).toBe(8080);
    expect(config.jobs.timeoutsMs.hunt).toBe(600_000);
    expect(config.slack).toBeNull();
    expect(config.webhooks.secrets).toEqual({});
  });

  it('names every missing or bad variable in one E_CONFIG error', () => {
    const error = configError({ HTTP_PORT: 'eighty', JOB_ATTEMPTS: '0', REDIS_EVICTION_CHECK: 'maybe' });
    expect(error.code).toBe(ErrorCode.Config);
    expect(error.message).toMatch(/REDIS_URL: is required/);
    expect(error.message).toMatch(/HTTP_PORT:/);
    expect(error.message).toMatch(/JOB_ATTEMPTS:/);
    expect(error.message).toMatch(/REDIS_EVICTION_CHECK:/);
  });

  it('never prints a secret value in its errors', () => {
    const secret = 'short-secret-value';
    const token = 'tok-abcdefghijklmnopqrstuvwxyz';
    const error = configError({
      ...minimal,
      WEBHOOK_SECRET_SPLUNK: secret,
      SLACK_SIGNING_SECRET: 'x'.repeat(20),
      API_TOKENS: JSON.stringify([{ id: 'a', token, roles: ['superuser'] }]),
    });
    expect(error.message).toMatch(/WEBHOOK_SECRET_SPLUNK: must be at least 32 characters/);
    expect(error.message).toMatch(/SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET \(or SLACK_APP_TOKEN/);
    expect(error.message).toMatch(/API_TOKENS \(0\.roles\.0\)/);
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain(token);
    expect(JSON.stringify(error.details)).not.toContain(secret);
  });

  it('refuses API_TOKENS that are not JSON without echoing them', () => {
    const error = configError({ ...minimal, API_TOKENS: 'alice:admin:hunter2hunter2hunter2hunter2' });
    expect(error.message).toMatch(/API_TOKENS: must be a JSON array/);
    expect(error.message).not.toContain('hunter2');
  });

  it('reads a secret from <NAME>_FILE and refuses both forms at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wmi-config-'));
    const file = join(dir, 'splunk');
    await writeFile(file, `${'s'.repeat(40)}\n`);
    expect(loadConfig({ ...minimal, WEBHOOK_SECRET_SPLUNK_FILE: file }).webhooks.secrets.splunk).toBe('s'.repeat(40));
    const error = configError({ ...minimal, WEBHOOK_SECRET_SPLUNK_FILE: file, WEBHOOK_SECRET_SPLUNK: 'z'.repeat(40) });
    expect(error.message).toMatch(/set both directly and through WEBHOOK_SECRET_SPLUNK_FILE/);
    expect(configError({ ...minimal, API_TOKENS_FILE: join(dir, 'missing') }).message).toMatch(/API_TOKENS_FILE: cannot read the file \(ENOENT\)/);
  });

  it('builds the executor transport from its variables and names the missing ones', () => {
    expect(configError({ REDIS_URL: minimal.REDIS_URL }).message).toMatch(/SSH_USER and SSH_KEY_FILE: required when EXECUTOR_TRANSPORT is ssh/);
    expect(configError({ ...minimal, EXECUTOR_TRANSPORT: 'ssh', SSH_USER: 'hunter', SSH_KEY_FILE: 'relative/key' }).message).toMatch(/SSH_KEY_FILE: must be an absolute path/);
    const ssh = loadConfig({ ...minimal, EXECUTOR_TRANSPORT: 'ssh', SSH_USER: 'hunter', SSH_KEY_FILE: '/run/secrets/ssh_key' });
    expect(ssh.executor.transport).toEqual({ kind: 'ssh', userName: 'hunter', keyFile: '/run/secrets/ssh_key', port: 22, connectTimeoutSeconds: 15 });
    const winrm = loadConfig({ ...minimal, EXECUTOR_TRANSPORT: 'winrm', WINRM_USER: 'CORP\\svc-hunter', WINRM_PASSWORD: 'p@ss', WINRM_CONFIGURATION_NAME: 'WmiHunter.Jea' });
    expect(winrm.executor.transport).toMatchObject({ kind: 'winrm', userName: 'CORP\\svc-hunter', passwordEnv: 'WINRM_PASSWORD', configurationName: 'WmiHunter.Jea' });
    expect(JSON.stringify(winrm)).not.toContain('p@ss');
    expect(configError({ ...minimal, EXECUTOR_TRANSPORT: 'winrm', WINRM_USER: 'svc' }).message).toMatch(/WINRM_PASSWORD_FILE: a WinRM user needs passwordFile or passwordEnv/);
  });

  it('refuses invalid sweep hosts', () => {
    expect(configError({ ...minimal, SWEEP_HOSTS: 'host01, bad host' }).message).toMatch(/SWEEP_HOSTS/);
    expect(loadConfig({ ...minimal, SWEEP_HOSTS: 'host01, host02.corp.example' }).hunt.sweepHosts).toEqual(['host01', 'host02.corp.example']);
  });

  it('redacts every secret for logging', () => {
    const token = 't'.repeat(30);
    const config = loadConfig({
      ...minimal,
      WEBHOOK_SECRET_ELASTIC: 'e'.repeat(40),
      SLACK_BOT_TOKEN: 'xoxb-123-456-abcdef',
      SLACK_SIGNING_SECRET: 'f'.repeat(32),
      API_TOKENS: JSON.stringify([{ id: 'ops', token, roles: ['admin'] }]),
    });
    const shown = JSON.stringify(redactConfig(config));
    for (const secret of [token, 'e'.repeat(40), 'xoxb-123-456-abcdef', 'f'.repeat(32)]) expect(shown).not.toContain(secret);
    expect(shown).toContain('"elastic":"[redacted]"');
  });

  it('is documented variable for variable by .env.example, whose values boot once the host access is filled in', async () => {
    const text = await readFile(new URL('../../.env.example', import.meta.url), 'utf8');
    const entries = text
      .split('\n')
      .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const);
    expect(entries.map(([name]) => name).sort()).toEqual(Object.keys(EnvSchema.shape).sort());
    const config = loadConfig({ ...Object.fromEntries(entries), SSH_USER: 'hunter', SSH_KEY_FILE: '/run/secrets/ssh_key' });
    expect(config.redis.url).toBe('redis://redis:6379/0');
  });
});
