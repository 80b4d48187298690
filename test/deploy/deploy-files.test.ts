import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REDIS_URL, requireService, tcpReachable } from '../support/services.js';

/**
 * No Docker engine runs in the test environment, so these tests hold the deployment files to the
 * invariants that matter: what the image and the compose services run is what the tests run.
 */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const packageJson = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined, comments and parser directives dropped. */
function dockerInstructions(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    if (pending === '' && /^\s*(#|$)/.test(line)) continue;
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  return logical.map((line) => {
    const match = /^\s*(\w+)\s+([\s\S]*)$/.exec(line);
    if (!match?.[1] || match[2] === undefined) throw new Error(`unreadable Dockerfile line: ${line}`);
    return { keyword: match[1].toUpperCase(), args: match[2].trim() };
  });
}

function execForm(args: string): string[] {
  const value = JSON.parse(args) as unknown;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new Error(`not an exec form: ${args}`);
  return value;
}

const instructions = dockerInstructions(read('Dockerfile'));
const stageStarts = instructions.flatMap((instruction, index) => (instruction.keyword === 'FROM' ? [index] : []));
const finalStage = instructions.slice(stageStarts.at(-1));
const argDefaults = new Map(
  instructions
    .filter((instruction) => instruction.keyword === 'ARG' && instruction.args.includes('='))
    .map((instruction) => instruction.args.split('=', 2) as [string, string]),
);
const resolveArgs = (text: string) => text.replace(/\$\{(\w+)\}/g, (_, name: string) => argDefaults.get(name) ?? '');
const finalEnv = new Map(
  finalStage
    .filter((instruction) => instruction.keyword === 'ENV')
    .flatMap((instruction) => [...instruction.args.matchAll(/(\w+)=(\S+)/g)].map((match) => [match[1] as string, match[2] as string])),
);

/** The build-context paths the final stage copies (not from another stage). */
function copiedSources(): string[] {
  return finalStage
    .filter((instruction) => instruction.keyword === 'COPY' && !instruction.args.includes('--from='))
    .flatMap((instruction) => instruction.args.split(/\s+/).slice(0, -1))
    .map((source) => source.replace(/^\.\//, '').replace(/\/$/, ''));
}

/** Docker's .dockerignore rule: the last pattern matching the path, or one of its parent folders, wins. */
function dockerIgnored(path: string): boolean {
  const patterns = read('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const toRegExp = (pattern: string) =>
    new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  const segments = path.split('/');
  const candidates = segments.map((_, index) => segments.slice(0, index + 1).join('/'));
  let ignored = false;
  for (const line of patterns) {
    const negated = line.startsWith('!');
    const pattern = toRegExp(negated ? line.slice(1) : line);
    const matches = negated ? pattern.test(path) : candidates.some((candidate) => pattern.test(candidate));
    if (matches) ignored = !negated;
  }
  return ignored;
}

function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) files.push(path);
    }
  };
  walk(join(REPO_ROOT, 'src'));
  return files;
}

describe('Dockerfile', () => {
  it('is multi-stage on Node 20 and installs production dependencies only', () => {
    expect(stageStarts.length).toBeGreaterThanOrEqual(2);
    for (const index of stageStarts) expect(resolveArgs(instructions[index]?.args ?? '')).toMatch(/^node:20[.-]/);
    const runs = instructions.filter((instruction) => instruction.keyword === 'RUN').map((instruction) => instruction.args);
    expect(runs.some((run) => /npm ci\b.*--omit=dev/.test(run))).toBe(true);
    expect(finalStage.some((instruction) => instruction.keyword === 'COPY' && /--from=\w+\s+\S*node_modules/.test(instruction.args))).toBe(true);
  });

  it("installs PowerShell from Microsoft's Debian package repository with apt", () => {
    const install = finalStage.find((instruction) => instruction.keyword === 'RUN' && /\bpowershell\b/.test(instruction.args));
    expect(install?.args).toMatch(/packages-microsoft-prod\.deb/);
    expect(install?.args).toMatch(/dpkg -i packages-microsoft-prod\.deb/);
    expect(install?.args).toMatch(/apt-get install -y --no-install-recommends powershell/);
    expect(install?.args).toMatch(/openssh-client/);
  });

  it('runs as a non-root user that it creates', () => {
    const users = finalStage.filter((instruction) => instruction.keyword === 'USER');
    const user = users.at(-1)?.args.split(':')[0];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    const userIndex = finalStage.lastIndexOf(users.at(-1) as Instruction);
    expect(finalStage.slice(userIndex).some((instruction) => instruction.keyword === 'RUN')).toBe(false);
    expect(finalStage.some((instruction) => instruction.keyword === 'RUN' && new RegExp(`useradd\\b.*\\b${user}\\s*$|useradd\\b.*\\s${user}\\b`).test(instruction.args))).toBe(true);
  });

  it('checks health on the HTTP port the service listens on', () => {
    const healthcheck = finalStage.find((instruction) => instruction.keyword === 'HEALTHCHECK');
    expect(healthcheck?.args).toMatch(/CMD/);
    expect(healthcheck?.args).toContain('/healthz');
    expect(healthcheck?.args).toContain('process.env.HTTP_PORT');
    const exposed = finalStage.find((instruction) => instruction.keyword === 'EXPOSE')?.args;
    expect(exposed).toBe(finalEnv.get('HTTP_PORT'));
  });

  it('has the CLI as its entrypoint and serve as the default command', () => {
    const entrypoint = execForm(finalStage.find((instruction) => instruction.keyword === 'ENTRYPOINT')?.args ?? 'null');
    expect(entrypoint.slice(-2)).toEqual(['node', '/app/bin/wmi-hunter.js']);
    expect(execForm(finalStage.find((instruction) => instruction.keyword === 'CMD')?.args ?? 'null')).toEqual(['serve']);
    expect(finalStage.find((instruction) => instruction.keyword === 'WORKDIR')?.args).toBe('/app');
  });

  it('copies what the CLI needs at run time, and .dockerignore excludes none of it', () => {
    const sources = copiedSources();
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'bin', 'src', 'playbooks']));
    for (const source of sources) {
      expect(existsSync(join(REPO_ROOT, source)), `${source} exists`).toBe(true);
      expect(dockerIgnored(source), `${source} is not in .dockerignore`).toBe(false);
    }
    for (const secret of ['.env', '.env.production', 'node_modules', '.git', 'evidence', 'secrets/ssh/id_ed25519']) {
      expect(dockerIgnored(secret), `${secret} is in .dockerignore`).toBe(true);
    }
  });

  it('copies every file that src/ reads from outside src/ at run time', () => {
    const outside = new Set<string>();
    for (const file of sourceFiles()) {
      for (const match of readFileSync(file, 'utf8').matchAll(/new URL\(\s*[`']([^`'$]+)[`'],\s*import\.meta\.url\s*\)/g)) {
        const target = relative(REPO_ROOT, join(dirname(file), match[1] as string));
        if (!target.startsWith('src/') && !target.startsWith('..')) outside.add(target);
      }
    }
    expect(outside.size).toBeGreaterThan(0);
    const sources = copiedSources();
    for (const target of outside) {
      expect(existsSync(join(REPO_ROOT, target)), `${target} exists`).toBe(true);
      expect(sources.some((source) => target === source || target.startsWith(`${source}/`)), `${target} is copied into the image`).toBe(true);
      expect(dockerIgnored(target), `${target} is not in .dockerignore`).toBe(false);
    }
  });

  it('runs the TypeScript through tsx, which is a runtime dependency', () => {
    expect(read('bin/wmi-hunter.js')).toContain("from 'tsx/esm/api'");
    expect(packageJson.dependencies).toHaveProperty('tsx');
  });

  it('has every package that src/ imports at run time among the production dependencies', () => {
    const missing = new Set<string>();
    for (const file of sourceFiles()) {
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)'/gm)) {
        const specifier = match[1] as string;
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] as string);
        if (!(name in packageJson.dependencies)) missing.add(`${name} (${relative(REPO_ROOT, file)})`);
      }
    }
    expect([...missing]).toEqual([]);
  });
});

