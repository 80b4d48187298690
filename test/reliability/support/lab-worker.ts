import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Real worker processes for the fault tests: `node bin/wmi-hunter.js worker` as a child, running
 * the project's PowerShell scripts in real pwsh over the LOCAL transport, with the lab WMI
 * emulation (test/lab/WmiLab) on the child's PSModulePath, so Get-CimInstance / Remove-CimInstance
 * read and change a repository JSON file the test can inspect.
 */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LAB_MODULES = join(REPO_ROOT, 'test', 'lab');
const BIN = join(REPO_ROOT, 'bin', 'wmi-hunter.js');

export interface LabInstance {
  namespace: string;
  className: string;
  properties: Record<string, unknown>;
}

export interface LabRepository {
  namespaces: string[];
  deniedNamespaces: string[];
  classes: Record<string, string>;
  instances: LabInstance[];
}

/** One malicious-looking subscription (filter + CommandLine consumer + binding), named by `tag`. */
export function subscription(tag: string): LabInstance[] {
  const filter = `RelFilter_${tag}`;
  const consumer = `RelConsumer_${tag}`;
  return [
    {
      namespace: 'root\\subscription',
      className: '__EventFilter',
      properties: {
        Name: filter,
        Query: "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'",
        QueryLanguage: 'WQL',
        EventNamespace: 'root\\cimv2',
      },
    },
    {
      namespace: 'root\\subscription',
      className: 'CommandLineEventConsumer',
      properties: { Name: consumer, CommandLineTemplate: `powershell.exe -NoP -W Hidden -Enc SQBFAFgA${tag}`, ExecutablePath: null, KillTimeout: 0, RunInteractively: false },
    },
    {
      namespace: 'root\\subscription',
      className: '__FilterToConsumerBinding',
      properties: {
        Filter: `__EventFilter.Name="${filter}"`,
        Consumer: `CommandLineEventConsumer.Name="${consumer}"`,
        DeliverSynchronously: false,
        DeliveryQoS: 0,
        MaintainSecurityContext: false,
        SlowDownProviders: false,
      },
    },
  ];
}

export function writeLabRepository(path: string, instances: LabInstance[]): void {
  const repository: LabRepository = { namespaces: ['root', 'root\\subscription', 'root\\cimv2'], deniedNamespaces: [], classes: {}, instances };
  writeFileSync(path, JSON.stringify(repository, null, 2));
}

export function readLabRepository(path: string): LabRepository {
  return JSON.parse(readFileSync(path, 'utf8')) as LabRepository;
}

export interface LabWorkerSettings {
  work: string;
  redisUrl: string;
  prefix: string;
  pwsh: string;
  /** Extra environment (timeouts, attempts). */
  env?: Record<string, string>;
}

/** The environment a lab worker and the test's own service share. */
export function labEnvironment(settings: LabWorkerSettings): Record<string, string> {
  mkdirSync(join(settings.work, 'evidence'), { recursive: true });
  mkdirSync(join(settings.work, 'programdata'), { recursive: true });
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    REDIS_URL: settings.redisUrl,
    REDIS_PREFIX: settings.prefix,
    REDIS_EVICTION_CHECK: 'warn',
    EVIDENCE_DIR: join(settings.work, 'evidence'),
    PLAYBOOKS_DIR: join(REPO_ROOT, 'playbooks'),
    EXECUTOR_TRANSPORT: 'local',
    EXECUTOR_SESSIONS: '1',
    PWSH_PATH: settings.pwsh,
    WORKER_CONCURRENCY: '1',
    JOB_LOCK_SECONDS: '1',
    JOB_MAX_STALLED: '100',
    JOB_ATTEMPTS: '5',
    JOB_BACKOFF_MS: '200',
    HUNT_LOOKBACK_HOURS: '0',
    SHUTDOWN_GRACE_SECONDS: '1',
    ...settings.env,
  };
}

export class LabWorker {
  private exited: Promise<number | null>;
  /** Resolves once the worker logged that it is up (its PowerShell session started, its workers ready). */
  readonly ready: Promise<void>;
  stderr = '';

  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-8_000);
    });
    this.ready = new Promise((resolve) => {
      let seen = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        seen = (seen + chunk.toString('utf8')).slice(-4_000);
        if (seen.includes('wmi-hunter started')) resolve();
      });
    });
  }

  static start(settings: LabWorkerSettings): LabWorker {
    const child = spawn(process.execPath, [BIN, 'worker'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? settings.work,
        ...labEnvironment(settings),
        LOG_LEVEL: 'info',
        PSModulePath: [LAB_MODULES, process.env.PSModulePath ?? ''].filter(Boolean).join(delimiter),
        WMI_LAB_REPO: join(settings.work, 'repository.json'),
        ProgramData: join(settings.work, 'programdata'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a kill takes the worker and its pwsh sessions down together, as
      // when a container or VM dies (an orphaned pwsh would otherwise race the next worker's).
      detached: true,
    });
    return new LabWorker(child);
  }

  /** SIGKILL to the whole group: no handler runs, no lock is released, the script stops mid-way. */
  async kill(): Promise<void> {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => void this.kill(), 10_000);
    await this.exited;
    clearTimeout(timer);
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      // the group is already gone
    }
  }
}
