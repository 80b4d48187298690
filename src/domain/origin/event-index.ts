import { eventRef, type EventRecord, type EventRef } from '../event-record.js';
import { epochMs } from '../time.js';
import { accountName, MACHINE_ACCOUNT_LOGON, nonEmpty } from './event-fields.js';
import { hostMatchKey } from './host-match.js';
import { isFamilyEvent, isUsedEvent, WMI_CREATION_PATTERN } from './relevant-events.js';
import { SidAccounts } from './sid-accounts.js';

/**
 * What the reconstruction and the tracer keep of a stream of events, compactly:
 * - every WMI subscription event (Sysmon 19/20/21, WMI-Activity 5859/5861): few, kept whole;
 * - one small entry per process creation (Sysmon 1, Security 4688), strings interned, command
 *   lines capped, the oldest dropped beyond `maxProcesses` (counted in `evictedProcesses`);
 * - PowerShell events (4103/4104/400/800) only when their text shows WMI object creation;
 * - Security 4662 only for the WMI object server.
 * Everything else is dropped on arrival. Memory therefore grows with the number of processes (up
 * to the cap), never with the size of the input.
 */
export interface ProcessEntry {
  hostKey: string;
  host: string;
  guid: string | null;
  pid: number | null;
  parentGuid: string | null;
  parentPid: number | null;
  image: string | null;
  commandLine: string | null;
  parentImage: string | null;
  parentCommandLine: string | null;
  user: string | null;
  logonId: string | null;
  integrity: string | null;
  time: string;
  epoch: number;
  ref: EventRef;
}

export interface ScriptEntry {
  hostKey: string;
  eventId: number;
  time: string;
  epoch: number;
  /** The script block, pipeline payload or command text. */
  text: string;
  hostApplication: string | null;
  user: string | null;
  pid: number | null;
  ref: EventRef;
}

export interface WmiAccessEntry {
  hostKey: string;
  time: string;
  epoch: number;
  user: string | null;
  logonId: string | null;
  objectName: string | null;
  ref: EventRef;
}

export interface IndexedEvent {
  event: EventRecord;
  ref: EventRef;
  epoch: number;
}

export interface EventIndexOptions {
  maxProcesses?: number;
  maxCommandLineChars?: number;
  maxScriptChars?: number;
  /**
   * SID-to-account names learned by the caller from every event of the input, in the order read:
   * for an index that holds only some hosts of an input traced in parts. The index then only reads
   * them; without it the index learns them from the events it is given.
   */
  accounts?: SidAccounts;
}

/** What the index keeps an event as; null for events of no kind it holds. */
type KeptKind = 'wmi-event' | 'sysmon-process' | 'security-process' | 'script' | 'wmi-access';

/**
 * The one place that says which events the index holds, read by `add` and by `isIndexable`:
 * WMI-Activity 5857/5858/5860, and PowerShell records that create no WMI object, pass the readers'
 * filter but are not kept.
 */
function keptKindOf(event: EventRecord): KeptKind | null {
  if (isFamilyEvent(event, 'sysmon', 19, 20, 21) || isFamilyEvent(event, 'wmi-activity', 5859, 5861)) return 'wmi-event';
  if (isFamilyEvent(event, 'sysmon', 1)) return 'sysmon-process';
  if (isFamilyEvent(event, 'security', 4688)) return 'security-process';
  if (isFamilyEvent(event, 'powershell', 400, 800, 4103, 4104)) return WMI_CREATION_PATTERN.test(scriptTextOf(event)) ? 'script' : null;
  if (isFamilyEvent(event, 'security', 4662)) return 'wmi-access';
  return null;
}

/** Whether `add` keeps anything of an event: a used event with a readable time, of a kind the index holds. */
export function isIndexable(event: EventRecord): boolean {
  return isUsedEvent(event) && epochMs(event.time) !== null && keptKindOf(event) !== null;
}

/** A PowerShell record's text: every field but ContextInfo, in order. */
function scriptTextOf(event: EventRecord): string {
  return Object.entries(event.data)
    .filter(([name]) => name !== 'ContextInfo')
    .map(([, value]) => value)
    .join('\n');
}

