import type { WmiValue } from '../../../src/domain/collection.js';
import { normalizeNamespace } from '../../../src/domain/wmi-path.js';
import { contentHashOf, type ObjectKind, type WmiObject } from '../../../src/domain/wmi-object.js';

/** Builds WmiObjects for tests the way collections and event logs produce them. */
export function wmiObject(
  kind: ObjectKind,
  namespace: string,
  className: string,
  properties: Record<string, WmiValue>,
  extra: Partial<WmiObject> = {},
): WmiObject {
  return {
    kind,
    host: 'HOST01',
    namespace: normalizeNamespace(namespace),
    className,
    properties,
    creatorSid: null,
    creatorAccount: null,
    contentHash: contentHashOf(namespace, className, properties),
    source: 'collection',
    createdAt: null,
    deletedAt: null,
    loggedUser: null,
    evidence: [],
    ...extra,
  };
}

export const SUB = 'root\\subscription';

export function filterObject(name: string, query: string, namespace = SUB, extra: Partial<WmiObject> = {}, eventNamespace = 'root\\cimv2'): WmiObject {
  return wmiObject('filter', namespace, '__EventFilter', { Name: name, Query: query, QueryLanguage: 'WQL', EventNamespace: eventNamespace }, extra);
}

export function commandLineConsumer(name: string, command: string, namespace = SUB, extra: Partial<WmiObject> = {}): WmiObject {
  return wmiObject('consumer', namespace, 'CommandLineEventConsumer', { Name: name, CommandLineTemplate: command }, extra);
}

export function activeScriptConsumer(name: string, script: string, engine = 'VBScript', namespace = SUB, extra: Partial<WmiObject> = {}): WmiObject {
  return wmiObject('consumer', namespace, 'ActiveScriptEventConsumer', { Name: name, ScriptingEngine: engine, ScriptText: script }, extra);
}

export function bindingObject(filterPath: string, consumerPath: string, namespace = SUB, extra: Partial<WmiObject> = {}): WmiObject {
  return wmiObject('binding', namespace, '__FilterToConsumerBinding', { Filter: filterPath, Consumer: consumerPath }, extra);
}

/** A filter, a consumer and the binding between them, all in one namespace. */
export function subscription(filter: WmiObject, consumer: WmiObject, extra: Partial<WmiObject> = {}): WmiObject[] {
  const consumerName = String(consumer.properties.Name);
  const filterName = String(filter.properties.Name);
  return [filter, consumer, bindingObject(`__EventFilter.Name="${filterName}"`, `${consumer.className}.Name="${consumerName}"`, filter.namespace, extra)];
}

export const STARTUP_QUERY =
  "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240 AND TargetInstance.SystemUpTime < 325";

export function utf16Base64(text: string): string {
  return Buffer.from(text, 'utf16le').toString('base64');
}
