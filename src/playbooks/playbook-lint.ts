import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseDocument } from 'yaml';
import { sha256Hex } from '../domain/canonical-json.js';
import { PlaybookSchema, type Parameter, type ParamRef, type Playbook, type Step, type StepAction } from './playbook-schema.js';

/**
 * Checks playbook files: YAML syntax (duplicate keys are errors), the strict schema, and the rules
 * a schema cannot say — the name equals the file name, steps come in a runnable order, conditions
 * point at earlier steps, parameter references exist and have the right type, ids are unique.
 */
export interface LintProblem {
  file: string;
  path: string;
  message: string;
}

export interface LoadedPlaybook {
  playbook: Playbook;
  file: string;
  /** SHA-256 of the file's bytes, recorded with every hunt that runs it. */
  sha256: string;
}

export interface LintResult {
  playbooks: LoadedPlaybook[];
  problems: LintProblem[];
}

export type Phase = 'host' | 'hunt' | 'removal';

const PHASE_OF_ACTION: Record<Exclude<StepAction, 'notify'>, Phase> = {
  collect: 'host',
  analyze: 'host',
  trace: 'host',
  report: 'hunt',
  'request-approval': 'hunt',
  remove: 'removal',
  verify: 'removal',
  restore: 'removal',
};
const PHASE_ORDER: Phase[] = ['host', 'hunt', 'removal'];

/** Which phase each step runs in: its action's, or for notify, the phase of the step before it. */
export function stepPhases(steps: Step[]): Phase[] {
  let current: Phase = 'host';
  return steps.map((step) => {
    if (step.action !== 'notify') current = PHASE_OF_ACTION[step.action];
    return current === 'host' && step.action === 'notify' ? 'hunt' : current;
  });
}

const REQUIRES: Partial<Record<StepAction, StepAction>> = {
  analyze: 'collect',
  trace: 'analyze',
  report: 'analyze',
  'request-approval': 'analyze',
  remove: 'request-approval',
  verify: 'remove',
  restore: 'remove',
};
const SINGLE_USE: StepAction[] = ['collect', 'analyze', 'trace', 'report', 'request-approval', 'remove', 'verify', 'restore'];

export function lintPlaybookText(text: string, file: string): { playbook: Playbook | null; problems: LintProblem[] } {
  const problems: LintProblem[] = [];
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0) {
    return { playbook: null, problems: document.errors.map((error) => ({ file, path: '(yaml)', message: error.message })) };
  }
  let value: unknown;
  try {
    value = document.toJS();
  } catch (error) {
    // Errors the parser leaves to conversion, such as an alias used before its anchor.
    return { playbook: null, problems: [{ file, path: '(yaml)', message: error instanceof Error ? error.message : String(error) }] };
  }
  const parsed = PlaybookSchema.safeParse(value);
  if (!parsed.success) {
    return {
      playbook: null,
      problems: parsed.error.issues.map((issue) => ({ file, path: issue.path.map(String).join('.') || '(root)', message: issue.message })),
    };
  }
  const playbook = parsed.data;
  const expectedName = basename(file).replace(/\.ya?ml$/, '');
  if (playbook.name !== expectedName) problems.push({ file, path: 'name', message: `name "${playbook.name}" must equal the file name "${expectedName}"` });
  if (!playbook.tags.some((tag) => tag.startsWith('attack.'))) problems.push({ file, path: 'tags', message: 'needs at least one ATT&CK tag (attack.*)' });
  problems.push(...parameterProblems(playbook, file), ...stepProblems(playbook, file));
  return { playbook: problems.length === 0 ? playbook : null, problems };
}

function parameterProblems(playbook: Playbook, file: string): LintProblem[] {
  const problems: LintProblem[] = [];
  for (const [name, parameter] of Object.entries(playbook.parameters)) {
    const path = `parameters.${name}`;
    if (parameter.type === 'integer') {
      if (parameter.min !== undefined && parameter.default < parameter.min) problems.push({ file, path, message: 'default is below min' });
      if (parameter.max !== undefined && parameter.default > parameter.max) problems.push({ file, path, message: 'default is above max' });
    }
    if (parameter.type === 'string' && parameter.pattern !== undefined) {
      try {
        if (!new RegExp(parameter.pattern).test(parameter.default)) problems.push({ file, path, message: 'default does not match pattern' });
      } catch {
        problems.push({ file, path: `${path}.pattern`, message: 'not a valid regular expression' });
      }
    }
  }
  return problems;
}

