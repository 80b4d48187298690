import { addReasons } from '../analysis/analyze.js';
import type { EventRecord, EventRef } from '../event-record.js';
import type { Execution, Finding, Origin, ProcessRef } from '../finding.js';
import { epochMs } from '../time.js';
import { EventIndex, type IndexedEvent, type ProcessEntry, type ScriptEntry, type WmiAccessEntry } from './event-index.js';
import { hostMatchKey } from './host-match.js';
import { hasAutorecoverPragma, mofInstances, sysmonValue } from './logged-text.js';
import { isFamilyEvent } from './relevant-events.js';

/**
 * The origin tracer: for each finding, the most likely activity that created it, with evidence and
 * a confidence, and whether the subscription has fired.
 *
 * Matching is on content first: the subscription's names, query or command inside a WMI client's
 * command line (wmic.exe ... CREATE, mofcomp.exe, powershell.exe / pwsh, cscript / wscript, any
 * other binary) or a PowerShell script block / pipeline record (4104 / 4103 / 800 / 400). Only
 * when nothing matches on content is a WMI client running shortly before the creation taken, on
 * time proximity, with lower confidence. Deletion commands never count as the origin.
 */
export interface TraceOptions {
  /** Autorecover MOF registrations the collector read (path and whether the file is present). */
  autorecoverMofs?: ReadonlyArray<{ path: string; present: boolean }>;
  /** MOF file text known by path (lower-cased path), e.g. recovered from the host. */
  mofTexts?: ReadonlyMap<string, string>;
  /** How far before the logged creation a process is taken on time proximity alone. */
  proximityBeforeMs?: number;
  /** How far after the logged creation (logging lag: Sysmon 19 arrives seconds late). */
  proximityAfterMs?: number;
  /** How far back a content match may lie before the creation. */
  contentLookbackMs?: number;
}

const DEFAULTS = {
  proximityBeforeMs: 120_000,
  proximityAfterMs: 30_000,
  contentLookbackMs: 7 * 24 * 3_600_000,
  contentAfterMs: 10 * 60_000,
};

const MAX_CHAIN = 16;

/** On equal content, the record closest to the code wins: a script block, then a pipeline record, then engine events. */
function scriptEvidenceWeight(eventId: number): number {
  return eventId === 4104 ? 0.3 : eventId === 4103 ? 0.2 : eventId === 800 ? 0.1 : 0;
}
const SCRIPT_EXCERPT_CHARS = 4_000;
const EXECUTION_HOSTS = new Set(['wmiprvse.exe', 'scrcons.exe']);

export function traceOrigins(findings: readonly Finding[], events: EventIndex | readonly EventRecord[], options: TraceOptions = {}): Finding[] {
  const index = events instanceof EventIndex ? events : indexOf(events);
  const wmiEventsByHost = groupByHost(index.wmiEvents);
  return findings.map((finding) => traceOne(finding, index, options, wmiEventsByHost));
}

/**
 * The subscription events of each host, in index order. Looking them up per finding instead of
 * scanning every host's events for every finding keeps a multi-host export linear: findings and
 * subscription events both grow with the number of hosts.
 */
function groupByHost(events: readonly IndexedEvent[]): Map<string, IndexedEvent[]> {
  const byHost = new Map<string, IndexedEvent[]>();
  for (const indexed of events) {
    const key = hostMatchKey(indexed.event.host);
    const list = byHost.get(key);
    if (list) list.push(indexed);
    else byHost.set(key, [indexed]);
  }
  return byHost;
}

function indexOf(events: readonly EventRecord[]): EventIndex {
  const index = new EventIndex();
  for (const event of events) index.add(event);
  return index;
}

interface Candidate {
  score: number;
  method: string;
  process: ProcessEntry | null;
  script: ScriptEntry | null;
  time: string;
  epoch: number;
  matchedOn: 'content' | 'time';
  /** For mofcomp: the script or command that wrote and compiled the MOF. */
  mofSource?: Candidate;
}

interface Terms {
  names: string[];
  texts: string[];
}

