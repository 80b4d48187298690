import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './recorded-events.js';

/** The detection content as shipped: detections/{sigma,splunk,kql}, examples/alerts and playbooks/. */
export const DETECTIONS_DIR = join(REPO_ROOT, 'detections');
export const EXAMPLES_DIR = join(REPO_ROOT, 'examples', 'alerts');
export const PLAYBOOKS_DIR = join(REPO_ROOT, 'playbooks');

/** The playbooks the issue names, used only while playbooks/ holds no playbook files yet. */
export const NAMED_PLAYBOOKS = ['wmi-persistence-hunt', 'wmiprvse-child-triage', 'mofcomp-execution-triage', 'wmi-subscription-sweep'] as const;

export interface SigmaFile {
  file: string;
  text: string;
  rule: Record<string, unknown>;
}

export function listFiles(dir: string, extension: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(extension))
    .sort();
}

export function sigmaRules(): SigmaFile[] {
  const dir = join(DETECTIONS_DIR, 'sigma');
  return listFiles(dir, '.yml').map((file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    return { file, text, rule: parse(text) as Record<string, unknown> };
  });
}

/** Playbook names as the service will load them: `name` in each playbooks/*.yaml, else the file name. */
export function playbookNames(): { names: string[]; fromFiles: boolean } {
  const files = [...listFiles(PLAYBOOKS_DIR, '.yaml'), ...listFiles(PLAYBOOKS_DIR, '.yml')];
  if (files.length === 0) return { names: [...NAMED_PLAYBOOKS], fromFiles: false };
  const names = files.map((file) => {
    const document = parse(readFileSync(join(PLAYBOOKS_DIR, file), 'utf8')) as { name?: unknown } | null;
    return typeof document?.name === 'string' ? document.name : basename(file).replace(/\.ya?ml$/, '');
  });
  return { names, fromFiles: true };
}

/** The `key: value` header of a Splunk (``` block) or KQL (`//` lines) file. */
export function searchHeader(text: string, kind: 'spl' | 'kql'): Record<string, string> {
  const lines = text.split('\n');
  let headerLines: string[];
  if (kind === 'spl') {
    if (lines[0]?.trim() !== '```') return {};
    const end = lines.indexOf('```', 1);
    headerLines = end > 0 ? lines.slice(1, end) : [];
  } else {
    const end = lines.findIndex((line) => !line.startsWith('//'));
    headerLines = lines.slice(0, end < 0 ? lines.length : end).map((line) => line.replace(/^\/\/ ?/, ''));
  }
  const header: Record<string, string> = {};
  for (const line of headerLines) {
    const match = /^([a-z][a-z ]*[a-z]):\s+(.+)$/.exec(line);
    if (match?.[1] && match[2]) header[match[1]] = match[2].trim();
  }
  return header;
}

/** The search or query itself, without its header. */
export function searchBody(text: string, kind: 'spl' | 'kql'): string {
  const lines = text.split('\n');
  if (kind === 'spl') return lines.slice(lines.indexOf('```', 1) + 1).join('\n').trim();
  return lines.filter((line) => !line.startsWith('//')).join('\n').trim();
}
