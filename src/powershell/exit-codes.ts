import { CodedError, ErrorCode } from '../errors.js';

/**
 * The one mapping from the scripts' exit codes (lib/Envelope.ps1, session.ps1) to coded errors. A
 * script that fails writes `{"wmiHunterError":{"exitCode":N,"reason":"...","message":"..."}}`;
 * keep this table and the PowerShell one in step.
 */
export const SCRIPT_EXIT_CODES = {
  ok: 0,
  scriptError: 1,
  badInput: 2,
  accessDenied: 3,
  configuration: 4,
  hostUnreachable: 10,
  authenticationFailed: 11,
  outputTooLarge: 12,
} as const;

const ERROR_CODE_BY_EXIT: ReadonlyMap<number, ErrorCode> = new Map([
  [SCRIPT_EXIT_CODES.scriptError, ErrorCode.ScriptError],
  [SCRIPT_EXIT_CODES.badInput, ErrorCode.BadInput],
  [SCRIPT_EXIT_CODES.accessDenied, ErrorCode.AccessDenied],
  [SCRIPT_EXIT_CODES.configuration, ErrorCode.Config],
  [SCRIPT_EXIT_CODES.hostUnreachable, ErrorCode.HostUnreachable],
  [SCRIPT_EXIT_CODES.authenticationFailed, ErrorCode.AuthenticationFailed],
  [SCRIPT_EXIT_CODES.outputTooLarge, ErrorCode.OutputTooLarge],
]);

export function errorCodeForExit(exitCode: number): ErrorCode {
  return ERROR_CODE_BY_EXIT.get(exitCode) ?? ErrorCode.ScriptError;
}

export interface ScriptFailure {
  exitCode: number;
  reason: string;
  message: string;
}

/** The failure a script reported in its error envelope, or null when the document is a result. */
export function scriptFailureOf(document: unknown): ScriptFailure | null {
  if (typeof document !== 'object' || document === null || !('wmiHunterError' in document)) return null;
  const failure = (document as { wmiHunterError: unknown }).wmiHunterError;
  if (typeof failure !== 'object' || failure === null) return { exitCode: SCRIPT_EXIT_CODES.scriptError, reason: 'script-error', message: 'malformed error document' };
  const { exitCode, reason, message } = failure as Record<string, unknown>;
  return {
    exitCode: typeof exitCode === 'number' ? exitCode : SCRIPT_EXIT_CODES.scriptError,
    reason: typeof reason === 'string' ? reason : 'script-error',
    message: typeof message === 'string' ? message : '',
  };
}

export function errorFromScriptFailure(failure: ScriptFailure, context: { script: string; host: string }): CodedError {
  return new CodedError(
    errorCodeForExit(failure.exitCode),
    `${context.script} on ${context.host}: ${failure.reason}: ${failure.message}`,
    { script: context.script, host: context.host, exitCode: failure.exitCode, reason: failure.reason },
  );
}

/**
 * The ssh client writes why a connection failed to pwsh's stderr, while PowerShell only reports
 * that "the SSH transport process has abruptly terminated". That text decides between an
 * unreachable host and refused credentials.
 */
const AUTHENTICATION_TEXT = /permission denied|authentication failed|too many authentication failures|no supported authentication methods/i;
const UNREACHABLE_TEXT = /connection refused|could not resolve|name or service not known|no route to host|timed out|network is unreachable|host key verification failed|connection closed|connection reset/i;

export function refineTransportFailure(failure: ScriptFailure, stderr: string): ScriptFailure {
  const transportFailure = failure.exitCode === SCRIPT_EXIT_CODES.hostUnreachable || failure.exitCode === SCRIPT_EXIT_CODES.authenticationFailed;
  const text = stderr.trim();
  if (!transportFailure || text === '') return failure;
  const detail = `${failure.message} (ssh: ${text.split(/\r?\n/).filter(Boolean).slice(-3).join(' / ').slice(0, 500)})`;
  if (AUTHENTICATION_TEXT.test(text)) return { exitCode: SCRIPT_EXIT_CODES.authenticationFailed, reason: 'authentication-failed', message: detail };
  if (UNREACHABLE_TEXT.test(text)) return { exitCode: SCRIPT_EXIT_CODES.hostUnreachable, reason: 'host-unreachable', message: detail };
  return { ...failure, message: detail };
}
