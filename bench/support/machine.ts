import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem, type as osType, release } from 'node:os';
import { findPwsh, findRedisServer, pwshVersion } from './tools.js';

/** What the numbers were measured on: they mean little without it. */
export interface MachineDescription {
  date: string;
  os: string;
  cpuModel: string;
  cores: number;
  memoryGb: number;
  loadAverageAtStart: number[];
  node: string;
  redis: string | null;
  pwsh: string | null;
}

export function describeMachine(): MachineDescription {
  const redisServer = findRedisServer();
  const redis = redisServer ? (/v=(\S+)/.exec(spawnSync(redisServer, ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? null) : null;
  const pwsh = findPwsh();
  return {
    date: new Date().toISOString(),
    os: `${osType()} ${release()}`,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
    node: process.version,
    redis,
    pwsh: pwsh ? pwshVersion(pwsh) : null,
  };
}
