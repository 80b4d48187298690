import type { WmiObject } from '../wmi-object.js';
import { identityParts, matchIdentity } from './event-objects.js';

/**
 * Joins what a live collection read with what the event log says about the same objects, one
 * object per identity (host, namespace, class, key; hosts by short name, bindings by the class and
 * name they reference). The collected object keeps its content, properties and hash (it is what is
 * on the host now); the events add when it was created, by whom, and their references. An object
 * found only in events stays `eventlog`; one found only live stays `collection`.
 */
export function mergeObjects(collected: readonly WmiObject[], fromEvents: readonly WmiObject[]): WmiObject[] {
  const eventsByIdentity = new Map<string, WmiObject>();
  for (const object of fromEvents) eventsByIdentity.set(matchIdentity(object), object);
  const collectedIdentities = new Set(collected.map(matchIdentity));
  // Sysmon does not log the namespace an object lives in (root\subscription is assumed): such an
  // object matches a collected one of the same host, class and key in another namespace, when
  // exactly one does.
  const byNamespacelessKey = new Map<string, WmiObject[]>();
  for (const object of collected) {
    const key = namespacelessIdentity(object);
    byNamespacelessKey.set(key, [...(byNamespacelessKey.get(key) ?? []), object]);
  }
  const redirected = new Map<WmiObject, string>();
  for (const [identity, logged] of eventsByIdentity) {
    if (collectedIdentities.has(identity) || !namespaceAssumed(logged)) continue;
    const candidates = byNamespacelessKey.get(namespacelessIdentity(logged)) ?? [];
    if (candidates.length === 1) redirected.set(candidates[0]!, identity);
  }
  const merged: WmiObject[] = [];
  const used = new Set<string>();
  for (const object of collected) {
    const identity = redirected.get(object) ?? matchIdentity(object);
    const logged = eventsByIdentity.get(identity);
    if (!logged || used.has(identity)) {
      merged.push(object);
      continue;
    }
    used.add(identity);
    merged.push({
      ...object,
      source: 'collection+eventlog',
      creatorSid: object.creatorSid ?? logged.creatorSid,
      createdAt: earliest(object.createdAt, logged.createdAt),
      // Present in the live repository: whatever deletion was logged, it exists now.
      deletedAt: null,
      loggedUser: object.loggedUser ?? logged.loggedUser,
      evidence: [...object.evidence, ...logged.evidence],
    });
  }
  for (const [identity, object] of eventsByIdentity) {
    if (!used.has(identity)) merged.push(object);
  }
  return merged;
}

function namespacelessIdentity(object: WmiObject): string {
  const { host, className, key } = identityParts(object);
  return `${host}|${className}|${key}`;
}

/** Only Sysmon evidence: WMI-Activity 5861 names the namespace, Sysmon 19/20/21 do not. */
function namespaceAssumed(object: WmiObject): boolean {
  return object.evidence.length > 0 && object.evidence.every((ref) => /sysmon/i.test(ref.channel));
}

function earliest(a: string | null, b: string | null): string | null {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(a) <= Date.parse(b) ? a : b;
}
