import { CodedError, ErrorCode } from '../errors.js';
import { assertValidHostName, hostKey } from '../domain/host.js';

/**
 * The `/wmi` grammar, shared by the slash command and app mentions. Pure: text in, a typed command
 * out, or a CodedError whose `details.usage` is the usage text the user should see (privately).
 */
export const COMMAND_NAMES = ['hunt', 'status', 'report', 'trace', 'remove', 'restore', 'help'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export type HuntTarget = { kind: 'hosts'; hosts: string[] } | { kind: 'group'; group: string };

export type WmiCommand =
  | { name: 'hunt'; target: HuntTarget; lookbackHours: number | null }
  | { name: 'status'; huntId: string | null }
  | { name: 'report'; huntId: string; format: 'md' | 'json' }
  | { name: 'trace'; huntId: string; findingId: string | null }
  | { name: 'remove'; huntId: string; findingIds: string[] }
  | { name: 'restore'; backupId: string }
  | { name: 'help'; topic: CommandName | null };

export const MAX_COMMAND_LENGTH = 2_000;
export const MAX_HOSTS_PER_HUNT = 50;
export const MAX_FINDINGS_PER_REMOVAL = 50;
export const MAX_LOOKBACK_HOURS = 24 * 90;

const HUNT_ID = /^TH-WMI-\d{8}-\d{3,6}$/;
const FINDING_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const BACKUP_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const LOOKBACK = /^(\d{1,4})([hd])$/;

export const USAGE: Readonly<Record<CommandName, string>> = {
  hunt:
    '`/wmi hunt <host | host1,host2 | group:NAME> [--lookback 72h]`: hunt hosts for WMI event-subscription persistence. ' +
    `Look-back in hours (\`h\`) or days (\`d\`), at most ${MAX_LOOKBACK_HOURS}h; at most ${MAX_HOSTS_PER_HUNT} hosts.`,
  status: '`/wmi status [huntId]`: progress of a hunt (the last one started in this channel when no id is given).',
  report: '`/wmi report <huntId> [--format md|json]`: the full report as a file (Markdown unless told otherwise).',
  trace: '`/wmi trace <huntId> [finding]`: where each finding (or one finding) came from: process, parent chain, user, time.',
  remove: '`/wmi remove <huntId> [finding...]`: ask approvers to remove these findings (all High and Critical ones when none are named).',
  restore: '`/wmi restore <backupId>`: put back objects removed earlier, from their backup.',
  help: '`/wmi help [command]`: this help.',
};

export function usageText(topic: CommandName | null = null): string {
  if (topic) return USAGE[topic];
  return ['*wmi-hunter* hunts Windows hosts for WMI event-subscription persistence (T1546.003).', ...COMMAND_NAMES.map((name) => `• ${USAGE[name]}`)].join('\n');
}

function badInput(message: string, topic: CommandName | null, code: ErrorCode = ErrorCode.BadInput): CodedError {
  return new CodedError(code, message, { command: topic, usage: usageText(topic) });
}

/**
 * Slack rewrites what people type: smart dashes for `--`, no-break spaces, and (in mentions) links
 * like `<http://host01.corp|host01.corp>` for anything that looks like a domain. Undo exactly those,
 * nothing more; anything else stays as typed and is judged by the grammar.
 */
export function normalizeSlackText(text: string): string {
  return text
    .replace(/<(?:https?:\/\/)([^|<>\s]+?)\/?(?:\|([^<>]*))?>/g, (whole, target: string, label: string | undefined) => {
      if (label === undefined || label === target) return target;
      return whole;
    })
    .replace(/<mailto:[^|<>]*\|([^<>]*)>/g, '$1')
    .replace(/[\u2012\u2013\u2014\u2015\u2212](?=[A-Za-z])/g, '--')
    .replace(/[\u00a0\u2000-\u200b\u202f\u205f\u3000]/g, ' ')
    .trim();
}

function tokenize(text: string): string[] {
  return text.split(/\s+/).filter((token) => token.length > 0);
}

interface Options {
  positional: string[];
  flags: Map<string, string>;
}

function splitOptions(tokens: string[], allowed: readonly string[], topic: CommandName): Options {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let index = 0; index < tokens.length; index += 1) {
    const token = tokens[index]!;
    if (!token.startsWith('--')) {
      positional.push(token);
      continue;
    }
    const [rawName, inlineValue] = token.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const name = rawName.toLowerCase();
    if (!allowed.includes(name)) throw badInput(`unknown option \`--${rawName.slice(0, 40)}\` for \`${topic}\``, topic);
    if (flags.has(name)) throw badInput(`option \`--${name}\` given twice`, topic);
    const value = inlineValue ?? tokens[index + 1];
    if (inlineValue === undefined) index += 1;
    if (value === undefined || value.length === 0 || value.startsWith('--')) throw badInput(`option \`--${name}\` needs a value`, topic);
    flags.set(name, value);
  }
  return { positional, flags };
}

export function parseHuntId(value: string | undefined, topic: CommandName): string {
  if (value === undefined) throw badInput(`\`${topic}\` needs a hunt id (like TH-WMI-20261129-001)`, topic);
  const huntId = value.toUpperCase();
  if (!HUNT_ID.test(huntId)) throw badInput(`\`${shown(value)}\` is not a hunt id (like TH-WMI-20261129-001)`, topic);
  return huntId;
}