interface ComposeService {
  image?: string;
  build?: { context?: string } | string;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string | string[];
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test?: string[] };
  restart?: string;
  depends_on?: Record<string, { condition?: string }>;
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const namedVolumeAt = (service: ComposeService, target: string) =>
  (service.volumes ?? []).map((volume) => volume.split(':')).find(([, path]) => path === target)?.[0];

describe('docker-compose.yml', () => {
  it('runs Redis 7 with AOF persistence, noeviction and a named volume', () => {
    const redis = services.redis as ComposeService;
    expect(redis.image).toMatch(/^redis:7(\.|-|$)/);
    const command = (redis.command ?? []).join(' ');
    expect(command).toMatch(/--appendonly yes\b/);
    expect(command).toMatch(/--maxmemory-policy noeviction\b/);
    const volume = namedVolumeAt(redis, '/data');
    expect(volume).toBeDefined();
    expect(compose.volumes).toHaveProperty(volume as string);
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('runs the api and the worker from one image, as serve and worker', () => {
    const api = services.api as ComposeService;
    const worker = services.worker as ComposeService;
    expect(api.image).toBeDefined();
    expect(worker.image).toBe(api.image);
    expect(worker.build).toEqual(api.build);
    expect(api.command).toEqual(['serve']);
    expect(worker.command).toEqual(['worker']);
  });

  it('gives every service a restart policy and a health check', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.restart, name).toMatch(/^(always|unless-stopped|on-failure)/);
      expect(service.healthcheck?.test?.length, name).toBeGreaterThan(1);
    }
  });

  it('checks the api on GET /healthz at the port it listens on and publishes', () => {
    const api = services.api as ComposeService;
    const port = api.environment?.HTTP_PORT;
    expect(port).toBeDefined();
    expect(api.healthcheck?.test?.join(' ')).toContain("'http://127.0.0.1:' + process.env.HTTP_PORT + '/healthz'");
    expect((api.ports ?? []).some((mapping) => mapping.endsWith(`:${port}`))).toBe(true);
  });

  it('points both roles at the Redis service, the .env file and the shared evidence volume', () => {
    for (const name of ['api', 'worker']) {
      const service = services[name] as ComposeService;
      expect(service.env_file, name).toBe('.env');
      expect(service.environment?.REDIS_URL, name).toMatch(/^redis:\/\/redis:6379\b/);
      expect(service.depends_on?.redis?.condition, name).toBe('service_healthy');
      const evidenceDir = service.environment?.EVIDENCE_DIR as string;
      const volume = namedVolumeAt(service, evidenceDir);
      expect(volume, name).toBe('evidence');
      expect(compose.volumes).toHaveProperty('evidence');
    }
  });

  it('sets only variables the service configuration knows', async () => {
    const config = await import('../../src/config/config.js');
    const known = new Set(Object.keys(config.EnvSchema.shape));
    for (const name of ['api', 'worker']) {
      for (const variable of Object.keys(services[name]?.environment ?? {})) expect(known, `${name}: ${variable}`).toContain(variable);
    }
    for (const variable of finalEnv.keys()) {
      if (!/^(NODE_ENV|HOME|POWERSHELL_|DOTNET_)/.test(variable)) expect(known, `Dockerfile ENV ${variable}`).toContain(variable);
    }
  });
});

