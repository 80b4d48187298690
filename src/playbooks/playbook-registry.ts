import { CodedError, ErrorCode } from '../errors.js';
import { riskRank, type RiskLevel } from '../domain/finding.js';
import { lintPlaybookDirectory, stepPhases, type LoadedPlaybook, type Phase } from './playbook-lint.js';
import { durationMs, type AlertTrigger, type Parameter, type ParamRef, type Playbook, type Step } from './playbook-schema.js';

/**
 * The playbooks the service runs, loaded and linted once at boot: a bad playbook stops the boot with
 * every problem listed rather than failing later in a job.
 */
export type ParamValues = Record<string, number | boolean | string>;

/** What an alert says, reduced to what triggers match on (see src/http/alert-parsers.ts). */
export interface AlertSignals {
  eventIds: number[];
  channels: string[];
  tags: string[];
  images: string[];
  parentImages: string[];
}

export class PlaybookRegistry {
  private readonly byName: Map<string, LoadedPlaybook>;

  constructor(playbooks: LoadedPlaybook[]) {
    this.byName = new Map(playbooks.map((entry) => [entry.playbook.name, entry]));
  }

  static async load(directory: string): Promise<PlaybookRegistry> {
    const { playbooks, problems } = await lintPlaybookDirectory(directory);
    if (problems.length > 0) {
      const lines = problems.map((problem) => `${problem.file}: ${problem.path}: ${problem.message}`);
      throw new CodedError(ErrorCode.SchemaViolation, `invalid playbooks:\n  - ${lines.join('\n  - ')}`, { problems });
    }
    return new PlaybookRegistry(playbooks);
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  get(name: string): LoadedPlaybook {
    const entry = this.byName.get(name);
    if (!entry) throw new CodedError(ErrorCode.NotFound, `no playbook named ${JSON.stringify(name.slice(0, 80))}`, { playbook: name });
    return entry;
  }

  /**
   * The playbook an alert starts: among those with a matching alert trigger, the one whose trigger
   * tests the most conditions (the most specific), then by name; null when none matches.
   */
  matchAlert(signals: AlertSignals): LoadedPlaybook | null {
    let best: { entry: LoadedPlaybook; specificity: number } | null = null;
    for (const name of this.names()) {
      const entry = this.byName.get(name)!;
      for (const trigger of entry.playbook.triggers) {
        if (!('alert' in trigger) || !alertMatches(trigger.alert, signals)) continue;
        const specificity = Object.keys(trigger.alert).filter((key) => key !== 'description').length;
        if (!best || specificity > best.specificity) best = { entry, specificity };
      }
    }
    return best?.entry ?? null;
  }

  scheduled(): Array<{ entry: LoadedPlaybook; everyMs: number }> {
    return this.names().flatMap((name) => {
      const entry = this.byName.get(name)!;
      return entry.playbook.triggers.flatMap((trigger) => ('schedule' in trigger ? [{ entry, everyMs: durationMs(trigger.schedule.every) }] : []));
    });
  }
}

const basenameLower = (path: string) => (path.split(/[\\/]/).pop() ?? path).trim().toLowerCase();

export function alertMatches(trigger: AlertTrigger, signals: AlertSignals): boolean {
  const overlaps = (wanted: string[] | undefined, have: string[], normalize: (value: string) => string) =>
    wanted === undefined || wanted.some((value) => have.map(normalize).includes(normalize(value)));
  const lower = (value: string) => value.toLowerCase();
  return (
    (trigger.eventIds === undefined || trigger.eventIds.some((id) => signals.eventIds.includes(id))) &&
    overlaps(trigger.channels, signals.channels, lower) &&
    overlaps(trigger.tags, signals.tags, lower) &&
    overlaps(trigger.images, signals.images, basenameLower) &&
    overlaps(trigger.parentImages, signals.parentImages, basenameLower)
  );
}

/** The parameter values of a run: defaults, overridden by the request, each checked against its type. */
export function resolveParams(playbook: Playbook, overrides: Record<string, unknown> = {}): ParamValues {
  const values: ParamValues = {};
  for (const name of Object.keys(overrides)) {
    if (!(name in playbook.parameters)) {
      throw new CodedError(ErrorCode.BadInput, `playbook ${playbook.name} has no parameter ${JSON.stringify(name.slice(0, 60))}`, { field: `params.${name}` });
    }
  }
  for (const [name, parameter] of Object.entries(playbook.parameters)) {
    const value = name in overrides ? overrides[name] : parameter.default;
    if (!valueFits(parameter, value)) {
      throw new CodedError(ErrorCode.BadInput, `parameter ${name} of ${playbook.name} must be a valid ${parameter.type}`, { field: `params.${name}` });
    }
    values[name] = value as number | boolean | string;
  }
  return values;
}

function valueFits(parameter: Parameter, value: unknown): boolean {
  switch (parameter.type) {
    case 'integer':
      return Number.isInteger(value) && (parameter.min === undefined || (value as number) >= parameter.min) && (parameter.max === undefined || (value as number) <= parameter.max);
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string' && (parameter.pattern === undefined || new RegExp(parameter.pattern).test(value));
    case 'risk':
      return typeof value === 'string' && ['Low', 'Medium', 'High', 'Critical'].includes(value);
    case 'duration':
      return typeof value === 'string' && /^\d+(m|h|d)$/.test(value);
  }
}

export function resolveValue<T>(value: T | ParamRef, params: ParamValues): T {
  if (typeof value === 'object' && value !== null && 'param' in value) return params[(value as ParamRef).param] as T;
  return value as T;
}

/** The steps of one phase, in playbook order. */
export function stepsOfPhase(playbook: Playbook, phase: Phase): Step[] {
  const phases = stepPhases(playbook.steps);
  return playbook.steps.filter((_, index) => phases[index] === phase);
}

export function atOrAbove(level: RiskLevel, threshold: RiskLevel): boolean {
  return riskRank(level) >= riskRank(threshold);
}
