import { RISK_LEVELS, type Finding, type RiskLevel } from '../finding.js';

/** Shared by the renderers: counts per level and the name a finding goes by. */
export function riskCounts(findings: readonly Finding[]): Record<RiskLevel, number> {
  const counts = Object.fromEntries(RISK_LEVELS.map((level) => [level, 0])) as Record<RiskLevel, number>;
  for (const finding of findings) counts[finding.riskLevel] += 1;
  return counts;
}

export function summaryLine(counts: Record<RiskLevel, number>, findings: readonly Finding[]): string {
  const levels = [...RISK_LEVELS].reverse().map((level) => `${counts[level]} ${level}`);
  const benign = findings.filter((f) => f.benign).length;
  return `${findings.length} (${levels.join(', ')}; ${benign} known-benign)`;
}

/** "Filter / Consumer", or the one name when both are the same or only one exists. */
export function subscriptionName(finding: Finding): string {
  const names = [finding.filterName, finding.consumerName].filter((n): n is string => n !== null && n !== '');
  if (names.length === 0) return finding.objects[0]?.key ?? '(unnamed)';
  if (names.length === 2 && names[0] === names[1]) return names[0]!;
  return names.join(' / ');
}
