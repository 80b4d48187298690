import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { CodedError, ErrorCode } from '../errors.js';
import { assertValidHostName } from '../domain/host.js';

/**
 * How a worker reaches a Windows host: `local` (the worker is on the host), `ssh`
 * (`Invoke-Command -HostName`, works from Linux workers) or `winrm` (`-ComputerName`, optionally a
 * JEA endpoint; needs a worker on Windows). A config names secrets only by reference (a file path
 * or an environment variable name): the secret itself is read inside pwsh and never passes through
 * job data, logs or reports.
 */
const USER_NAME = /^(?:[A-Za-z0-9][A-Za-z0-9.-]{0,62}\\)?[A-Za-z0-9._$-]{1,64}(?:@[A-Za-z0-9.-]{1,253})?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** PowerShell session configuration names: a word, optionally dotted (Microsoft.PowerShell, WmiHunter.Jea). */
const CONFIGURATION_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

const FilePath = z
  .string()
  .min(1)
  .refine((value) => isAbsolute(value) || /^[A-Za-z]:\\/.test(value), 'must be an absolute path')
  .refine((value) => !/[\0\r\n]/.test(value), 'must not contain control characters');
const Port = z.number().int().min(1).max(65_535);

export const WINRM_AUTHENTICATIONS = ['Default', 'Basic', 'Negotiate', 'NegotiateWithImplicitCredential', 'Credssp', 'Digest', 'Kerberos'] as const;

export const LocalTransportSchema = z.object({ kind: z.literal('local') }).strict();

export const SshTransportSchema = z
  .object({
    kind: z.literal('ssh'),
    userName: z.string().regex(USER_NAME, 'not a valid user name'),
    keyFile: FilePath,
    port: Port.default(22),
    /** known_hosts file to check the host key against; host keys are always checked. */
    knownHostsFile: FilePath.optional(),
    connectTimeoutSeconds: z.number().int().min(1).max(300).default(15),
  })
  .strict();

export const WinRmTransportSchema = z
  .object({
    kind: z.literal('winrm'),
    useSsl: z.boolean().default(true),
    port: Port.optional(),
    authentication: z.enum(WINRM_AUTHENTICATIONS).optional(),
    /** A JEA endpoint registered from jea/ (docs/remoting.md). */
    configurationName: z.string().regex(CONFIGURATION_NAME, 'not a valid session configuration name').optional(),
    /** Without a user, the worker's own identity is used (Kerberos on a domain-joined jump host). */
    userName: z.string().regex(USER_NAME, 'not a valid user name').optional(),
    passwordFile: FilePath.optional(),
    passwordEnv: z.string().regex(ENV_NAME, 'not an environment variable name').optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.userName && !value.passwordFile && !value.passwordEnv) {
      ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'a WinRM user needs passwordFile or passwordEnv' });
    }
    if (value.passwordFile && value.passwordEnv) {
      ctx.addIssue({ code: 'custom', path: ['passwordEnv'], message: 'give passwordFile or passwordEnv, not both' });
    }
    if ((value.passwordFile || value.passwordEnv) && !value.userName) {
      ctx.addIssue({ code: 'custom', path: ['userName'], message: 'a password needs a userName' });
    }
  });

export const TransportConfigSchema = z.discriminatedUnion('kind', [LocalTransportSchema, SshTransportSchema, WinRmTransportSchema]);
export type TransportConfig = z.infer<typeof TransportConfigSchema>;
export type SshTransportConfig = z.infer<typeof SshTransportSchema>;
export type WinRmTransportConfig = z.infer<typeof WinRmTransportSchema>;

/** The transport part of a request to src/powershell/session.ps1 (field names as it reads them). */
export type RemoteInvocation =
  | { kind: 'local' }
  | { kind: 'ssh'; hostName: string; userName: string; keyFilePath: string; port: number; knownHostsFile?: string; connectTimeoutSeconds: number }
  | {
      kind: 'winrm';
      computerName: string;
      useSsl: boolean;
      port?: number;
      authentication?: string;
      configurationName?: string;
      userName?: string;
      passwordFile?: string;
      passwordEnv?: string;
    };

export function parseTransportConfig(input: unknown, source = 'transport'): TransportConfig {
  const result = TransportConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String).join('.') || '(root)';
  throw new CodedError(ErrorCode.Config, `${source}: invalid transport config: ${path}: ${issue.message}`, {
    source,
    issues: result.error.issues.map((item) => ({ path: item.path.map(String).join('.'), message: item.message })),
  });
}

/** The invocation for one host; the host name is validated before anything can run. */
export function remoteInvocationFor(config: TransportConfig, host: string): RemoteInvocation {
  const hostName = assertValidHostName(host);
  switch (config.kind) {
    case 'local':
      return { kind: 'local' };
    case 'ssh':
      return {
        kind: 'ssh',
        hostName,
        userName: config.userName,
        keyFilePath: config.keyFile,
        port: config.port,
        connectTimeoutSeconds: config.connectTimeoutSeconds,
        ...(config.knownHostsFile ? { knownHostsFile: config.knownHostsFile } : {}),
      };
    case 'winrm':
      return {
        kind: 'winrm',
        computerName: hostName,
        useSsl: config.useSsl,
        ...(config.port ? { port: config.port } : {}),
        ...(config.authentication ? { authentication: config.authentication } : {}),
        ...(config.configurationName ? { configurationName: config.configurationName } : {}),
        ...(config.userName ? { userName: config.userName } : {}),
        ...(config.passwordFile ? { passwordFile: config.passwordFile } : {}),
        ...(config.passwordEnv ? { passwordEnv: config.passwordEnv } : {}),
      };
  }
}

/** A one-line description safe for logs: it names no secret (a config holds none anyway). */
export function describeTransport(config: TransportConfig): string {
  switch (config.kind) {
    case 'local':
      return 'local';
    case 'ssh':
      return `ssh ${config.userName}@host:${config.port}`;
    case 'winrm':
      return `winrm${config.useSsl ? '+ssl' : ''}${config.configurationName ? ` (JEA ${config.configurationName})` : ''}${config.authentication ? ` ${config.authentication}` : ''}`;
  }
}
