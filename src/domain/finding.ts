import { z } from 'zod';
import { EventRefSchema } from './event-record.js';

/**
 * Findings and the JSON hunt report: a documented, stable contract that other tools read
 * (docs/report-contract.md). Add fields; never rename or remove one without a new report version.
 */
export const RISK_LEVELS = ['Low', 'Medium', 'High', 'Critical'] as const;
export const RiskLevelSchema = z.enum(RISK_LEVELS);
export type RiskLevel = z.infer<typeof RiskLevelSchema>;

export function riskRank(level: RiskLevel): number {
  return RISK_LEVELS.indexOf(level);
}
export function maxRisk(a: RiskLevel, b: RiskLevel): RiskLevel {
  return riskRank(a) >= riskRank(b) ? a : b;
}
export function isHighOrAbove(level: RiskLevel): boolean {
  return riskRank(level) >= riskRank('High');
}

export const ReasonSchema = z.object({
  /** Stable rule id, e.g. consumer.commandline, payload.encoded-powershell, allowlist.borrowed-name */
  rule: z.string(),
  /** The level this rule alone raises the finding to. */
  level: RiskLevelSchema,
  message: z.string(),
});
export type Reason = z.infer<typeof ReasonSchema>;

export const ObjectRefSchema = z.object({
  kind: z.enum(['filter', 'consumer', 'binding', 'timer']),
  namespace: z.string(),
  className: z.string(),
  /** Name, TimerId, or for a binding its Filter|Consumer paths. */
  key: z.string(),
  contentHash: z.string(),
  source: z.enum(['collection', 'eventlog', 'collection+eventlog']),
  deletedAt: z.string().nullable(),
});
export type ObjectRef = z.infer<typeof ObjectRefSchema>;

export const ProcessRefSchema = z.object({
  image: z.string().nullable(),
  commandLine: z.string().nullable(),
  pid: z.number().int().nullable(),
  time: z.string().nullable(),
});
export type ProcessRef = z.infer<typeof ProcessRefSchema>;

export const ExecutionSchema = z.object({
  /** The process the consumer started (a child of WmiPrvSE.exe or scrcons.exe). */
  image: z.string().nullable(),
  commandLine: z.string().nullable(),
  parentImage: z.string().nullable(),
  pid: z.number().int().nullable(),
  user: z.string().nullable(),
  time: z.string(),
  evidence: z.array(EventRefSchema),
});
export type Execution = z.infer<typeof ExecutionSchema>;

export const OriginSchema = z.object({
  /** mofcomp | wmic | powershell | wmi-client | unknown */
  method: z.string(),
  process: z.string().nullable(),
  commandLine: z.string().nullable(),
  parentChain: z.array(ProcessRefSchema),
  user: z.string().nullable(),
  logonId: z.string().nullable().optional(),
  /** The creating process's integrity level (Sysmon IntegrityLevel; 4688's MandatoryLabel by name). */
  integrityLevel: z.string().nullable().optional(),
  mofPath: z.string().nullable(),
  /** Whether the MOF carries `#pragma autorecover` / is registered in Autorecover MOFs, when known. */
  autorecover: z.boolean().nullable().optional(),
  /** The creating script block text (PowerShell 4104/4103), trimmed, when that is the evidence. */
  scriptBlock: z.string().nullable().optional(),
  time: z.string().nullable(),
  evidence: z.array(EventRefSchema),
  confidence: z.enum(['high', 'medium', 'low']),
  /** How the match was made: content (name/query/command in the creating command) or time proximity. */
  matchedOn: z.string().optional(),
  executions: z.array(ExecutionSchema),
});
export type Origin = z.infer<typeof OriginSchema>;

export const FindingKindSchema = z.enum(['subscription', 'orphan-consumer', 'orphan-filter', 'dangling-binding', 'timer']);
export type FindingKind = z.infer<typeof FindingKindSchema>;

export const FindingSchema = z.object({
  /** Short id, stable for the same content on the same host (derived from contentHash). */
  id: z.string(),
  kind: FindingKindSchema,
  host: z.string(),
  namespace: z.string(),
  filterName: z.string().nullable(),
  filterQuery: z.string().nullable(),
  consumerName: z.string().nullable(),
  consumerType: z.string().nullable(),
  consumerAction: z.string().nullable(),
  binding: z.string().nullable(),
  created: z.string().nullable(),
  userContext: z.string().nullable(),
  riskLevel: RiskLevelSchema,
  reasons: z.array(ReasonSchema),
  contentHash: z.string(),
  origin: OriginSchema.nullable(),
  benign: z.boolean(),
  /** Which allowlist entry matched, when benign. */
  allowlistEntry: z.string().nullable().optional(),
  /** collection, eventlog, or both merged */
  source: z.enum(['collection', 'eventlog', 'collection+eventlog']),
  /** When events say the subscription was deleted (its objects are gone). */
  deleted: z.string().nullable(),
  objects: z.array(ObjectRefSchema),
});
export type Finding = z.infer<typeof FindingSchema>;

export const HuntIdSchema = z.string().regex(/^TH-WMI-\d{8}-\d{3,}$/);

export const ReportSchema = z.object({
  reportVersion: z.literal(1),
  huntId: HuntIdSchema,
  generatedAt: z.string(),
  hosts: z.array(
    z.object({
      host: z.string(),
      collectedAt: z.string().nullable(),
      namespacesScanned: z.number().int().nullable(),
      errors: z.array(z.object({ namespace: z.string(), code: z.string(), message: z.string() })),
      sources: z.array(z.string()),
    }),
  ),
  findings: z.array(FindingSchema),
  /** Input problems (bad records, truncated files) that make the report partial. */
  problems: z.array(z.object({ source: z.string(), position: z.string().nullable(), message: z.string() })).default([]),
  partial: z.boolean().default(false),
});
export type Report = z.infer<typeof ReportSchema>;
