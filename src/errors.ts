/**
 * Coded errors: every error that crosses a boundary (CLI exit, HTTP response, Slack reply, job
 * failure) carries a stable `code` that tests and callers assert on. Messages are for people.
 */
export enum ErrorCode {
  BadInput = 'E_BAD_INPUT',
  SchemaViolation = 'E_SCHEMA',
  InvalidHostName = 'E_INVALID_HOST',
  UnsupportedFormat = 'E_UNSUPPORTED_FORMAT',
  Config = 'E_CONFIG',
  NotFound = 'E_NOT_FOUND',
  Conflict = 'E_CONFLICT',
  Unauthorized = 'E_UNAUTHORIZED',
  Forbidden = 'E_FORBIDDEN',
  HostUnreachable = 'E_HOST_UNREACHABLE',
  AuthenticationFailed = 'E_AUTH_FAILED',
  AccessDenied = 'E_ACCESS_DENIED',
  Timeout = 'E_TIMEOUT',
  Aborted = 'E_ABORTED',
  ScriptError = 'E_SCRIPT',
  BadOutput = 'E_BAD_OUTPUT',
  OutputTooLarge = 'E_OUTPUT_TOO_LARGE',
  ContentChanged = 'E_CONTENT_CHANGED',
  ApprovalRequired = 'E_APPROVAL_REQUIRED',
  Internal = 'E_INTERNAL',
}

export class CodedError extends Error {
  readonly code: ErrorCode;
  /** Structured, non-secret context (a field path, a host name, a file position). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CodedError';
    this.code = code;
    this.details = details;
  }

  /** Whether retrying the same operation later can help (network blips, timeouts), as opposed to bad input. */
  get transient(): boolean {
    return TRANSIENT_CODES.has(this.code);
  }
}

const TRANSIENT_CODES: ReadonlySet<ErrorCode> = new Set([ErrorCode.HostUnreachable, ErrorCode.Timeout, ErrorCode.Internal]);

export function isCodedError(value: unknown): value is CodedError {
  return value instanceof CodedError;
}

/** Wraps anything thrown into a CodedError at an edge, keeping the original as `cause`. */
export function asCodedError(value: unknown, fallback: ErrorCode = ErrorCode.Internal): CodedError {
  if (value instanceof CodedError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new CodedError(fallback, message, {}, { cause: value });
}
