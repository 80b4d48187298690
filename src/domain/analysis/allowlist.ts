import { z } from 'zod';
import { WmiValueSchema, type WmiValue } from '../collection.js';
import type { Reason } from '../finding.js';
import { normalizeNamespace } from '../wmi-path.js';
import { stringProperty, type WmiObject } from '../wmi-object.js';
import { normalizeQuery } from './triggers.js';

/**
 * Known-benign subscriptions (Windows and vendor defaults) as data an operator can extend. A verified
 * entry pins the whole content: namespace, the filter's name, query and event namespace, the consumer's
 * name, class and payload. Only an exact match makes a finding benign; the name alone never does.
 * An object that wears an entry's name (or a look-alike of it) without its content is raised instead:
 * malware has hidden behind "SCM Event Log Consumer" and "SCM Event8 Log Consumer".
 *
 * An unverified entry records a default known only by name (the shipped list cannot pin its content);
 * objects with that name are never lowered and carry a reason asking for a check against a clean build.
 */
const Text = z.string().trim().min(1);

const ALLOWLIST_ID = /^[a-z0-9][a-z0-9.-]*$/;

const CommonFields = {
  id: z.string().regex(ALLOWLIST_ID, 'expected a lower-case id of letters, digits, dots and hyphens'),
  title: Text,
  /** Why the subscription is benign: who installs it and what it does. */
  why: Text,
  references: z.array(Text).min(1),
};

export const VerifiedEntrySchema = z
  .object({
    ...CommonFields,
    status: z.literal('verified'),
    /** Where the default lives (the binding, filter and consumer are all there). */
    namespace: Text.default('root\\subscription'),
    filter: z
      .object({
        name: Text,
        query: Text,
        /** The namespace the filter listens to (EventNamespace); null when the default leaves it unset. */
        eventNamespace: Text.nullable().default(null),
      })
      .strict(),
    consumer: z
      .object({
        name: Text,
        className: Text,
        /** The payload properties with their exact values; payload properties not listed must be empty. */
        properties: z.record(z.string(), WmiValueSchema),
      })
      .strict(),
  })
  .strict();

export const UnverifiedEntrySchema = z
  .object({
    ...CommonFields,
    status: z.literal('unverified'),
    filterName: Text.nullable().default(null),
    consumerName: Text.nullable().default(null),
  })
  .strict()
  .refine((entry) => entry.filterName !== null || entry.consumerName !== null, {
    message: 'an unverified entry names a filter, a consumer, or both',
    path: ['filterName'],
  });

export const AllowlistEntrySchema = z.discriminatedUnion('status', [VerifiedEntrySchema, UnverifiedEntrySchema]);
export type AllowlistEntry = z.infer<typeof AllowlistEntrySchema>;
export type VerifiedEntry = z.infer<typeof VerifiedEntrySchema>;

export const ALLOWLIST_DOCUMENT_VERSION = 1;
export const AllowlistDocumentSchema = z
  .object({
    version: z.literal(ALLOWLIST_DOCUMENT_VERSION),
    entries: z.array(AllowlistEntrySchema),
  })
  .strict();

/** The properties that make up a consumer's payload, by class; other classes: every property but Name. */
const PAYLOAD_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  commandlineeventconsumer: ['CommandLineTemplate', 'ExecutablePath', 'WorkingDirectory'],
  activescripteventconsumer: ['ScriptText', 'ScriptFileName', 'ScriptingEngine'],
  nteventlogeventconsumer: [
    'SourceName',
    'EventID',
    'EventType',
    'Category',
    'InsertionStringTemplates',
    'NameOfRawDataProperty',
    'NameOfUserSIDProperty',
    'UNCServerName',
  ],
  logfileeventconsumer: ['FileName', 'Text'],
  smtpeventconsumer: ['SMTPServer', 'ToLine', 'CcLine', 'BccLine', 'FromLine', 'ReplyToLine', 'Subject', 'Message', 'HeaderFields'],
};

export function payloadPropertyNames(consumer: Pick<WmiObject, 'className' | 'properties'>): string[] {
  const known = PAYLOAD_PROPERTIES[consumer.className.toLowerCase()];
  if (known) return [...known];
  return Object.keys(consumer.properties).filter((name) => name !== 'Name' && !name.startsWith('__') && name.toLowerCase() !== 'creatorsid');
}

