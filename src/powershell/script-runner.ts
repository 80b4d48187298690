import { fileURLToPath } from 'node:url';
import { CodedError, ErrorCode } from '../errors.js';
import type { RemoteInvocation } from '../transport/transport-config.js';
import { errorFromScriptFailure, refineTransportFailure, scriptFailureOf } from './exit-codes.js';
import type { SessionPool } from './session-pool.js';

export const SCRIPTS_ROOT = fileURLToPath(new URL('.', import.meta.url));

export interface ScriptInvocation {
  /** A script in the scripts root: collect, remove, restore. */
  script: string;
  /** The script's input; it reaches PowerShell only as base64 of its JSON. */
  input: unknown;
  /** The host name, for error messages (the transport carries the validated name itself). */
  host: string;
  transport: RemoteInvocation;
  timeoutMs: number;
  maxOutputChars: number;
  signal?: AbortSignal;
}

const SCRIPT_NAME = /^[a-z][a-z0-9-]*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function toBase64Json(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

/**
 * Runs the project's scripts on a pooled pwsh session. The only text written to the shell is a
 * fixed command and one base64 argument, so no input can become code.
 */
export class ScriptRunner {
  constructor(
    private readonly pool: SessionPool,
    private readonly scriptsRoot: string = SCRIPTS_ROOT,
  ) {}

  async run(invocation: ScriptInvocation): Promise<unknown> {
    if (!SCRIPT_NAME.test(invocation.script)) throw new CodedError(ErrorCode.BadInput, `not a script name: ${JSON.stringify(invocation.script)}`);
    const request = toBase64Json({
      script: invocation.script,
      scriptsRoot: this.scriptsRoot,
      argument: toBase64Json(invocation.input),
      maxOutputChars: invocation.maxOutputChars,
      transport: invocation.transport,
    });
    if (!BASE64.test(request)) throw new CodedError(ErrorCode.Internal, 'request encoding failed');
    // The session frames the document with a few characters (line ends), and the error envelope
    // for an oversized document is small: the shell-side limit is checked first, this one is the backstop.
    const raw = await this.pool.use(async (session) => {
      const output = await session.run(`Invoke-WmiHunterRequest -RequestBase64 '${request}'`, {
        timeoutMs: invocation.timeoutMs,
        maxOutputChars: invocation.maxOutputChars + 4096,
        ...(invocation.signal ? { signal: invocation.signal } : {}),
      });
      // The session writes its document as the last line; child processes of pwsh (the ssh client)
      // may write their complaints to the same stream before it.
      const lines = output.stdout.trimEnd().split(/\r?\n/);
      const document = parseDocument(lines.pop() ?? '', invocation);
      const failure = scriptFailureOf(document);
      if (failure) throw errorFromScriptFailure(refineTransportFailure(failure, `${lines.join('\n')}\n${output.stderr}`), invocation);
      return document;
    }, invocation.signal);
    return raw;
  }
}

function parseDocument(output: string, invocation: ScriptInvocation): unknown {
  const text = output.trim();
  if (text === '') throw new CodedError(ErrorCode.BadOutput, `${invocation.script} on ${invocation.host} wrote nothing`, { script: invocation.script });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CodedError(
      ErrorCode.BadOutput,
      `${invocation.script} on ${invocation.host} wrote something that is not JSON: ${(error as Error).message}`,
      { script: invocation.script, host: invocation.host, preview: text.slice(0, 200) },
    );
  }
}
