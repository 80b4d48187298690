import { sha256Hex, sha256HexOfText } from '../canonical-json.js';
import type { Collection } from '../collection.js';
import { isHighOrAbove, maxRisk, riskRank, type Finding, type ObjectRef, type Reason, type RiskLevel } from '../finding.js';
import { hostKey } from '../host.js';
import { normalizeNamespace } from '../wmi-path.js';
import { objectKey, objectsFromCollection, stringProperty, type ObjectSource, type WmiObject } from '../wmi-object.js';
import { judgeAgainstAllowlist, type AllowlistEntry } from './allowlist.js';
import { bindingText, consumerAction, consumerType, payloadText, userContextOf } from './describe.js';
import { joinObjects, type Candidate } from './join.js';
import { inspectPayload, type PayloadInspection } from './payload.js';
import { evaluateRules, type RuleContext } from './risk-rules.js';
import { triggersOf } from './triggers.js';

/**
 * The analyzer: objects in, findings out. Pure: no I/O, no clock. Objects may come from collections,
 * from event logs (which may lack properties), or both merged.
 */
export interface AnalyzeOptions {
  allowlist: readonly AllowlistEntry[];
}

export function analyzeObjects(objects: WmiObject[], options: AnalyzeOptions): Finding[] {
  // Event-log readers may hand over namespaces as logged (//./root/subscription); compare one form.
  // Objects from collections come normalized: those are taken as they are, not copied.
  const normalized = objects.map((object) => {
    const namespace = normalizeNamespace(object.namespace);
    return namespace === object.namespace ? object : { ...object, namespace };
  });
  // A fleet's hosts often carry the same consumer: each payload text is inspected once per call.
  const inspections = new Map<string, PayloadInspection>();
  const inspect = (text: string) => {
    let inspection = inspections.get(text);
    if (inspection === undefined) {
      inspection = inspectPayload(text);
      inspections.set(text, inspection);
    }
    return inspection;
  };
  return joinObjects(normalized)
    .map((candidate) => findingOf(candidate, options.allowlist, inspect))
    .sort(compareFindings);
}

/** Validated collections in, findings out (a hash mismatch in any collection throws E_SCHEMA). */
export function analyzeCollections(collections: Collection[], options: AnalyzeOptions): Finding[] {
  return analyzeObjects(collections.flatMap(objectsFromCollection), options);
}

/**
 * Adds reasons found later (the origin tracer's, an operator's) and re-derives the level: the level
 * is the highest of all reasons. A benign finding stays benign only while no reason is High or above:
 * an allowlisted default that the evidence shows was planted (say, by mofcomp from a Temp folder) is
 * no longer benign, whatever it looks like.
 */