export class EventIndex {
  readonly wmiEvents: IndexedEvent[] = [];
  readonly scripts: ScriptEntry[] = [];
  readonly wmiAccess: WmiAccessEntry[] = [];
  evictedProcesses = 0;
  eventsSeen = 0;

  private readonly processes = new Map<string, ProcessEntry>();
  /**
   * The same entries per host, in the order they were added: the tracer asks for one host's
   * processes and scripts per finding, and findings grow with hosts, so a scan of every host's
   * entries per finding made a multi-host export quadratic.
   */
  private readonly processesByHost = new Map<string, Map<string, ProcessEntry>>();
  private readonly scriptsByHost = new Map<string, ScriptEntry[]>();
  private readonly wmiAccessByHost = new Map<string, WmiAccessEntry[]>();
  private readonly byPid = new Map<string, string[]>();
  private readonly strings = new Map<string, string>();
  private readonly accounts: SidAccounts;
  private readonly learnsAccounts: boolean;
  private readonly maxProcesses: number;
  private readonly maxCommandLineChars: number;
  private readonly maxScriptChars: number;
  private sequence = 0;

  constructor(options: EventIndexOptions = {}) {
    this.maxProcesses = options.maxProcesses ?? 250_000;
    this.maxCommandLineChars = options.maxCommandLineChars ?? 32_768;
    this.maxScriptChars = options.maxScriptChars ?? 65_536;
    this.accounts = options.accounts ?? new SidAccounts();
    this.learnsAccounts = options.accounts === undefined;
  }

  /** The account name events logged next to a SID (4688's subject), when one did. */
  accountOf(sid: string): string | null {
    return this.accounts.nameOf(sid);
  }

  get processCount(): number {
    return this.processes.size;
  }

  add(event: EventRecord, source?: string | null): void {
    if (!isUsedEvent(event)) return;
    const epoch = epochMs(event.time);
    if (epoch === null) return;
    this.eventsSeen += 1;
    const kind = keptKindOf(event);
    if (kind === null) return;
    const ref = eventRef(event, source);
    if (kind === 'wmi-event') {
      this.wmiEvents.push({ event, ref, epoch });
    } else if (kind === 'sysmon-process') {
      this.addProcess(this.sysmonProcess(event, ref, epoch));
    } else if (kind === 'security-process') {
      this.addProcess(this.securityProcess(event, ref, epoch));
    } else if (kind === 'script') {
      this.addScript(event, ref, epoch);
    } else {
      const access: WmiAccessEntry = {
        hostKey: hostMatchKey(event.host),
        time: event.time,
        epoch,
        user: accountName(event.data.SubjectDomainName, event.data.SubjectUserName),
        logonId: event.data.SubjectLogonId ?? null,
        objectName: event.data.ObjectName ?? null,
        ref,
      };
      this.wmiAccess.push(access);
      appendTo(this.wmiAccessByHost, access.hostKey, access);
    }
  }

  /** Every process on a host, in the order they were added. */
  processesOn(hostKey: string): Iterable<ProcessEntry> {
    return this.processesByHost.get(hostKey)?.values() ?? [];
  }

  /** The kept PowerShell records of a host, in the order they were added. */
  scriptsOn(hostKey: string): readonly ScriptEntry[] {
    return this.scriptsByHost.get(hostKey) ?? [];
  }

  /** The WMI object-server accesses (4662) of a host, in the order they were added. */
  wmiAccessOn(hostKey: string): readonly WmiAccessEntry[] {
    return this.wmiAccessByHost.get(hostKey) ?? [];
  }

  /** The parent of a process: by ParentProcessGuid, else the latest process with its parent pid started before it. */
  parentOf(child: ProcessEntry): ProcessEntry | null {
    if (child.parentGuid) {
      const byGuid = this.processes.get(`${child.hostKey}|${child.parentGuid.toLowerCase()}`);
      if (byGuid) return byGuid;
    }
    if (child.parentPid === null) return null;
    return this.processByPid(child.hostKey, child.parentPid, child.epoch);
  }

