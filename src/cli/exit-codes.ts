import { ErrorCode } from '../errors.js';

/** The CLI's exit codes, in one place (README and --help describe them). */
export const ExitCode = {
  /** Done; nothing High or above. */
  Ok: 0,
  /** Done; at least one finding is High or Critical. */
  FindingsHighOrAbove: 1,
  /** Bad input: unreadable or invalid files, bad options. Nothing was changed. */
  BadInput: 2,
  /** Anything else went wrong (a host, a service, a bug). */
  Failure: 3,
  /** Added to 0 or 1 when some input records could not be read: the report is partial (4 or 5). */
  PartialInput: 4,
} as const;

const BAD_INPUT_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.BadInput,
  ErrorCode.SchemaViolation,
  ErrorCode.InvalidHostName,
  ErrorCode.UnsupportedFormat,
  ErrorCode.Config,
  ErrorCode.NotFound,
  ErrorCode.Conflict,
]);

export function exitCodeForError(code: ErrorCode): number {
  return BAD_INPUT_CODES.has(code) ? ExitCode.BadInput : ExitCode.Failure;
}
