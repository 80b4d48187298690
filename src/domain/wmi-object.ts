import { canonicalJson, sha256HexOfText } from './canonical-json.js';
import type { Collection, WmiValue } from './collection.js';
import { CodedError, ErrorCode } from '../errors.js';
import type { EventRef } from './event-record.js';
import { normalizeNamespace } from './wmi-path.js';

/**
 * The one model of a permanent-subscription object that the analyzer and tracer work on, whether it
 * was read live from the WMI repository or reconstructed from event logs.
 */
export type ObjectKind = 'filter' | 'consumer' | 'binding' | 'timer';
export type ObjectSource = 'collection' | 'eventlog' | 'collection+eventlog';

export interface WmiObject {
  kind: ObjectKind;
  host: string;
  /** Normalized (lower case, backslashes): root\subscription */
  namespace: string;
  className: string;
  properties: Record<string, WmiValue>;
  creatorSid: string | null;
  creatorAccount: string | null;
  contentHash: string;
  source: ObjectSource;
  /** Earliest creation evidence (events), ISO UTC. */
  createdAt: string | null;
  /** When an event says it was deleted, ISO UTC. */
  deletedAt: string | null;
  /** Logged user (Sysmon User) when reconstructed from events. */
  loggedUser: string | null;
  evidence: EventRef[];
}

/** Properties that describe the instance itself rather than its content. */
function isDefiningProperty(name: string): boolean {
  return !name.startsWith('__') && name.toLowerCase() !== 'creatorsid';
}

/**
 * SHA-256 of the canonical JSON of the object's defining properties:
 *   { "class": <class, lower case>, "namespace": <normalized>, "properties": { <non-system, non-null> } }
 * The PowerShell scripts compute exactly this (test/vectors/content-hash.json holds shared vectors).
 */
export function contentHashOf(namespace: string, className: string, properties: Record<string, WmiValue>): string {
  return contentHashInNamespace(normalizeNamespace(namespace), className, properties);
}

function contentHashInNamespace(normalizedNamespace: string, className: string, properties: Record<string, WmiValue>): string {
  // canonicalJson's text of { class, namespace, properties: <the defining ones> }, written out in one
  // pass (keys in code-unit order, null members left out): this runs for every object of every host.
  let text = `{"class":${JSON.stringify(className.toLowerCase())},"namespace":${JSON.stringify(normalizedNamespace)},"properties":{`;
  let first = true;
  for (const name of Object.keys(properties).sort()) {
    const value = properties[name];
    if (value === null || value === undefined || !isDefiningProperty(name)) continue;
    text += `${first ? '' : ','}${JSON.stringify(name)}:${canonicalJson(value)}`;
    first = false;
  }
  return sha256HexOfText(`${text}}}`);
}

/** The key property of an object: Name, TimerId, or the binding's Filter + Consumer. */
export function objectKey(kind: ObjectKind, properties: Record<string, WmiValue>): string {
  switch (kind) {
    case 'binding':
      return `${String(properties.Filter ?? '')}|${String(properties.Consumer ?? '')}`;
    case 'timer':
      return String(properties.TimerId ?? '');
    default:
      return String(properties.Name ?? '');
  }
}

/** Object identity: host + namespace + class + key, case-insensitive as WMI is. */
export function objectIdentity(object: Pick<WmiObject, 'kind' | 'host' | 'namespace' | 'className' | 'properties'>): string {
  return [
    object.host.toLowerCase(),
    normalizeNamespace(object.namespace),
    object.className.toLowerCase(),
    objectKey(object.kind, object.properties).toLowerCase(),
  ].join('|');
}

export function stringProperty(object: Pick<WmiObject, 'properties'>, name: string): string | null {
  const value = object.properties[name];
  return typeof value === 'string' ? value : null;
}

/**
 * Turns a validated collection into objects. A collector-supplied hash that differs from the
 * recomputed one means the two sides disagree on the content: that is refused, never guessed at.
 */
export function objectsFromCollection(collection: Collection): WmiObject[] {
  const host = collection.host.name;
  const groups: Array<[ObjectKind, Collection['filters']]> = [
    ['filter', collection.filters],
    ['consumer', collection.consumers],
    ['binding', collection.bindings],
    ['timer', collection.timers],
  ];
  const objects: WmiObject[] = [];
  for (const [kind, items] of groups) {
    items.forEach((item, index) => {
      const namespace = normalizeNamespace(item.namespace);
      const recomputed = contentHashInNamespace(namespace, item.className, item.properties);
      if (recomputed !== item.contentHash) {
        throw new CodedError(
          ErrorCode.SchemaViolation,
          `${kind} #${index} (${item.className} in ${item.namespace}) has contentHash ${item.contentHash} but its content hashes to ${recomputed}`,
          { path: `${kind}s.${index}.contentHash` },
        );
      }
      objects.push({
        kind,
        host,
        namespace,
        className: item.className,
        properties: item.properties,
        creatorSid: item.creatorSid,
        creatorAccount: item.creatorAccount,
        contentHash: item.contentHash,
        source: 'collection',
        createdAt: null,
        deletedAt: null,
        loggedUser: null,
        evidence: [],
      });
    });
  }
  return objects;
}