  /** The latest process with this pid started at or before `atEpoch` (pids are reused over time). */
  processByPid(hostKey: string, pid: number, atEpoch: number): ProcessEntry | null {
    const keys = this.byPid.get(`${hostKey}|${pid}`);
    if (!keys) return null;
    let best: ProcessEntry | null = null;
    for (const key of keys) {
      const entry = this.processes.get(key);
      if (entry && entry.epoch <= atEpoch && (!best || entry.epoch > best.epoch)) best = entry;
    }
    return best;
  }

  private addProcess(entry: ProcessEntry): void {
    const key = entry.guid ? `${entry.hostKey}|${entry.guid.toLowerCase()}` : `${entry.hostKey}|pid:${entry.pid}@${entry.epoch}#${this.sequence++}`;
    if (this.processes.has(key)) return;
    this.processes.set(key, entry);
    const onHost = this.processesByHost.get(entry.hostKey);
    if (onHost) onHost.set(key, entry);
    else this.processesByHost.set(entry.hostKey, new Map([[key, entry]]));
    if (entry.pid !== null) {
      const pidKey = `${entry.hostKey}|${entry.pid}`;
      const keys = this.byPid.get(pidKey);
      if (keys) keys.push(key);
      else this.byPid.set(pidKey, [key]);
    }
    if (this.processes.size > this.maxProcesses) this.evictOldest();
  }

  private evictOldest(): void {
    const oldest = this.processes.keys().next();
    if (oldest.done) return;
    const entry = this.processes.get(oldest.value)!;
    this.processes.delete(oldest.value);
    const onHost = this.processesByHost.get(entry.hostKey);
    onHost?.delete(oldest.value);
    if (onHost?.size === 0) this.processesByHost.delete(entry.hostKey);
    this.evictedProcesses += 1;
    if (entry.pid === null) return;
    const pidKey = `${entry.hostKey}|${entry.pid}`;
    const keys = this.byPid.get(pidKey)?.filter((key) => key !== oldest.value) ?? [];
    if (keys.length > 0) this.byPid.set(pidKey, keys);
    else this.byPid.delete(pidKey);
  }

  private sysmonProcess(event: EventRecord, ref: EventRef, epoch: number): ProcessEntry {
    const data = event.data;
    return {
      hostKey: hostMatchKey(event.host),
      host: this.intern(event.host) ?? event.host,
      guid: nonEmpty(data.ProcessGuid),
      pid: toPid(data.ProcessId),
      parentGuid: nonEmpty(data.ParentProcessGuid),
      parentPid: toPid(data.ParentProcessId),
      image: this.intern(nonEmpty(data.Image)),
      commandLine: this.capped(data.CommandLine),
      parentImage: this.intern(nonEmpty(data.ParentImage)),
      parentCommandLine: this.capped(data.ParentCommandLine),
      user: this.intern(nonEmpty(data.User)),
      logonId: this.intern(nonEmpty(data.LogonId)),
      integrity: this.intern(nonEmpty(data.IntegrityLevel)),
      time: event.time,
      epoch,
      ref,
    };
  }

  private securityProcess(event: EventRecord, ref: EventRef, epoch: number): ProcessEntry {
    const data = event.data;
    const target = accountName(data.TargetDomainName, data.TargetUserName);
    const subject = accountName(data.SubjectDomainName, data.SubjectUserName);
    const subjectIsMachine = (data.SubjectLogonId ?? '').toLowerCase() === MACHINE_ACCOUNT_LOGON;
    const user = target ?? (subjectIsMachine ? 'NT AUTHORITY\\SYSTEM' : subject);
    if (this.learnsAccounts) this.accounts.learn(event);
    return {
      hostKey: hostMatchKey(event.host),
      host: this.intern(event.host) ?? event.host,
      guid: null,
      pid: toPid(data.NewProcessId),
      parentGuid: null,
      parentPid: toPid(data.ProcessId),
      image: this.intern(nonEmpty(data.NewProcessName)),
      commandLine: this.capped(data.CommandLine),
      parentImage: this.intern(nonEmpty(data.ParentProcessName)),
      parentCommandLine: null,
      user: this.intern(user),
      logonId: this.intern(nonEmpty(target ? data.TargetLogonId : data.SubjectLogonId)),
      integrity: this.intern(integrityFromLabel(data.MandatoryLabel)),
      time: event.time,
      epoch,
      ref,
    };
  }