function stepProblems(playbook: Playbook, file: string): LintProblem[] {
  const problems: LintProblem[] = [];
  const seen = new Map<string, Step>();
  const actionsSoFar = new Set<StepAction>();
  const phases = stepPhases(playbook.steps);
  let highestPhase = 0;
  if (playbook.steps[0]?.action !== 'collect') problems.push({ file, path: 'steps.0', message: 'the first step must be collect' });

  playbook.steps.forEach((step, index) => {
    const path = `steps.${index}`;
    if (seen.has(step.id)) problems.push({ file, path: `${path}.id`, message: `step id "${step.id}" is used twice` });
    if (SINGLE_USE.includes(step.action) && actionsSoFar.has(step.action)) {
      problems.push({ file, path, message: `only one ${step.action} step is allowed` });
    }
    const required = REQUIRES[step.action];
    if (required && !actionsSoFar.has(required)) problems.push({ file, path, message: `${step.action} needs an earlier ${required} step` });
    const phaseIndex = PHASE_ORDER.indexOf(phases[index]!);
    if (phaseIndex < highestPhase) problems.push({ file, path, message: `${step.action} cannot come after a later-phase step` });
    highestPhase = Math.max(highestPhase, phaseIndex);

    for (const [field, target] of [['failed', step.when?.failed], ['succeeded', step.when?.succeeded]] as const) {
      if (target === undefined) continue;
      const earlier = seen.get(target);
      if (!earlier) problems.push({ file, path: `${path}.when.${field}`, message: `"${target}" is not an earlier step` });
      else if (field === 'failed' && earlier.onFailure !== 'continue') {
        problems.push({ file, path: `${path}.when.failed`, message: `"${target}" stops the playbook on failure, so this branch can never run (give it onFailure: continue)` });
      }
    }
    if (step.when?.newFindings !== undefined && !playbook.steps.slice(0, index).some((entry) => entry.action === 'report' && entry.with.onlyNew)) {
      problems.push({ file, path: `${path}.when.newFindings`, message: 'needs an earlier report step with onlyNew: true' });
    }
    for (const [field, ref, type] of paramRefs(step)) {
      const parameter = playbook.parameters[ref.param];
      if (!parameter) problems.push({ file, path: `${path}.${field}`, message: `parameter "${ref.param}" is not declared` });
      else if (parameter.type !== type) problems.push({ file, path: `${path}.${field}`, message: `parameter "${ref.param}" is ${parameter.type}, expected ${type}` });
    }
    seen.set(step.id, step);
    actionsSoFar.add(step.action);
  });
  return problems;
}

function paramRefs(step: Step): Array<[string, ParamRef, Parameter['type']]> {
  const refs: Array<[string, ParamRef | unknown, Parameter['type']]> = [['when.minRisk', step.when?.minRisk, 'risk']];
  if (step.action === 'collect') refs.push(['with.lookbackHours', step.with.lookbackHours, 'integer'], ['with.maxEvents', step.with.maxEvents, 'integer']);
  if (step.action === 'request-approval') refs.push(['with.minRisk', step.with.minRisk, 'risk'], ['with.expiresIn', step.with.expiresIn, 'duration']);
  return refs.filter((entry): entry is [string, ParamRef, Parameter['type']] => typeof entry[1] === 'object' && entry[1] !== null);
}

/** Lints every *.yaml in a directory, including rules across files (unique ids). */
export async function lintPlaybookDirectory(directory: string): Promise<LintResult> {
  const files = (await readdir(directory)).filter((name) => /\.ya?ml$/.test(name)).sort();
  const playbooks: LoadedPlaybook[] = [];
  const problems: LintProblem[] = [];
  for (const name of files) {
    const file = join(directory, name);
    const text = await readFile(file, 'utf8');
    const result = lintPlaybookText(text, file);
    problems.push(...result.problems);
    if (result.playbook) playbooks.push({ playbook: result.playbook, file, sha256: sha256Hex(text) });
  }
  const byId = new Map<string, string>();
  for (const { playbook, file } of playbooks) {
    const other = byId.get(playbook.id);
    if (other) problems.push({ file, path: 'id', message: `id ${playbook.id} is also used by ${other}` });
    byId.set(playbook.id, file);
  }
  if (files.length === 0) problems.push({ file: directory, path: '(directory)', message: 'no playbooks (*.yaml) found' });
  return { playbooks, problems };
}
