import { z } from 'zod';
import { RiskLevelSchema } from '../domain/finding.js';

/**
 * The playbook format (playbooks/<name>.yaml): Sigma-style metadata, typed parameters, the alerts
 * and schedules that start it, and steps from a fixed set of actions. Conditions (`when`) and
 * failure branches (`onFailure`, `when.failed`) are data here, not code. Every object is strict:
 * an unknown or misspelt field is an error, never ignored.
 */
export const STEP_ACTIONS = ['collect', 'analyze', 'trace', 'report', 'request-approval', 'remove', 'verify', 'restore', 'notify'] as const;
export type StepAction = (typeof STEP_ACTIONS)[number];

export const NOTIFY_EVENTS = ['hunt-started', 'report', 'approval-requested', 'removal', 'restore', 'failure'] as const;

const Identifier = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'lower-case letters, digits and hyphens, starting with a letter');
const ParamName = z.string().regex(/^[a-z][A-Za-z0-9]{0,62}$/, 'camelCase, starting with a lower-case letter');
const Duration = z.string().regex(/^\d+(m|h|d)$/, 'a duration such as 30m, 4h or 7d');

export function durationMs(duration: string): number {
  const amount = Number(duration.slice(0, -1));
  const unit = duration.slice(-1);
  return amount * (unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000);
}

/** A step value may be literal or taken from a parameter: `{ param: lookbackHours }`. */
export const ParamRefSchema = z.object({ param: ParamName }).strict();
export type ParamRef = z.infer<typeof ParamRefSchema>;
const orRef = <T extends z.ZodType>(schema: T) => z.union([schema, ParamRefSchema]);

const ParameterBase = { description: z.string().min(1) };
export const ParameterSchema = z.discriminatedUnion('type', [
  z.object({ ...ParameterBase, type: z.literal('integer'), default: z.number().int(), min: z.number().int().optional(), max: z.number().int().optional() }).strict(),
  z.object({ ...ParameterBase, type: z.literal('boolean'), default: z.boolean() }).strict(),
  z.object({ ...ParameterBase, type: z.literal('string'), default: z.string(), pattern: z.string().optional() }).strict(),
  z.object({ ...ParameterBase, type: z.literal('risk'), default: RiskLevelSchema }).strict(),
  z.object({ ...ParameterBase, type: z.literal('duration'), default: Duration }).strict(),
]);
export type Parameter = z.infer<typeof ParameterSchema>;

const AlertTriggerSchema = z
  .object({
    description: z.string().optional(),
    eventIds: z.array(z.number().int().nonnegative()).min(1).optional(),
    channels: z.array(z.string().min(1)).min(1).optional(),
    tags: z.array(z.string().regex(/^[a-z0-9_.-]+$/)).min(1).optional(),
    images: z.array(z.string().min(1)).min(1).optional(),
    parentImages: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict()
  .refine((trigger) => Object.keys(trigger).some((key) => key !== 'description'), 'an alert trigger needs at least one condition');
export type AlertTrigger = z.infer<typeof AlertTriggerSchema>;

const TriggerSchema = z.union([
  z.object({ alert: AlertTriggerSchema }).strict(),
  z.object({ schedule: z.object({ every: Duration, description: z.string().optional() }).strict() }).strict(),
  z.object({ manual: z.literal(true) }).strict(),
]);
export type Trigger = z.infer<typeof TriggerSchema>;

export const ConditionSchema = z
  .object({
    /** Only when a non-benign finding at or above this risk exists. */
    minRisk: orRef(RiskLevelSchema).optional(),
    /** Only when the report step found findings that are new since the previous run on the host. */
    newFindings: z.boolean().optional(),
    /** Only when that earlier step failed (it must say `onFailure: continue`). */
    failed: Identifier.optional(),
    /** Only when that earlier step succeeded. */
    succeeded: Identifier.optional(),
  })
  .strict()
  .refine((condition) => Object.keys(condition).length > 0, 'a condition needs at least one test');
export type Condition = z.infer<typeof ConditionSchema>;

const StepBase = {
  id: Identifier,
  description: z.string().optional(),
  when: ConditionSchema.optional(),
  onFailure: z.enum(['stop', 'continue']).default('stop'),
};

const emptyWith = z.object({}).strict().default({});

export const StepSchema = z.discriminatedUnion('action', [
  z
    .object({
      ...StepBase,
      action: z.literal('collect'),
      with: z
        .object({ lookbackHours: orRef(z.number().int().min(0)).optional(), maxEvents: orRef(z.number().int().min(0)).optional() })
        .strict()
        .default({}),
    })
    .strict(),
  z.object({ ...StepBase, action: z.literal('analyze'), with: z.object({ allowlist: z.enum(['default', 'none']).default('default') }).strict().default({ allowlist: 'default' }) }).strict(),
  z.object({ ...StepBase, action: z.literal('trace'), with: emptyWith }).strict(),
  z
    .object({
      ...StepBase,
      action: z.literal('report'),
      with: z
        .object({
          /** Report only findings whose content hash the previous run of this playbook on the host did not see. */
          onlyNew: z.boolean().default(false),
        })
        .strict()
        .default({ onlyNew: false }),
    })
    .strict(),
  z
    .object({
      ...StepBase,
      action: z.literal('request-approval'),
      with: z
        .object({
          /** Which findings are put up for removal: non-benign at or above this risk. */
          minRisk: orRef(RiskLevelSchema).default('High'),
          approvers: z
            .object({ users: z.array(z.string().min(1)).default([]), groups: z.array(z.string().min(1)).default([]) })
            .strict()
            .refine((approvers) => approvers.users.length + approvers.groups.length > 0, 'name at least one approver user or group'),
          quorum: z.number().int().min(1).max(10).default(1),
          twoPersonRule: z.boolean().default(true),
          expiresIn: orRef(Duration).default('4h'),
        })
        .strict(),
    })
    .strict(),
  z.object({ ...StepBase, action: z.literal('remove'), with: emptyWith }).strict(),
  z.object({ ...StepBase, action: z.literal('verify'), with: emptyWith }).strict(),
  z.object({ ...StepBase, action: z.literal('restore'), with: emptyWith }).strict(),
  z
    .object({
      ...StepBase,
      action: z.literal('notify'),
      with: z.object({ event: z.enum(NOTIFY_EVENTS), channel: z.string().min(1).optional() }).strict(),
    })
    .strict(),
]);
export type Step = z.infer<typeof StepSchema>;

export const PlaybookSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,80}$/, 'lower-case kebab-case'),
    id: z.uuid(),
    title: z.string().min(1).max(200),
    description: z.string().min(1),
    author: z.string().min(1),
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
    references: z.array(z.url()).default([]),
    tags: z.array(z.string().regex(/^[a-z0-9_.-]+$/, 'lower-case tag such as attack.t1546.003')).min(1),
    status: z.enum(['stable', 'test', 'experimental', 'deprecated']),
    falsepositives: z.array(z.string()).default([]),
    parameters: z.record(ParamName, ParameterSchema).default({}),
    triggers: z.array(TriggerSchema).min(1),
    steps: z.array(StepSchema).min(1),
  })
  .strict();
export type Playbook = z.infer<typeof PlaybookSchema>;