export interface AllowlistVerdict {
  /** The verified entry the objects match exactly, when they do. */
  match: VerifiedEntry | null;
  /** Raised reasons: borrowed or look-alike names, unverified default names. */
  reasons: Reason[];
}

/**
 * Checks the objects of one finding (a subscription's filter and consumer, or the one object of an
 * orphan) against the allowlist. Every present object must match the same verified entry.
 */
export function judgeAgainstAllowlist(
  objects: { filter: WmiObject | null; consumer: WmiObject | null; binding: WmiObject | null },
  allowlist: readonly AllowlistEntry[],
): AllowlistVerdict {
  const verified = allowlist.filter((entry): entry is VerifiedEntry => entry.status === 'verified');
  const match =
    verified.find(
      (entry) =>
        (objects.filter !== null || objects.consumer !== null) &&
        // A binding is part of a default only with both its ends; a dangling one never is.
        (objects.binding === null || (objects.filter !== null && objects.consumer !== null)) &&
        (objects.filter === null || filterDifference(entry, objects.filter) === null) &&
        (objects.consumer === null || consumerDifference(entry, objects.consumer) === null) &&
        (objects.binding === null || objects.binding.namespace === normalizedEntry(entry).namespace),
    ) ?? null;
  if (match) return { match, reasons: [] };
  const reasons: Reason[] = [];
  if (objects.filter) reasons.push(...nameReasons('filter', objects.filter, allowlist));
  if (objects.consumer) reasons.push(...nameReasons('consumer', objects.consumer, allowlist));
  return { match: null, reasons };
}

function nameReasons(kind: 'filter' | 'consumer', object: WmiObject, allowlist: readonly AllowlistEntry[]): Reason[] {
  const name = stringProperty(object, 'Name');
  if (!name) return [];
  const reasons: Reason[] = [];
  for (const entry of allowlist) {
    const defaultName = kind === 'filter' ? entryFilterName(entry) : entryConsumerName(entry);
    if (!defaultName) continue;
    const exact = sameName(name, defaultName);
    if (!exact && !lookAlike(name, defaultName)) continue;
    if (entry.status === 'unverified') {
      reasons.push(
        exact
          ? {
              rule: 'allowlist.unverified-default',
              level: 'Medium',
              message: `${kind} "${name}" carries the name of ${entry.title} (${entry.id}), whose content the allowlist does not pin down: compare it with a clean build before clearing it`,
            }
          : borrowedNameReason(kind, name, defaultName, entry, 'is a look-alike of'),
      );
      continue;
    }
    if (!exact) {
      reasons.push(borrowedNameReason(kind, name, defaultName, entry, 'is a look-alike of'));
      continue;
    }
    const difference = kind === 'filter' ? filterDifference(entry, object) : consumerDifference(entry, object);
    // The genuine default paired with something else: the other object's reason says what is wrong.
    if (difference === null) continue;
    reasons.push(borrowedNameReason(kind, name, defaultName, entry, `has the name but not the content (${difference}) of`));
  }
  return reasons;
}

function borrowedNameReason(kind: string, name: string, defaultName: string, entry: AllowlistEntry, relation: string): Reason {
  return {
    rule: 'allowlist.borrowed-name',
    level: 'High',
    message: `${kind} "${name}" ${relation} the default "${defaultName}" (${entry.id}): known-benign names are borrowed to hide persistence`,
  };
}

function entryFilterName(entry: AllowlistEntry): string | null {
  return entry.status === 'verified' ? entry.filter.name : entry.filterName;
}

function entryConsumerName(entry: AllowlistEntry): string | null {
  return entry.status === 'verified' ? entry.consumer.name : entry.consumerName;
}

/** An entry's namespaces and query in the form objects are compared in, worked out once per entry. */
interface NormalizedEntry {
  namespace: string;
  query: string;
  eventNamespace: string | null;
}

const normalizedEntries = new WeakMap<VerifiedEntry, NormalizedEntry>();

