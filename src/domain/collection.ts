import { z } from 'zod';
import { CodedError, ErrorCode } from '../errors.js';
import { EventRecordSchema } from './event-record.js';

/**
 * The collection contract, schema version 1: what a collector returns for one host. It is the one
 * contract between the PowerShell side (src/powershell/collect.ps1) and the TypeScript side; both
 * are tested against it. Every WMI object keeps all of its properties; the typed accessors in
 * ./wmi-object.ts read the ones the analysis needs.
 */
export const COLLECTION_SCHEMA_VERSION = 1;

export type WmiValue = string | number | boolean | null | WmiValue[];
export const WmiValueSchema: z.ZodType<WmiValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(WmiValueSchema)]),
);

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case SHA-256 hex digest');

const WmiObjectBase = z.object({
  /** The namespace the instance lives in, as WMI reports it (normalized by the analyzer). */
  namespace: z.string().min(1),
  /** The instance's class (__CLASS): __EventFilter, CommandLineEventConsumer, a custom class ... */
  className: z.string().min(1),
  /** All non-system properties by name, CreatorSID left out (it is given resolved below). */
  properties: z.record(z.string(), WmiValueSchema),
  /** CreatorSID as a SID string (S-1-5-...), when the object has one. */
  creatorSid: z.string().nullable().default(null),
  /** The account the SID resolves to on the host (DOMAIN\user), when it resolves. */
  creatorAccount: z.string().nullable().default(null),
  /** The collector's content hash; the TypeScript side recomputes it and rejects a mismatch. */
  contentHash: Sha256Hex,
});

function requireStringProperties(...names: string[]) {
  return (value: { properties: Record<string, WmiValue> }, ctx: z.RefinementCtx) => {
    for (const name of names) {
      if (typeof value.properties[name] !== 'string') {
        ctx.addIssue({ code: 'custom', path: ['properties', name], message: `${name} must be a string` });
      }
    }
  };
}

export const FilterSchema = WmiObjectBase.superRefine(requireStringProperties('Name', 'Query'));
export const ConsumerSchema = WmiObjectBase.superRefine(requireStringProperties('Name'));
export const BindingSchema = WmiObjectBase.superRefine(requireStringProperties('Filter', 'Consumer'));
export const TimerSchema = WmiObjectBase.superRefine(requireStringProperties('TimerId'));

export const NamespaceErrorSchema = z.object({
  namespace: z.string(),
  /** access-denied, invalid-namespace, query-failed, ... */
  code: z.string().min(1),
  message: z.string(),
});

export const AutorecoverMofSchema = z.object({
  path: z.string(),
  present: z.boolean(),
  sha256: Sha256Hex.nullable(),
});

export const HostFactsSchema = z.object({
  name: z.string().min(1),
  fqdn: z.string().nullable().default(null),
  osBuild: z.string().nullable().default(null),
  powershellVersion: z.string().nullable().default(null),
  sysmon: z.object({ present: z.boolean(), version: z.string().nullable().default(null) }).nullable().default(null),
  wmiActivityLogEnabled: z.boolean().nullable().default(null),
});

export const CollectionSchema = z
  .object({
    schemaVersion: z.literal(COLLECTION_SCHEMA_VERSION),
    host: HostFactsSchema,
    collectedAt: z.iso.datetime({ offset: true }),
    collector: z.object({ name: z.string().min(1), version: z.string().min(1) }),
    /** Every namespace the collector walked (recursively from root), errors included. */
    namespaces: z.array(z.string().min(1)),
    filters: z.array(FilterSchema),
    consumers: z.array(ConsumerSchema),
    bindings: z.array(BindingSchema),
    timers: z.array(TimerSchema),
    errors: z.array(NamespaceErrorSchema),
    autorecoverMofs: z.array(AutorecoverMofSchema).default([]),
    /** Event records of the look-back window. */
    events: z.array(EventRecordSchema).default([]),
    /** Whether the collector hit its event count or size bound (the events are then a prefix). */
    eventsTruncated: z.boolean().default(false),
    lookbackHours: z.number().positive().nullable().default(null),
  })
  .strict();

export type Collection = z.infer<typeof CollectionSchema>;
export type CollectedObject = z.infer<typeof WmiObjectBase>;

/** Validates untrusted input as a collection; the error names every bad field by its path. */
export function parseCollection(input: unknown, source = 'collection'): Collection {
  const result = CollectionSchema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 20).map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
  const first = issues[0]!;
  throw new CodedError(
    ErrorCode.SchemaViolation,
    `${source}: not a valid collection (schema v${COLLECTION_SCHEMA_VERSION}): ${first.path}: ${first.message}` +
      (issues.length > 1 ? ` (and ${result.error.issues.length - 1} more)` : ''),
    { source, issues },
  );
}