/** Runs a health-check command (exec form, `CMD` first) the way Docker does, from /app's layout: the repo root. */
function runHealthCheck(test: readonly string[], env: Record<string, string>): Promise<number | null> {
  const [kind, command, ...args] = test;
  if (kind !== 'CMD' || !command) throw new Error(`not an exec-form health check: ${test.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(command === 'node' ? process.execPath : command, args, { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function listening(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ server: Server; port: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: String((server.address() as AddressInfo).port) };
}

async function freePort(): Promise<string> {
  const { server, port } = await listening(() => undefined);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const dockerfileCheck = ['CMD', ...execForm(finalStage.find((instruction) => instruction.keyword === 'HEALTHCHECK')?.args.replace(/^.*?CMD\s+/, '') ?? 'null')];
const apiCheck = services.api?.healthcheck?.test ?? [];
const workerCheck = services.worker?.healthcheck?.test ?? [];

describe('the health checks, run as Docker runs them', () => {
  it.each([
    ['Dockerfile HEALTHCHECK', dockerfileCheck, 'HTTP_PORT'],
    ['compose api health check', apiCheck, 'HTTP_PORT'],
    ['compose worker health check', workerCheck, 'WORKER_METRICS_PORT'],
  ] as const)('%s passes on a 200 from /healthz and fails on a 503 or a closed port', async (_, check, portVariable) => {
    const respond = (status: number) => (request: IncomingMessage, response: ServerResponse) => {
      response.statusCode = request.url === '/healthz' ? status : 404;
      response.end();
    };
    const healthy = await listening(respond(200));
    const unhealthy = await listening(respond(503));
    try {
      expect(await runHealthCheck(check, { [portVariable]: healthy.port })).toBe(0);
      expect(await runHealthCheck(check, { [portVariable]: unhealthy.port })).toBe(1);
    } finally {
      healthy.server.close();
      unhealthy.server.close();
    }
    expect(await runHealthCheck(check, { [portVariable]: await freePort() })).toBe(1);
  });

  it('checks each role on the port that role serves', () => {
    expect(services.api?.environment?.HTTP_PORT).toBeDefined();
    expect(Number(services.worker?.environment?.WORKER_METRICS_PORT)).toBeGreaterThan(0);
    expect(apiCheck.join(' ')).toContain('process.env.HTTP_PORT');
    expect(workerCheck.join(' ')).toContain('process.env.WORKER_METRICS_PORT');
  });
});

const redisUp = requireService('redis', await tcpReachable(REDIS_URL), `nothing listening at ${REDIS_URL}`);
const cliProgramExists = existsSync(join(REPO_ROOT, 'src/cli/program.ts'));
if (!cliProgramExists) console.warn('[deploy] src/cli/program.ts does not exist yet: the CLI checks are skipped');

/**
 * The roles started the way the compose services start them (their command, their environment with
 * the container paths and addresses mapped to this machine), against the test Redis.
 */
describe.skipIf(!redisUp || !cliProgramExists)('the api and worker roles, started from the image layout as docker-compose.yml starts them', () => {
  const prefix = `deploytest-${process.pid}-${Date.now()}`;
  const workDir = mkdtempSync(join(tmpdir(), 'wmi-hunter-deploy-'));
  const roles: Record<'api' | 'worker', { child: ChildProcess; env: Record<string, string>; output: string[] }> = {} as never;

  function roleEnvironment(name: 'api' | 'worker', ports: { http: string; metrics: string }): Record<string, string> {
    const env: Record<string, string> = { ...(services[name]?.environment ?? {}) };
    Object.assign(env, {
      REDIS_URL,
      REDIS_PREFIX: prefix,
      EVIDENCE_DIR: join(workDir, 'evidence'),
      PLAYBOOKS_DIR: join(REPO_ROOT, 'playbooks'),
      SSH_USER: 'wmihunter',
      SSH_KEY_FILE: join(workDir, 'ssh', 'id_ed25519'),
      SSH_KNOWN_HOSTS_FILE: join(workDir, 'ssh', 'known_hosts'),
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    });
    if ('HTTP_PORT' in env) env.HTTP_PORT = ports.http;
    if ('WORKER_METRICS_PORT' in env) env.WORKER_METRICS_PORT = ports.metrics;
    return env;
  }

  async function waitForHealth(port: string, child: ChildProcess): Promise<void> {
    for (let attempt = 0; attempt < 240 && child.exitCode === null; attempt += 1) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((response) => response.ok, () => false);
      if (ok) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`the role on port ${port} did not become healthy`);
  }

  /**
   * The image's /app, laid out from the Dockerfile's COPY lines and .dockerignore, so a file the
   * service needs but the image lacks fails here. node_modules is linked, not installed.
   */
  function stageImageApp(): string {
    const app = join(workDir, 'app');
    for (const source of copiedSources()) {
      cpSync(join(REPO_ROOT, source), join(app, source), {
        recursive: true,
        filter: (path) => !dockerIgnored(relative(REPO_ROOT, path)),
      });
    }
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
    return app;
  }

  beforeAll(async () => {
    const ports = { http: await freePort(), metrics: await freePort() };
    const app = stageImageApp();
    for (const name of ['api', 'worker'] as const) {
      const env = roleEnvironment(name, ports);
      env.PLAYBOOKS_DIR = join(app, 'playbooks');
      const command = services[name]?.command ?? [];
      const child = spawn(process.execPath, [join(app, 'bin/wmi-hunter.js'), ...command], {
        cwd: app,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? workDir, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const output: string[] = [];
      child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      roles[name] = { child, env, output };
    }
    try {
      await waitForHealth(ports.http, roles.api.child);
      await waitForHealth(ports.metrics, roles.worker.child);
    } catch (error) {
      throw new Error(`${(error as Error).message}\napi: ${roles.api.output.join('')}\nworker: ${roles.worker.output.join('')}`);
    }
  }, 90_000);

  afterAll(async () => {
    for (const { child } of Object.values(roles)) if (child.exitCode === null) child.kill('SIGKILL');
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  it('pass the Dockerfile, api and worker health checks, and the api sees the worker on the shared queues', async () => {
    expect(await runHealthCheck(dockerfileCheck, roles.api.env)).toBe(0);
    expect(await runHealthCheck(apiCheck, roles.api.env)).toBe(0);
    expect(await runHealthCheck(workerCheck, roles.worker.env)).toBe(0);
    let ready: { status?: string; workers?: number } = {};
    for (let attempt = 0; attempt < 120 && ready.status !== 'ready'; attempt += 1) {
      ready = (await (await fetch(`http://127.0.0.1:${roles.api.env.HTTP_PORT}/readyz`)).json()) as typeof ready;
      if (ready.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(ready).toMatchObject({ status: 'ready', redis: true });
    expect(ready.workers).toBeGreaterThanOrEqual(1);
  });

  it('stop on SIGTERM with exit code 0, after which their health checks fail', async () => {
    for (const name of ['api', 'worker'] as const) {
      const { child } = roles[name];
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited, `${name}: ${roles[name].output.join('')}`).toBe(0);
    }
    expect(await runHealthCheck(apiCheck, roles.api.env)).toBe(1);
    expect(await runHealthCheck(workerCheck, roles.worker.env)).toBe(1);
  }, 90_000);
});

describe.skipIf(!cliProgramExists)('the CLI the image runs', () => {
  it('offers the serve and worker commands the compose services run', () => {
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/wmi-hunter.js'), '--help'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    const commands = [...result.stdout.matchAll(/^\s{2}(\w[\w-]*)/gm)].map((match) => match[1]);
    for (const name of ['api', 'worker']) expect(commands).toContain(services[name]?.command?.[0]);
  });
});