  /** A PowerShell record whose text creates WMI objects (keptKindOf). */
  private addScript(event: EventRecord, ref: EventRef, epoch: number): void {
    const text = scriptTextOf(event);
    const context = `${event.data.ContextInfo ?? ''}\n${text}`;
    // Matches are cut from the whole context (ContextInfo and the script): own copies keep it from staying alive.
    const hostApplication = ownCopy(/Host ?Application\s*=\s*(.*)/.exec(context)?.[1]?.trim() ?? null);
    const user = ownCopy(/(?:^|\n)\s*(?:User|UserId)\s*=\s*(\S.*)/.exec(context)?.[1]?.trim() ?? null);
    const details = Object.values(event.data).find((value) => /CommandInvocation\(|ParameterBinding\(/.test(value));
    const body = event.data.ScriptBlockText ?? event.data.Payload ?? details ?? text;
    const scriptText = body.length > this.maxScriptChars ? ownString(body.slice(0, this.maxScriptChars)) : body;
    const script: ScriptEntry = {
      hostKey: hostMatchKey(event.host),
      eventId: event.eventId,
      time: event.time,
      epoch,
      // The same launcher and script often run on many hosts: one copy of each serves them all.
      text: this.intern(scriptText) ?? scriptText,
      hostApplication: this.intern(hostApplication ? this.capped(hostApplication) : null),
      user: this.intern(user),
      pid: event.processId ?? null,
      ref,
    };
    this.scripts.push(script);
    appendTo(this.scriptsByHost, script.hostKey, script);
  }

  private capped(value: string | undefined): string | null {
    const text = nonEmpty(value);
    if (text === null) return null;
    return text.length > this.maxCommandLineChars ? text.slice(0, this.maxCommandLineChars) : text;
  }

  private intern(value: string | null): string | null {
    if (value === null) return null;
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    if (this.strings.size < 100_000) this.strings.set(value, value);
    return value;
  }
}

function appendTo<T>(byHost: Map<string, T[]>, hostKey: string, entry: T): void {
  const list = byHost.get(hostKey);
  if (list) list.push(entry);
  else byHost.set(hostKey, [entry]);
}

/**
 * The string as one of its own: V8 makes a cut of 13 characters or more from a string a view of it,
 * which keeps the whole string alive as long as the cut is. A concatenation cut back is a fresh one.
 * Readers use it for what they keep of an event; the index for what it cuts from kept text.
 */
export function ownString(value: string): string {
  return value.length < 13 ? value : ` ${value}`.slice(1);
}

function ownCopy(value: string | null): string | null {
  return value === null ? null : ownString(value);
}

/** 4688's MandatoryLabel is the integrity SID: S-1-16-<RID>. */
const INTEGRITY_RIDS: Readonly<Record<string, string>> = { '0': 'Untrusted', '4096': 'Low', '8192': 'Medium', '8448': 'Medium Plus', '12288': 'High', '16384': 'System', '20480': 'Protected' };

function integrityFromLabel(label: string | undefined): string | null {
  const sid = nonEmpty(label);
  if (sid === null) return null;
  const rid = /^S-1-16-(\d+)$/i.exec(sid)?.[1];
  return rid !== undefined ? (INTEGRITY_RIDS[rid] ?? sid) : sid;
}

/** Pids come as decimal (Sysmon) or hex (4688: 0x14c0). */
function toPid(value: string | undefined): number | null {
  const text = nonEmpty(value);
  if (text === null) return null;
  if (/^0x[0-9a-f]+$/i.test(text)) return Number.parseInt(text, 16);
  return /^\d+$/.test(text) ? Number(text) : null;
}
