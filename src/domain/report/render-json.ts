import { ReportSchema, type Report } from '../finding.js';

/**
 * The JSON report (docs/report-contract.md). It is validated against the contract before it is written,
 * so a report that breaks the contract fails loudly here instead of in the tools that read it.
 */
export function renderJson(report: Report): string {
  return `${JSON.stringify(ReportSchema.parse(report), null, 2)}\n`;
}