function parseLookback(value: string): number {
  const match = LOOKBACK.exec(value.toLowerCase());
  if (!match) throw badInput(`look-back \`${shown(value)}\` is not a duration like \`72h\` or \`3d\``, 'hunt');
  const hours = Number(match[1]) * (match[2] === 'd' ? 24 : 1);
  if (hours > MAX_LOOKBACK_HOURS) throw badInput(`look-back ${hours}h is longer than the ${MAX_LOOKBACK_HOURS}h allowed`, 'hunt');
  return hours;
}

function parseHuntTarget(value: string | undefined): HuntTarget {
  if (value === undefined) throw badInput('`hunt` needs a host, a comma-separated list of hosts, or `group:NAME`', 'hunt');
  if (value.toLowerCase().startsWith('group:')) {
    const group = value.slice('group:'.length);
    if (!GROUP_NAME.test(group)) throw badInput(`\`${shown(group)}\` is not a group name (letters, digits, \`.\`, \`_\`, \`-\`)`, 'hunt');
    return { kind: 'group', group };
  }
  const names = value.split(',');
  if (names.some((name) => name.length === 0)) throw badInput('empty host name in the list (stray comma?)', 'hunt');
  if (names.length > MAX_HOSTS_PER_HUNT) throw badInput(`${names.length} hosts is more than the ${MAX_HOSTS_PER_HUNT} one hunt may take; use a group`, 'hunt');
  const hosts: string[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    try {
      assertValidHostName(name);
    } catch (error) {
      throw badInput((error as Error).message, 'hunt', ErrorCode.InvalidHostName);
    }
    const key = hostKey(name);
    if (!seen.has(key)) {
      seen.add(key);
      hosts.push(name);
    }
  }
  return { kind: 'hosts', hosts };
}

function shown(value: string): string {
  const clipped = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  return clipped.replace(/[`<>&]/g, '?');
}

function noMoreThan(positional: string[], count: number, topic: CommandName): void {
  if (positional.length > count) throw badInput(`unexpected \`${shown(positional[count]!)}\` after \`${topic}\``, topic);
}

export function parseCommand(rawText: string): WmiCommand {
  if (typeof rawText !== 'string') throw badInput('no command text', null);
  if (rawText.length > MAX_COMMAND_LENGTH) throw badInput(`command is longer than ${MAX_COMMAND_LENGTH} characters`, null);
  const tokens = tokenize(normalizeSlackText(rawText));
  const [first, ...rest] = tokens;
  if (first === undefined) throw badInput('no command given', null);
  const name = first.toLowerCase();
  if (!isCommandName(name)) throw badInput(`unknown command \`${shown(first)}\``, null);

  switch (name) {
    case 'hunt': {
      const { positional, flags } = splitOptions(rest, ['lookback'], name);
      noMoreThan(positional, 1, name);
      const lookback = flags.get('lookback');
      return { name, target: parseHuntTarget(positional[0]), lookbackHours: lookback === undefined ? null : parseLookback(lookback) };
    }
    case 'status': {
      const { positional } = splitOptions(rest, [], name);
      noMoreThan(positional, 1, name);
      return { name, huntId: positional[0] === undefined ? null : parseHuntId(positional[0], name) };
    }
    case 'report': {
      const { positional, flags } = splitOptions(rest, ['format'], name);
      noMoreThan(positional, 1, name);
      const format = (flags.get('format') ?? 'md').toLowerCase();
      if (format !== 'md' && format !== 'json') throw badInput(`format \`${shown(format)}\` is not \`md\` or \`json\``, name);
      return { name, huntId: parseHuntId(positional[0], name), format };
    }
    case 'trace': {
      const { positional } = splitOptions(rest, [], name);
      noMoreThan(positional, 2, name);
      const findingId = positional[1] === undefined ? null : parseFindingId(positional[1], name);
      return { name, huntId: parseHuntId(positional[0], name), findingId };
    }
    case 'remove': {
      const { positional } = splitOptions(rest, [], name);
      const [huntId, ...findings] = positional;
      if (findings.length > MAX_FINDINGS_PER_REMOVAL) throw badInput(`at most ${MAX_FINDINGS_PER_REMOVAL} findings per request`, name);
      const findingIds = [...new Set(findings.map((finding) => parseFindingId(finding, name)))];
      return { name, huntId: parseHuntId(huntId, name), findingIds };
    }
    case 'restore': {
      const { positional } = splitOptions(rest, [], name);
      noMoreThan(positional, 1, name);
      const backupId = positional[0];
      if (backupId === undefined) throw badInput('`restore` needs a backup id (it is in the removal result)', name);
      if (!BACKUP_ID.test(backupId)) throw badInput(`\`${shown(backupId)}\` is not a backup id`, name);
      return { name, backupId };
    }
    case 'help': {
      const { positional } = splitOptions(rest, [], name);
      noMoreThan(positional, 1, name);
      const topic = positional[0]?.toLowerCase();
      if (topic !== undefined && !isCommandName(topic)) throw badInput(`no help on \`${shown(topic)}\``, null);
      return { name, topic: topic ?? null };
    }
  }
}

function parseFindingId(value: string, topic: CommandName): string {
  if (!FINDING_ID.test(value)) throw badInput(`\`${shown(value)}\` is not a finding id`, topic);
  return value;
}

function isCommandName(value: string): value is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(value);
}