export function addReasons(finding: Finding, reasons: Reason[]): Finding {
  const seen = new Set(finding.reasons.map(reasonKey));
  const added = reasons.filter((reason) => {
    const key = reasonKey(reason);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (added.length === 0) return finding;
  const all = bySeverity([...finding.reasons, ...added]);
  return {
    ...finding,
    reasons: all,
    riskLevel: levelOf(all),
    benign: finding.benign && !added.some((reason) => isHighOrAbove(reason.level)),
  };
}

function reasonKey(reason: Reason): string {
  return `${reason.rule}\u0000${reason.message}`;
}

/** Most severe first; rules of one level keep the rule table's order. */
function bySeverity(reasons: Reason[]): Reason[] {
  return [...reasons].sort((a, b) => riskRank(b.level) - riskRank(a.level));
}

export function levelOf(reasons: readonly Reason[]): RiskLevel {
  return reasons.reduce<RiskLevel>((level, reason) => maxRisk(level, reason.level), 'Low');
}

interface Parts {
  filter: WmiObject | null;
  consumer: WmiObject | null;
  binding: WmiObject | null;
  timers: WmiObject[];
  missing: string[];
}

function partsOf(candidate: Candidate): Parts {
  switch (candidate.kind) {
    case 'subscription':
      return { filter: candidate.filter, consumer: candidate.consumer, binding: candidate.binding, timers: candidate.timers, missing: [] };
    case 'dangling-binding':
      return { filter: candidate.filter, consumer: candidate.consumer, binding: candidate.binding, timers: candidate.timers, missing: candidate.missing };
    case 'orphan-filter':
      return { filter: candidate.filter, consumer: null, binding: null, timers: candidate.timers, missing: [] };
    case 'orphan-consumer':
      return { filter: null, consumer: candidate.consumer, binding: null, timers: [], missing: [] };
    case 'timer':
      return { filter: null, consumer: null, binding: null, timers: [candidate.timer], missing: [] };
  }
}

const NO_REASON: Reason = {
  rule: 'subscription.unlisted',
  level: 'Low',
  message: 'not a known-benign default and no risky content recognised: review it',
};

function findingOf(candidate: Candidate, allowlist: readonly AllowlistEntry[], inspect: (text: string) => PayloadInspection): Finding {
  const parts = partsOf(candidate);
  const objects = [parts.filter, parts.consumer, parts.binding, ...parts.timers].filter((o): o is WmiObject => o !== null);
  const verdict =
    candidate.kind === 'timer'
      ? { match: null, reasons: [] }
      : judgeAgainstAllowlist({ filter: parts.filter, consumer: parts.consumer, binding: parts.binding }, allowlist);

  let reasons: Reason[];
  if (verdict.match) {
    reasons = [
      {
        rule: 'allowlist.match',
        level: 'Low',
        message: `matches the known-benign default ${verdict.match.title} (${verdict.match.id}) in class, query and payload`,
      },
    ];
  } else {
    const context: RuleContext = {
      kind: candidate.kind,
      ...parts,
      inspection: inspect(parts.consumer ? payloadText(parts.consumer) : ''),
      triggers: triggersOf(parts.filter ? stringProperty(parts.filter, 'Query') : null),
    };
    reasons = bySeverity([...verdict.reasons, ...evaluateRules(context)]);
    if (reasons.length === 0) reasons = [NO_REASON];
  }

  const refs = objects.map(objectRefOf);
  const contentHash = findingContentHash(candidate.kind, refs);
  const namespace = (parts.binding ?? parts.filter ?? parts.consumer ?? objects[0]!).namespace;
  return {
    id: findingId(candidate.host, contentHash),
    kind: candidate.kind,
    host: candidate.host,
    namespace,
    filterName: parts.filter ? stringProperty(parts.filter, 'Name') : null,
    filterQuery: parts.filter ? stringProperty(parts.filter, 'Query') : null,
    consumerName: parts.consumer ? stringProperty(parts.consumer, 'Name') : null,
    consumerType: parts.consumer ? consumerType(parts.consumer) : null,
    consumerAction: parts.consumer ? consumerAction(parts.consumer) : null,
    binding: parts.binding ? bindingText(parts.binding) : null,
    created: earliest(objects.map((o) => o.createdAt)),
    userContext: userContextOf([parts.consumer, parts.filter, parts.binding].filter((o): o is WmiObject => o !== null).concat(parts.timers)),
    riskLevel: levelOf(reasons),
    reasons,
    contentHash,
    origin: null,
    benign: verdict.match !== null,
    allowlistEntry: verdict.match?.id ?? null,
    source: sourceOf(objects),
    deleted: latest(objects.map((o) => o.deletedAt)),
    objects: refs,
  };
}

function objectRefOf(object: WmiObject): ObjectRef {
  return {
    kind: object.kind,
    namespace: object.namespace,
    className: object.className,
    key: objectKey(object.kind, object.properties),
    contentHash: object.contentHash,
    source: object.source,
    deletedAt: object.deletedAt,
  };
}

/**
 * A finding's content hash: SHA-256 of the canonical JSON of its kind and its objects' content hashes
 * in role order (filter, consumer, binding, then timers). Same objects, same hash, wherever computed.
 */
export function findingContentHash(kind: Finding['kind'], objects: Pick<ObjectRef, 'kind' | 'contentHash'>[]): string {
  // canonicalJson's text of { kind, objects: [[kind, contentHash], ...] } (keys in order, every value a string), written out directly.
  let text = `{"kind":${JSON.stringify(kind)},"objects":[`;
  objects.forEach((o, index) => {
    text += `${index > 0 ? ',' : ''}[${JSON.stringify(o.kind)},${JSON.stringify(o.contentHash)}]`;
  });
  return sha256HexOfText(`${text}]}`);
}

/** Twelve hex digits, stable for the same content on the same host. */
export function findingId(host: string, contentHash: string): string {
  return sha256Hex(`${hostKey(host)}|${contentHash}`).slice(0, 12);
}

function sourceOf(objects: WmiObject[]): ObjectSource {
  const sources = new Set(objects.map((o) => o.source));
  if (sources.size === 1) return [...sources][0]!;
  return 'collection+eventlog';
}

function earliest(times: (string | null)[]): string | null {
  const present = times.filter((t): t is string => t !== null).sort();
  return present[0] ?? null;
}

/** When any object is gone the subscription no longer works: the latest deletion seen. */
function latest(times: (string | null)[]): string | null {
  const present = times.filter((t): t is string => t !== null).sort();
  return present[present.length - 1] ?? null;
}

/** Highest risk first, then host, namespace, names: the order a responder reads in. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    riskRank(b.riskLevel) - riskRank(a.riskLevel) ||
    Number(a.benign) - Number(b.benign) ||
    byCodeUnit(a.host.toLowerCase(), b.host.toLowerCase()) ||
    byCodeUnit(a.namespace, b.namespace) ||
    byCodeUnit(a.filterName ?? a.consumerName ?? '', b.filterName ?? b.consumerName ?? '') ||
    byCodeUnit(a.id, b.id)
  );
}

/** A finding's place in compareFindings' order, worked out once: the same comparisons on the same values. */
export interface FindingOrder {
  rank: number;
  benign: number;
  host: string;
  namespace: string;
  name: string;
  id: string;
}

export function findingOrder(finding: Finding): FindingOrder {
  return {
    rank: riskRank(finding.riskLevel),
    benign: Number(finding.benign),
    host: finding.host.toLowerCase(),
    namespace: finding.namespace,
    name: finding.filterName ?? finding.consumerName ?? '',
    id: finding.id,
  };
}

export function compareFindingOrder(a: FindingOrder, b: FindingOrder): number {
  return b.rank - a.rank || a.benign - b.benign || byCodeUnit(a.host, b.host) || byCodeUnit(a.namespace, b.namespace) || byCodeUnit(a.name, b.name) || byCodeUnit(a.id, b.id);
}

/**
 * The findings in compareFindings' order, each finding's sort keys worked out once rather than in
 * every comparison (a fleet report sorts tens of thousands).
 */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const keyed = findings.map((finding) => ({ finding, order: findingOrder(finding) }));
  keyed.sort((a, b) => compareFindingOrder(a.order, b.order));
  return keyed.map(({ finding }) => finding);
}

/** Locale-independent, so the order is the same on every machine. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