function traceOne(finding: Finding, index: EventIndex, options: TraceOptions, wmiEventsByHost: ReadonlyMap<string, IndexedEvent[]>): Finding {
  const hostKey = hostMatchKey(finding.host);
  const terms = termsOf(finding);
  const subscriptionEvidence = subscriptionEventsOf(finding, wmiEventsByHost.get(hostKey) ?? []);
  const createdEpoch = epochMs(finding.created) ?? earliestEpoch(subscriptionEvidence);
  const deletedEpoch = epochMs(finding.deleted);

  const contentMatches = [
    ...processContentMatches(index, hostKey, terms, createdEpoch),
    ...scriptContentMatches(index, hostKey, terms, createdEpoch),
  ].sort((a, b) => b.score - a.score || a.epoch - b.epoch);
  const contentBest = contentMatches[0];
  const best = contentBest ? (compiledBy(contentBest, index, hostKey, createdEpoch) ?? contentBest) : proximityMatch(index, hostKey, createdEpoch, options);

  const executions = executionsOf(finding, index, hostKey, createdEpoch, deletedEpoch);
  let origin: Origin | null = null;
  if (best) origin = originFrom(best, contentMatches, index, finding, terms, options);
  else if (subscriptionEvidence.length > 0) origin = unknownOrigin(finding, subscriptionEvidence, wmiAccessNear(index, hostKey, createdEpoch));
  if (origin) origin.executions = executions;
  else if (executions.length > 0) origin = { ...unknownOrigin(finding, subscriptionEvidence, []), executions };
  if (!origin) return finding;
  if (origin.method !== 'unknown') origin.evidence = dedupeRefs([...origin.evidence, ...subscriptionEvidence.map((e) => e.ref)]);

  let traced: Finding = {
    ...finding,
    origin,
    userContext: resolvedUser(finding.userContext, index) ?? origin.user,
    created: earliestTime(finding.created, origin.confidence === 'high' ? origin.time : null),
  };
  if (executions.length > 0 && !finding.benign) {
    const first = executions[0]!;
    traced = addReasons(traced, [
      {
        rule: 'origin.executed',
        level: 'Critical',
        message: `the subscription has fired: ${first.parentImage ?? 'WMI'} started ${first.commandLine ?? first.image ?? 'a process'} at ${first.time}${executions.length > 1 ? ` (and ${executions.length - 1} more times)` : ''}`,
      },
    ]);
  }
  if (origin.mofPath && origin.autorecover && !finding.benign) {
    traced = addReasons(traced, [
      { rule: 'origin.mof-autorecover', level: 'High', message: `installed from ${origin.mofPath}, registered for autorecover: WMI recompiles it whenever the repository is rebuilt, so removing the objects alone does not last` },
    ]);
  }
  return traced;
}

/** A raw SID as userContext becomes the account the events pair it with (4688 subjects, PowerShell users). */
function resolvedUser(user: string | null, index: EventIndex): string | null {
  if (!user || !/^S-1-\d+(?:-\d+)+$/i.test(user)) return user;
  return index.accountOf(user) ?? user;
}

function termsOf(finding: Finding): Terms {
  const names = [finding.filterName, finding.consumerName]
    .filter((name): name is string => typeof name === 'string' && name.trim().length >= 3)
    .map((name) => name.toLowerCase());
  const texts = [finding.filterQuery, actionCommand(finding.consumerAction)]
    .filter((text): text is string => typeof text === 'string' && text.trim().length >= 12)
    .map((text) => normalizeSpace(text).slice(0, 80));
  return { names: [...new Set(names)], texts };
}

/** How strongly a text names this subscription: names count, queries and commands count more. */
function contentScore(text: string, terms: Terms): number {
  const haystack = normalizeSpace(text);
  let score = 0;
  for (const name of terms.names) if (containsWord(haystack, name)) score += 3;
  for (const fragment of terms.texts) if (haystack.includes(fragment)) score += 4;
  return score;
}

function containsWord(haystack: string, word: string): boolean {
  let at = haystack.indexOf(word);
  while (at >= 0) {
    const before = haystack[at - 1];
    const after = haystack[at + word.length];
    if (!isWordChar(before) && !isWordChar(after)) return true;
    at = haystack.indexOf(word, at + 1);
  }
  return false;
}

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[a-z0-9_]/.test(ch);
}

