import type { Finding } from '../domain/finding.js';
import type { HostResult } from '../store/hunt-store.js';

/** One host as this process recorded it: its result, its findings and each finding's JSON text. */
export interface RecordedHost {
  result: HostResult;
  findings: Finding[];
  /** `JSON.stringify(findings[i])`, the very text that went into the host's stored findings. */
  findingTexts: string[];
}

interface HuntEntry {
  /** Null once the hunt outgrew the budget: it is no longer kept, nor started again. */
  hosts: Map<string, RecordedHost> | null;
  chars: number;
}

/** What a host costs the budget on top of its findings' text (its result and the objects). */
const HOST_OVERHEAD_CHARS = 1024;
/** Hunts remembered at once (those given up included), oldest forgotten first. */
const MAX_HUNTS = 64;

/**
 * The hosts this process recorded, per hunt, so that the hunt's finalize (usually run by the same
 * process that recorded its last hosts) builds the report from them instead of reading back and
 * parsing every host's result and findings from Redis. A host is kept only when its write recorded
 * it (results are write-once per host), so what is kept is exactly what Redis holds for it; the
 * finalize uses the hosts only when they are every host of the hunt, and otherwise reads Redis
 * (another process recorded some hosts, or this one restarted). A hunt is given up as soon as a
 * write shows hosts recorded elsewhere (a process whose whole share was recorded before any other
 * host keeps it until the bound forgets it: it cannot tell that others remain). Bounded: the kept
 * findings' text plus a fixed amount per host stays under `maxChars` across hunts, the oldest hunts
 * going first; a hunt that cannot fit alone is given up. The finalize drops its hunt when it
 * finishes or fails. The kept objects are read only: nothing changes a finding or result once it
 * is recorded (the finalize also checks two of them against Redis's text).
 */
export class RecordedHunts {
  private readonly hunts = new Map<string, HuntEntry>();
  private chars = 0;

  constructor(private readonly maxChars: number) {}

  /**
   * Keeps hosts just recorded for the first time (write-once), unless the hunt was given up.
   * `accountedFor` is how many hosts of the hunt Redis counted after the write: more than this
   * process kept means another process recorded some, so the hunt is given up here at once.
   */
  add(huntId: string, recorded: RecordedHost[], accountedFor: number): void {
    let entry = this.hunts.get(huntId);
    if (recorded.length === 0 && (!entry?.hosts || accountedFor <= entry.hosts.size)) return;
    if (!entry) {
      entry = { hosts: new Map(), chars: 0 };
      this.hunts.set(huntId, entry);
      this.forgetBeyond(MAX_HUNTS);
    }
    const hosts = entry.hosts;
    if (!hosts) return;
    let chars = 0;
    for (const host of recorded) {
      chars += HOST_OVERHEAD_CHARS;
      for (const text of host.findingTexts) chars += text.length;
    }
    if (entry.chars + chars > this.maxChars) {
      this.giveUp(huntId, entry);
      return;
    }
    this.makeRoom(huntId, chars);
    for (const host of recorded) hosts.set(host.result.host, host);
    entry.chars += chars;
    this.chars += chars;
    if (accountedFor > hosts.size) this.giveUp(huntId, entry);
  }

  /** Every host of the hunt, in `hosts`' order, when this process recorded them all; null otherwise. */
  covering(huntId: string, hosts: readonly string[]): RecordedHost[] | null {
    const kept = this.hunts.get(huntId)?.hosts;
    if (!kept || kept.size !== hosts.length) return null;
    const covered: RecordedHost[] = [];
    for (const host of hosts) {
      const recorded = kept.get(host);
      if (!recorded) return null;
      covered.push(recorded);
    }
    return covered;
  }

  drop(huntId: string): void {
    const entry = this.hunts.get(huntId);
    if (!entry) return;
    this.chars -= entry.chars;
    this.hunts.delete(huntId);
  }

  /** Characters kept across hunts (what the budget counts). */
  get keptChars(): number {
    return this.chars;
  }

  /** Forgets other hunts, oldest first, until `chars` more fit or only `huntId` is left. */
  private makeRoom(huntId: string, chars: number): void {
    for (const [otherId, other] of this.hunts) {
      if (this.chars + chars <= this.maxChars) return;
      if (otherId !== huntId && other.hosts) this.giveUp(otherId, other);
    }
  }

  private giveUp(huntId: string, entry: HuntEntry): void {
    this.chars -= entry.chars;
    this.hunts.set(huntId, { hosts: null, chars: 0 });
  }

  private forgetBeyond(count: number): void {
    for (const huntId of this.hunts.keys()) {
      if (this.hunts.size <= count) return;
      this.drop(huntId);
    }
  }
}
