import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { AllowlistDocumentSchema, type AllowlistEntry } from '../domain/analysis/allowlist.js';
import { CodedError, ErrorCode } from '../errors.js';

/**
 * Reads allowlist files (YAML or JSON, `version: 1`), validates them strictly and merges them with the
 * shipped allowlist/default.yaml. A bad file is refused as a whole, naming the file and the field path;
 * an id defined twice is refused too, so an operator cannot silently shadow a shipped entry.
 */
export const DEFAULT_ALLOWLIST_PATH = fileURLToPath(new URL('../../allowlist/default.yaml', import.meta.url));

export function parseAllowlistText(text: string, source: string): AllowlistEntry[] {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` at line ${error.linePos[0].line}` : '';
    throw new CodedError(ErrorCode.BadInput, `${source}: not valid YAML${where}: ${(error as Error).message.split('\n')[0]}`, { source }, { cause: error });
  }
  const result = AllowlistDocumentSchema.safeParse(document);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message }));
    const first = issues[0]!;
    throw new CodedError(
      ErrorCode.SchemaViolation,
      `${source}: not a valid allowlist (version 1): ${first.path}: ${first.message}` + (issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''),
      { source, issues },
    );
  }
  return result.data.entries;
}

export async function loadAllowlistFile(path: string): Promise<AllowlistEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CodedError(ErrorCode.BadInput, `cannot read allowlist ${path}: ${(error as Error).message}`, { source: path }, { cause: error });
  }
  return parseAllowlistText(text, path);
}

/** The shipped entries (unless left out) followed by each operator file's, ids unique across all. */
export async function loadAllowlist(options: { files?: string[]; includeDefault?: boolean } = {}): Promise<AllowlistEntry[]> {
  const paths = [...(options.includeDefault === false ? [] : [DEFAULT_ALLOWLIST_PATH]), ...(options.files ?? [])];
  const entries: AllowlistEntry[] = [];
  const definedIn = new Map<string, string>();
  for (const path of paths) {
    for (const entry of await loadAllowlistFile(path)) {
      const earlier = definedIn.get(entry.id);
      if (earlier !== undefined) {
        throw new CodedError(ErrorCode.Conflict, `${path}: allowlist entry "${entry.id}" is already defined in ${earlier}`, { source: path, id: entry.id });
      }
      definedIn.set(entry.id, path);
      entries.push(entry);
    }
  }
  return entries;
}
