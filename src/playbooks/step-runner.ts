import { asCodedError, type CodedError } from '../errors.js';
import type { Finding, RiskLevel } from '../domain/finding.js';
import { atOrAbove, resolveValue, type ParamValues } from './playbook-registry.js';
import type { Step } from './playbook-schema.js';

/**
 * Runs the steps of one phase in order: a step whose `when` does not hold is skipped; a failing
 * step stops the phase unless it says `onFailure: continue`, in which case later steps can branch
 * on it with `when: { failed: <id> }`. The one generic runner serves every action; what an action
 * does is the handler's business.
 */
export type StepOutcome = 'succeeded' | 'failed' | 'skipped';

export interface StepState {
  params: ParamValues;
  findings: () => Finding[];
  /** Findings the report step judged new since the previous run (sweeps). */
  newFindings: () => number;
  outcomes: Record<string, StepOutcome>;
  failures: Record<string, string>;
}

export function conditionHolds(step: Step, state: StepState): boolean {
  const when = step.when;
  if (!when) return true;
  if (when.minRisk !== undefined) {
    const threshold = resolveValue<RiskLevel>(when.minRisk, state.params);
    if (!state.findings().some((finding) => !finding.benign && atOrAbove(finding.riskLevel, threshold))) return false;
  }
  if (when.newFindings !== undefined && state.newFindings() > 0 !== when.newFindings) return false;
  if (when.failed !== undefined && state.outcomes[when.failed] !== 'failed') return false;
  if (when.succeeded !== undefined && state.outcomes[when.succeeded] !== 'succeeded') return false;
  return true;
}

export async function runSteps(steps: Step[], state: StepState, handle: (step: Step) => Promise<void>): Promise<void> {
  for (const step of steps) {
    if (!conditionHolds(step, state)) {
      state.outcomes[step.id] = 'skipped';
      continue;
    }
    try {
      await handle(step);
      state.outcomes[step.id] = 'succeeded';
    } catch (thrown) {
      const error: CodedError = asCodedError(thrown);
      state.outcomes[step.id] = 'failed';
      state.failures[step.id] = `${error.code}: ${error.message}`;
      if (step.onFailure !== 'continue') throw error;
    }
  }
}