function normalizedEntry(entry: VerifiedEntry): NormalizedEntry {
  let normalized = normalizedEntries.get(entry);
  if (!normalized) {
    normalized = {
      namespace: normalizeNamespace(entry.namespace),
      query: normalizeQuery(entry.filter.query),
      eventNamespace: entry.filter.eventNamespace === null ? null : normalizeNamespace(entry.filter.eventNamespace),
    };
    normalizedEntries.set(entry, normalized);
  }
  return normalized;
}

/** The first way the filter differs from the entry's, or null when it matches exactly. */
function filterDifference(entry: VerifiedEntry, filter: WmiObject): string | null {
  const normalized = normalizedEntry(entry);
  if (filter.className.toLowerCase() !== '__eventfilter') return `class ${filter.className}`;
  if (filter.namespace !== normalized.namespace) return `namespace ${filter.namespace}, not ${normalized.namespace}`;
  if (!sameName(stringProperty(filter, 'Name') ?? '', entry.filter.name)) return 'name';
  const query = stringProperty(filter, 'Query');
  if (query === null || normalizeQuery(query) !== normalized.query) return `query "${query ?? ''}"`;
  if (normalized.eventNamespace !== null) {
    const listened = stringProperty(filter, 'EventNamespace');
    if (listened === null || normalizeNamespace(listened) !== normalized.eventNamespace) {
      return `event namespace ${listened ?? '(none)'}`;
    }
  }
  return null;
}

/** The first way the consumer differs from the entry's, or null when it matches exactly. */
function consumerDifference(entry: VerifiedEntry, consumer: WmiObject): string | null {
  if (consumer.className.toLowerCase() !== entry.consumer.className.toLowerCase()) {
    return `class ${consumer.className} instead of ${entry.consumer.className}`;
  }
  const { namespace } = normalizedEntry(entry);
  if (consumer.namespace !== namespace) return `namespace ${consumer.namespace}, not ${namespace}`;
  if (!sameName(stringProperty(consumer, 'Name') ?? '', entry.consumer.name)) return 'name';
  const expected = entry.consumer.properties;
  const names = new Set([...payloadPropertyNames(consumer), ...Object.keys(expected)]);
  for (const name of names) {
    const actual = consumer.properties[name];
    const wanted = expected[name];
    if (!sameValue(actual, wanted)) return `${name} ${JSON.stringify(actual ?? null)}`;
  }
  return null;
}

function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** Payload values compare with white space collapsed and case ignored (Windows paths and commands). */
function sameValue(actual: WmiValue | undefined, wanted: WmiValue | undefined): boolean {
  // One value is the same as itself under every rule below; a default's payload usually is exactly the listed one.
  if (actual === wanted) return true;
  if (isEmpty(actual) && isEmpty(wanted)) return true;
  if (actual === undefined || wanted === undefined) return false;
  if (Array.isArray(actual) || Array.isArray(wanted)) {
    if (!Array.isArray(actual) || !Array.isArray(wanted) || actual.length !== wanted.length) return false;
    return actual.every((value, index) => sameValue(value, wanted[index]));
  }
  if (typeof actual === 'string' && typeof wanted === 'string') {
    return actual.trim().replace(/\s+/g, ' ').toLowerCase() === wanted.trim().replace(/\s+/g, ' ').toLowerCase();
  }
  return actual === wanted;
}

/** Unset, empty, zero and false are the defaults a consumer class leaves in properties nobody set. */
function isEmpty(value: WmiValue | undefined): boolean {
  if (value === undefined || value === null || value === '' || value === 0 || value === false) return true;
  return Array.isArray(value) && value.every(isEmpty);
}

/** Letters and digits only, lower case: "SCM Event8 Log Consumer" → "scmevent8logconsumer". */
function squeeze(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * A name close enough to a default's to be mistaken for it: equal once spaces and punctuation are
 * dropped, or within a few edits (one per six characters, at least two) of it.
 */
export function lookAlike(name: string, defaultName: string): boolean {
  const a = squeeze(name);
  const b = squeeze(defaultName);
  if (a.length === 0 || b.length === 0) return false;
  if (a === b) return true;
  const allowed = Math.max(2, Math.floor(b.length / 6));
  return Math.abs(a.length - b.length) <= allowed && editDistance(a, b) <= allowed;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
