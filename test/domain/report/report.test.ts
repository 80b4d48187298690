import { describe, expect, it } from 'vitest';
import { analyzeObjects } from '../../../src/domain/analysis/analyze.js';
import { ReportSchema, type Report } from '../../../src/domain/finding.js';
import { buildReport, mergeHostSummaries } from '../../../src/domain/report/build-report.js';
import { formatHuntId, huntDay, isHuntId, parseHuntId } from '../../../src/domain/report/hunt-id.js';
import { renderJson } from '../../../src/domain/report/render-json.js';
import { renderMarkdown } from '../../../src/domain/report/render-markdown.js';
import { renderText } from '../../../src/domain/report/render-text.js';
import { activeScriptConsumer, commandLineConsumer, filterObject, STARTUP_QUERY, subscription, utf16Base64 } from '../analysis/build-objects.js';

const HOST = { host: 'HOST01', collectedAt: '2026-11-29T09:30:00.000Z', namespacesScanned: 5, errors: [], sources: ['a.json'] };

function sampleReport(overrides: Partial<Parameters<typeof buildReport>[0]> = {}): Report {
  const findings = analyzeObjects(
    [
      ...subscription(filterObject('Updater', STARTUP_QUERY), commandLineConsumer('Updater', `powershell.exe -NonI -W hidden -enc ${utf16Base64('IEX $x')}`)),
      ...subscription(filterObject('Script', STARTUP_QUERY), activeScriptConsumer('Script', 'Set s = CreateObject("WScript.Shell")\r\ns.Run "calc"')),
    ],
    { allowlist: [] },
  );
  return buildReport({ huntId: 'TH-WMI-20261129-001', generatedAt: '2026-11-29T10:00:00.000Z', hosts: [HOST], findings, ...overrides });
}

describe('hunt ids', () => {
  it('formats and parses TH-WMI-YYYYMMDD-NNN', () => {
    expect(formatHuntId('20261129', 1)).toBe('TH-WMI-20261129-001');
    expect(formatHuntId('20261129', 1234)).toBe('TH-WMI-20261129-1234');
    expect(parseHuntId('TH-WMI-20261129-042')).toEqual({ day: '20261129', sequence: 42 });
    expect(huntDay(new Date('2026-11-29T23:59:59.999Z'))).toBe('20261129');
  });

  it.each(['TH-WMI-20261329-001', 'TH-WMI-20261129-01', 'TH-WMI-20261129-000', 'th-wmi-20261129-001', 'TH-WMI-20260230-001', 'x'])('refuses %s', (text) => {
    expect(isHuntId(text)).toBe(false);
    expect(() => parseHuntId(text)).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }));
  });
});

describe('building the report', () => {
  it('sorts findings by risk and validates against the report contract', () => {
    const report = sampleReport();
    expect(ReportSchema.parse(report)).toEqual(report);
    expect(report.findings.map((f) => f.riskLevel)).toEqual(['Critical', 'Critical']);
    expect(report.partial).toBe(false);
  });

  it('marks the report partial when a namespace could not be read or input had problems', () => {
    expect(sampleReport({ hosts: [{ ...HOST, errors: [{ namespace: 'root\\secret', code: 'access-denied', message: 'denied' }] }] }).partial).toBe(true);
    expect(sampleReport({ problems: [{ source: 'b.json', position: 'line 3', message: 'bad record' }] }).partial).toBe(true);
  });

  it('refuses a malformed hunt id', () => {
    expect(() => sampleReport({ huntId: 'TH-WMI-2026-1' })).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }));
  });

  it('merges summaries of several collections of one host', () => {
    const merged = mergeHostSummaries([HOST, { ...HOST, host: 'host01', sources: ['b.json'], collectedAt: '2026-11-30T00:00:00.000Z' }]);
    expect(merged).toEqual([{ ...HOST, sources: ['a.json', 'b.json'], collectedAt: '2026-11-30T00:00:00.000Z' }]);
  });
});

describe('renderers', () => {
  it('writes the plain text with exactly the hunt output format labels, in order, for each finding', () => {
    const text = renderText(sampleReport());
    const labels = ['Hunt ID', 'Host', 'Subscription Name', 'Filter Query', 'Consumer Type', 'Consumer Action', 'Binding', 'Created', 'User Context', 'Risk Level', 'Namespace', 'Reasons', 'Content Hash', 'Origin'];
    const blocks = text.split(/^--- Finding /m).slice(1);
    expect(blocks).toHaveLength(2);
    for (const block of blocks) {
      const seen = block.split('\n').map((line) => /^([A-Z][A-Za-z ]+):/.exec(line)?.[1]).filter(Boolean);
      expect(seen).toEqual(labels);
    }
    expect(text).toContain('Hunt ID: TH-WMI-20261129-001');
    expect(text).toContain('Risk Level: Critical');
    expect(text).toContain('Consumer Type: CommandLine');
    expect(text).toContain('Origin: not traced');
  });

  it('indents continuation lines of multi-line scripts so they cannot pose as fields', () => {
    const text = renderText(sampleReport());
    expect(text).toContain('Consumer Action: VBScript: Set s = CreateObject("WScript.Shell")\n    s.Run "calc"');
  });

  it('says so at the top when the report is partial', () => {
    const text = renderText(sampleReport({ problems: [{ source: 'b.json', position: null, message: 'truncated' }] }));
    expect(text).toMatch(/PARTIAL REPORT/);
    expect(renderMarkdown(sampleReport({ problems: [{ source: 'b.json', position: null, message: 'truncated' }] }))).toMatch(/\*\*Partial report\*\*/);
  });

  it('writes Markdown with a summary table and a section per finding, escaping attacker text', () => {
    const report = sampleReport();
    report.findings[0]!.filterName = 'evil | name <script>';
    const markdown = renderMarkdown(report);
    expect(markdown).toMatch(/^# WMI persistence hunt TH-WMI-20261129-001/);
    expect(markdown).toContain('| # | Risk | Host | Subscription | Consumer | Benign |');
    expect(markdown.match(/^## \d+\./gm)).toHaveLength(2);
    expect(markdown).toContain('evil \\| name \\<script\\>');
    expect(markdown).toContain('| Risk Level | **Critical** |');
  });

  it('keeps a payload containing backticks inside its code fence', () => {
    const report = sampleReport();
    report.findings[0]!.consumerAction = 'powershell -c "```\n# heading"';
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('````text\npowershell -c "```\n# heading"\n````');
  });

  it('writes JSON that parses back to the same report and refuses one that breaks the contract', () => {
    const report = sampleReport();
    expect(JSON.parse(renderJson(report))).toEqual(report);
    expect(() => renderJson({ ...report, findings: [{ ...report.findings[0]!, riskLevel: 'Severe' as never }] })).toThrow();
  });
});