function normalizeSpace(text: string): string {
  return text.toLowerCase().replace(/\\\\/g, '\\').replace(/\s+/g, ' ').trim();
}

/** The command of a Consumer Action line, without the analyzer's `(ExecutablePath: ...)` note. */
function actionCommand(action: string | null): string | null {
  if (!action) return null;
  return action.replace(/\s*\(ExecutablePath: .*\)$/, '');
}

const DELETION = /\bdelete\b|remove-wmiobject|remove-ciminstance|\.delete\(/i;

/** `Name='X'`, `Name = "X"`: how wmic, PowerShell hashtables and MOF text name the objects they create. */
const DECLARED_NAME = /\bname\s*=\s*(["'])(.*?)\1/gi;

/**
 * A creating command or script that names the objects it makes, none of them this subscription's,
 * made something else: a shared query text or command alone does not make it this one's origin.
 */
function namesOtherObjects(text: string, terms: Terms): boolean {
  if (terms.names.length === 0) return false;
  const declared = [...text.matchAll(DECLARED_NAME)].map((match) => match[2]!.toLowerCase());
  return declared.length > 0 && !declared.some((name) => terms.names.includes(name));
}

function methodOf(image: string | null, commandLine: string | null): string {
  const name = baseName(image ?? firstToken(commandLine ?? ''));
  if (name === 'mofcomp.exe') return 'mofcomp';
  if (name === 'wmic.exe') return 'wmic';
  if (name === 'powershell.exe' || name === 'pwsh.exe' || name === 'powershell_ise.exe') return 'powershell';
  return 'wmi-client';
}

function inWindow(epoch: number, createdEpoch: number | null, before: number, after: number): boolean {
  if (createdEpoch === null) return true;
  return epoch >= createdEpoch - before && epoch <= createdEpoch + after;
}

function processContentMatches(index: EventIndex, hostKey: string, terms: Terms, createdEpoch: number | null): Candidate[] {
  const matches: Candidate[] = [];
  for (const process of index.processesOn(hostKey)) {
    if (!process.commandLine || isExecutionHost(process.parentImage)) continue;
    if (!inWindow(process.epoch, createdEpoch, DEFAULTS.contentLookbackMs, DEFAULTS.contentAfterMs)) continue;
    if (DELETION.test(process.commandLine) || namesOtherObjects(process.commandLine, terms)) continue;
    const score = contentScore(process.commandLine, terms);
    if (score === 0) continue;
    const method = methodOf(process.image, process.commandLine);
    const creating = method === 'mofcomp' || (method === 'wmic' && /\bcreate\b/i.test(process.commandLine)) || /set-wmiinstance|new-ciminstance|\[wmiclass\]|\.put\(|__eventfilter|eventconsumer|filtertoconsumerbinding/i.test(process.commandLine);
    // Any other client (a script host, a custom binary) counts when its command carries the query
    // or command, or the name right at the creation time: a name alone elsewhere is too common.
    const otherClient =
      !creating &&
      (terms.texts.some((fragment) => normalizeSpace(process.commandLine!).includes(fragment)) ||
        (createdEpoch !== null && inWindow(process.epoch, createdEpoch, DEFAULTS.proximityBeforeMs, DEFAULTS.proximityAfterMs)));
    if (!creating && !otherClient) continue;
    matches.push({ score: creating ? score + 2 : score, method, process, script: null, time: process.time, epoch: process.epoch, matchedOn: 'content' });
  }
  return matches;
}

function scriptContentMatches(index: EventIndex, hostKey: string, terms: Terms, createdEpoch: number | null): Candidate[] {
  const matches: Candidate[] = [];
  for (const script of index.scriptsOn(hostKey)) {
    if (!inWindow(script.epoch, createdEpoch, DEFAULTS.contentLookbackMs, DEFAULTS.contentAfterMs)) continue;
    const score = contentScore(script.text, terms);
    if (score === 0) continue;
    if (DELETION.test(script.text) && !/set-wmiinstance|new-ciminstance|\.put\(|instance of/i.test(script.text)) continue;
    if (namesOtherObjects(script.text, terms)) continue;
    const process = script.pid !== null ? index.processByPid(hostKey, script.pid, script.epoch) : null;
    matches.push({ score: score + scriptEvidenceWeight(script.eventId), method: 'powershell', process, script, time: script.time, epoch: script.epoch, matchedOn: 'content' });
  }
  return matches;
}

/**
 * A script that writes MOF text and runs mofcomp creates nothing itself: the mofcomp.exe it started
 * does. That process becomes the origin, the script its MOF text and evidence.
 */
function compiledBy(match: Candidate, index: EventIndex, hostKey: string, createdEpoch: number | null): Candidate | null {
  const text = match.script?.text ?? match.process?.commandLine ?? '';
  if (match.method === 'mofcomp' || !/mofcomp/i.test(text)) return null;
  const until = createdEpoch ?? match.epoch + DEFAULTS.contentAfterMs;
  let found: ProcessEntry | null = null;
  for (const process of index.processesOn(hostKey)) {
    if (methodOf(process.image, process.commandLine) !== 'mofcomp') continue;
    if (process.epoch < match.epoch - DEFAULTS.proximityBeforeMs || process.epoch > until + DEFAULTS.proximityAfterMs) continue;
    const parentIsCreator =
      (match.script?.pid != null && process.parentPid === match.script.pid) ||
      (match.process !== null && ((match.process.guid !== null && process.parentGuid === match.process.guid) || process.parentPid === match.process.pid));
    if (parentIsCreator && (!found || process.epoch < found.epoch)) found = process;
  }
  if (!found) return null;
  // Written out rather than `{ ...match, … }`, which adds mofSource and so gets a hidden class of its own (see event-objects.ts).
  return { score: match.score, matchedOn: match.matchedOn, method: 'mofcomp', process: found, script: null, time: found.time, epoch: found.epoch, mofSource: match };
}

/** Without a content match: the WMI client that ran closest before the logged creation. */
function proximityMatch(index: EventIndex, hostKey: string, createdEpoch: number | null, options: TraceOptions): Candidate | null {
  if (createdEpoch === null) return null;
  const before = options.proximityBeforeMs ?? DEFAULTS.proximityBeforeMs;
  const after = options.proximityAfterMs ?? DEFAULTS.proximityAfterMs;
  let best: Candidate | null = null;
  const consider = (candidate: Candidate) => {
    const distance = Math.abs(createdEpoch - candidate.epoch);
    if (!best || candidate.score > best.score || (candidate.score === best.score && distance < Math.abs(createdEpoch - best.epoch))) best = candidate;
  };
  for (const process of index.processesOn(hostKey)) {
    if (!process.commandLine || isExecutionHost(process.parentImage)) continue;
    if (!inWindow(process.epoch, createdEpoch, before, after) || DELETION.test(process.commandLine)) continue;
    const method = methodOf(process.image, process.commandLine);
    const wmiLike =
      method === 'mofcomp' ||
      (method === 'wmic' && /\bcreate\b/i.test(process.commandLine)) ||
      (method === 'powershell' && /wmi|cim/i.test(process.commandLine)) ||
      (/^(?:cscript|wscript)\.exe$/.test(baseName(process.image ?? '')) && /\.(?:vbs|js|wsf)\b/i.test(process.commandLine));
    if (!wmiLike) continue;
    consider({ score: method === 'mofcomp' || method === 'wmic' ? 2 : 1, method, process, script: null, time: process.time, epoch: process.epoch, matchedOn: 'time' });
  }
  for (const script of index.scriptsOn(hostKey)) {
    if (!inWindow(script.epoch, createdEpoch, before, after)) continue;
    if (!/set-wmiinstance|new-ciminstance|\[wmiclass\]|\.put\(|register-wmievent/i.test(script.text)) continue;
    const process = script.pid !== null ? index.processByPid(hostKey, script.pid, script.epoch) : null;
    consider({ score: 1, method: 'powershell', process, script, time: script.time, epoch: script.epoch, matchedOn: 'time' });
  }
  return best;
}

function originFrom(best: Candidate, contentMatches: Candidate[], index: EventIndex, finding: Finding, terms: Terms, options: TraceOptions): Origin {
  const process = best.process;
  const script = best.script;
  const commandLine = process?.commandLine ?? script?.hostApplication ?? null;
  const related = contentMatches.filter((match) => match !== best && sameActor(match, best));
  const evidence: EventRef[] = [];
  if (script) evidence.push(script.ref);
  if (process) evidence.push(process.ref);
  for (const match of related) evidence.push((match.script ?? match.process)!.ref);
  if (script && script.pid !== null) {
    for (const other of index.scriptsOn(script.hostKey)) {
      if (other !== script && other.pid === script.pid && Math.abs(other.epoch - script.epoch) <= 600_000 && /set-wmiinstance|new-ciminstance|\[wmiclass\]|\.put\(/i.test(other.text)) {
        evidence.push(other.ref);
      }
    }
  }

  const mofPath = best.method === 'mofcomp' ? mofPathOf(commandLine ?? '') : null;
  const writer = best.mofSource;
  const writerRef = writer ? (writer.script ?? writer.process)!.ref : null;
  const mofText =
    writer && writerRef && mofInstances(writer.script?.text ?? '').length > 0
      ? { text: writer.script!.text, ref: writerRef }
      : mofPath
        ? mofTextFor(mofPath, index, best.process?.hostKey ?? hostMatchKey(finding.host), terms, options)
        : null;
  if (writerRef) evidence.push(writerRef);
  let autorecover: boolean | null = null;
  if (mofText) autorecover = hasAutorecoverPragma(mofText.text);
  if (mofPath && options.autorecoverMofs?.some((entry) => samePath(entry.path, mofPath))) autorecover = true;
  // mofcomp's -autorecover switch registers the file just as the pragma does.
  if (mofPath && /(?:^|\s)[-/]autorecover\b/i.test(commandLine ?? '')) autorecover = true;
  if (mofText) evidence.push(mofText.ref);
  const actorTimes = [best, ...related].map((match) => match.time);
  if (script && script.pid !== null) {
    // Every script in the evidence is on the script's host (content and time matches are per host).
    for (const other of index.scriptsOn(script.hostKey)) if (evidence.includes(other.ref)) actorTimes.push(other.time);
  }
  const startedAt = actorTimes.reduce((a, b) => (Date.parse(b) < Date.parse(a) ? b : a));

  let confidence: Origin['confidence'] = 'low';
  if (best.matchedOn === 'content') confidence = best.score >= 5 ? 'high' : 'medium';
  else if (best.method === 'mofcomp' || best.method === 'wmic') confidence = 'medium';
  if (mofText && contentScore(mofText.text, terms) > 0) confidence = 'high';

  return {
    method: best.method,
    process: process?.image ?? (commandLine ? firstToken(commandLine) : null),
    commandLine,
    parentChain: process ? parentChain(process, index) : [],
    user: process?.user ?? script?.user ?? null,
    logonId: process?.logonId ?? null,
    integrityLevel: process?.integrity ?? null,
    mofPath,
    autorecover,
    scriptBlock: script ? excerpt(script.text) : mofText ? excerpt(mofText.text) : null,
    time: startedAt,
    evidence: dedupeRefs(evidence),
    confidence,
    matchedOn: writer
      ? 'content: the subscription is defined in the MOF text the script wrote and compiled with mofcomp'
      : best.matchedOn === 'content'
        ? 'content: the subscription named in the creating command'
        : 'time: a WMI client ran just before the creation was logged',
    executions: [],
  };
}

/**
 * The creating events seen, with no process behind them in the data. A Security 4662 access to a
 * WMI namespace just before the creation still says which account and logon session did it.
 */
function unknownOrigin(finding: Finding, evidence: IndexedEvent[], access: WmiAccessEntry[]): Origin {
  const first = evidence[0];
  const logged = evidence.map((e) => e.event.data.User?.trim()).find((u): u is string => Boolean(u));
  const accessor = access.find((entry) => entry.user !== null);
  return {
    method: 'unknown',
    process: null,
    commandLine: null,
    parentChain: [],
    user: logged ?? accessor?.user ?? finding.userContext ?? null,
    logonId: accessor?.logonId ?? null,
    integrityLevel: null,
    mofPath: null,
    autorecover: null,
    scriptBlock: null,
    time: finding.created ?? first?.event.time ?? null,
    evidence: dedupeRefs([...evidence.map((e) => e.ref), ...access.map((entry) => entry.ref)]),
    confidence: 'low',
    matchedOn:
      access.length > 0
        ? 'none: no creating process in the data; the subscription events and a WMI namespace access (4662) just before'
        : 'none: no creating process in the data, only the subscription events',
    executions: [],
  };
}

/** Security 4662 accesses to a WMI namespace on the host in the proximity window, latest first. */
function wmiAccessNear(index: EventIndex, hostKey: string, createdEpoch: number | null): WmiAccessEntry[] {
  if (createdEpoch === null) return [];
  return index
    .wmiAccessOn(hostKey)
    .filter((entry) => inWindow(entry.epoch, createdEpoch, DEFAULTS.proximityBeforeMs, DEFAULTS.proximityAfterMs))
    .sort((a, b) => b.epoch - a.epoch);
}

function sameActor(a: Candidate, b: Candidate): boolean {
  if (a.process && b.process) {
    if (a.process.parentGuid && a.process.parentGuid === b.process.parentGuid) return true;
    if (a.process.parentPid !== null && a.process.parentPid === b.process.parentPid && Math.abs(a.epoch - b.epoch) < 600_000) return true;
  }
  if (a.script && b.script) return a.script.pid === b.script.pid && Math.abs(a.epoch - b.epoch) < 600_000;
  return false;
}

function parentChain(process: ProcessEntry, index: EventIndex): ProcessRef[] {
  const chain: ProcessRef[] = [];
  const seen = new Set<ProcessEntry>([process]);
  let current = process;
  while (chain.length < MAX_CHAIN) {
    const parent = index.parentOf(current);
    if (!parent || seen.has(parent)) {
      if (current.parentImage || current.parentCommandLine) {
        chain.push({ image: current.parentImage, commandLine: current.parentCommandLine, pid: current.parentPid, time: null });
      }
      break;
    }
    seen.add(parent);
    chain.push({ image: parent.image, commandLine: parent.commandLine, pid: parent.pid, time: parent.time });
    current = parent;
  }
  return chain;
}

/** Children of WmiPrvSE.exe / scrcons.exe whose command is the consumer's action: the subscription ran. */
function executionsOf(finding: Finding, index: EventIndex, hostKey: string, createdEpoch: number | null, deletedEpoch: number | null): Execution[] {
  const matcher = actionMatcher(finding);
  if (!matcher) return [];
  const executions: Execution[] = [];
  for (const process of index.processesOn(hostKey)) {
    if (!isExecutionHost(process.parentImage) && !(matcher.scripted && baseName(process.image ?? '') === 'scrcons.exe')) continue;
    if (createdEpoch !== null && process.epoch < createdEpoch - DEFAULTS.proximityAfterMs) continue;
    if (deletedEpoch !== null && process.epoch > deletedEpoch + 60_000) continue;
    if (!matcher.matches(process)) continue;
    executions.push({
      image: process.image,
      commandLine: process.commandLine,
      parentImage: process.parentImage,
      pid: process.pid,
      user: process.user,
      time: process.time,
      evidence: [process.ref],
    });
  }
  return executions.sort((a, b) => a.time.localeCompare(b.time));
}

function actionMatcher(finding: Finding): { scripted: boolean; matches(process: ProcessEntry): boolean } | null {
  const type = (finding.consumerType ?? '').toLowerCase();
  if (type.startsWith('activescript')) {
    return { scripted: true, matches: (process) => baseName(process.image ?? '') === 'scrcons.exe' || baseName(process.parentImage ?? '') === 'scrcons.exe' };
  }
  const command = actionCommand(finding.consumerAction);
  if (!type.startsWith('commandline') || !command) return null;
  const wanted = normalizeCommand(command);
  const pattern = new RegExp(`^${wanted.split(/%[A-Za-z_][A-Za-z0-9_.]*%/).map(escapeRegExp).join('.*?')}$`);
  const wantedImage = baseName(firstToken(command));
  return {
    scripted: false,
    matches: (process) => {
      const actual = normalizeCommand(process.commandLine ?? process.image ?? '');
      if (pattern.test(actual)) return true;
      return !/\s/.test(wanted) && baseName(process.image ?? '') === wantedImage && actual === normalizeCommand(process.image ?? '');
    },
  };
}

function normalizeCommand(text: string): string {
  return text.toLowerCase().replace(/\\\\/g, '\\').replace(/"/g, '').replace(/\s+/g, ' ').trim();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isExecutionHost(image: string | null): boolean {
  return image !== null && EXECUTION_HOSTS.has(baseName(image));
}

/** The subscription events (Sysmon 19/20/21, 5861) that name this finding's objects on its host. */
function subscriptionEventsOf(finding: Finding, hostEvents: readonly IndexedEvent[]): IndexedEvent[] {
  const names = new Set([finding.filterName, finding.consumerName].filter((n): n is string => Boolean(n)).map((n) => n.toLowerCase()));
  if (names.size === 0) return [];
  return hostEvents
    .filter((indexed) => {
      const data = indexed.event.data;
      if (isFamilyEvent(indexed.event, 'wmi-activity', 5861)) return names.has((data.ESS ?? '').trim().toLowerCase());
      if (isFamilyEvent(indexed.event, 'wmi-activity', 5859)) return false;
      if (indexed.event.eventId === 21) {
        const filter = sysmonValue(data.Filter) ?? '';
        return [...names].some((name) => filter.toLowerCase().includes(`"${name}"`));
      }
      return names.has((sysmonValue(data.Name) ?? '').toLowerCase());
    })
    .sort((a, b) => a.epoch - b.epoch);
}

function earliestEpoch(events: IndexedEvent[]): number | null {
  const created = events.filter((e) => (e.event.data.Operation ?? 'Created').trim().toLowerCase() !== 'deleted');
  return created[0]?.epoch ?? null;
}

function mofPathOf(commandLine: string): string | null {
  const quoted = /"([^"]+\.mof)"/i.exec(commandLine);
  if (quoted) return quoted[1]!;
  const bare = /(\S+\.mof)\b/i.exec(commandLine);
  return bare ? bare[1]! : null;
}

/** MOF text for a compiled file: given by the caller, or written by a script seen in the events. */
function mofTextFor(path: string, index: EventIndex, hostKey: string, terms: Terms, options: TraceOptions): { text: string; ref: EventRef } | null {
  const given = options.mofTexts?.get(path.toLowerCase());
  const fileName = baseName(path);
  for (const script of index.scriptsOn(hostKey)) {
    if (mofInstances(script.text).length === 0) continue;
    if (!script.text.toLowerCase().includes(fileName) && contentScore(script.text, terms) === 0) continue;
    return { text: given ?? script.text, ref: script.ref };
  }
  return given ? { text: given, ref: { host: hostKey, channel: 'mof', eventId: 0, recordId: null, time: '', source: path } } : null;
}

function samePath(a: string, b: string): boolean {
  return a.replace(/\//g, '\\').toLowerCase() === b.replace(/\//g, '\\').toLowerCase();
}

function excerpt(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > SCRIPT_EXCERPT_CHARS ? `${trimmed.slice(0, SCRIPT_EXCERPT_CHARS)}…` : trimmed;
}

function firstToken(commandLine: string): string {
  const text = commandLine.trim();
  if (text.startsWith('"')) {
    const end = text.indexOf('"', 1);
    return end > 0 ? text.slice(1, end) : text.slice(1);
  }
  return text.split(/\s+/, 1)[0] ?? '';
}

function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return (parts[parts.length - 1] ?? '').toLowerCase();
}

function earliestTime(a: string | null, b: string | null): string | null {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(a) <= Date.parse(b) ? a : b;
}

/** Evidence once each, in time order. */
function dedupeRefs(refs: EventRef[]): EventRef[] {
  const seen = new Set<string>();
  return refs
    .filter((ref) => {
      const key = `${ref.host}|${ref.channel}|${ref.eventId}|${ref.recordId}|${ref.time}|${ref.source ?? ''}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.time.localeCompare(b.time));
}
