import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Figures a reliability test measured (cases, trials, refusals), appended as JSON lines to
 * $WMI_RELIABILITY_OUT/figures.jsonl when that is set, so docs/RELIABILITY.md can quote a real run.
 */
export function recordFigures(test: string, figures: Record<string, unknown>): void {
  const directory = process.env.WMI_RELIABILITY_OUT;
  if (!directory) return;
  mkdirSync(directory, { recursive: true });
  appendFileSync(join(directory, 'figures.jsonl'), `${JSON.stringify({ test, at: new Date().toISOString(), ...figures })}\n`);
}
