import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAllowlist } from '../../src/allowlist/load-allowlist.js';
import type { Finding } from '../../src/domain/finding.js';
import { analyzeInputs } from '../../src/ingest/offline-analysis.js';
import { sourceRecords, writeDataset } from '../../bench/support/event-datasets.js';
import { temporaryFolder } from '../support/temporary-folder.js';

/**
 * An export of many hosts is traced host by host: the tracer looks up each finding's host's
 * subscription events, processes, script records and WMI accesses (it used to scan every host's for
 * every finding, which made the benchmark's 1M-record exports superlinear). Another host's events,
 * even with the same subscription names, must change nothing in a host's findings.
 */
function ofCopy(findings: Finding[], copy: number): string {
  const mine = findings.filter((finding) => finding.host.includes(`-c${copy}`));
  // Evidence names the file and line it was read from, and a finding's id hashes its host: those
  // differ between the files and the copies, what the findings say does not.
  return JSON.stringify(mine)
    .replace(new RegExp(`-c${copy}\\b`, 'g'), '-cN')
    .replace(/"source":"[^"]*"/g, '"source":"-"')
    .replace(/"id":"[0-9a-f]{12}"/g, '"id":"-"');
}

describe('tracing an export of many hosts', () => {
  const folder = temporaryFolder('wmi-hunter-many-hosts-');

  it('gives each host the findings and origins it gets alone', async () => {
    const allowlist = await loadAllowlist({ files: [] });
    const perCopy = (await sourceRecords('evtx-dump-jsonl')).length;
    const one = await writeDataset('evtx-dump-jsonl', perCopy, join(folder(), 'one.jsonl'));
    const three = await writeDataset('evtx-dump-jsonl', perCopy * 3, join(folder(), 'three.jsonl'));
    const alone = await analyzeInputs([one.path], { cwd: folder(), allowlist });
    const together = await analyzeInputs([three.path], { cwd: folder(), allowlist });
    expect(alone.findings.some((finding) => finding.origin !== null)).toBe(true);
    expect(together.findings).toHaveLength(alone.findings.length * 3);
    // Shuffling changes the order records are read in, never what a host's findings say.
    const sorted = (text: string) => JSON.stringify((JSON.parse(text) as Finding[]).map((finding) => JSON.stringify(finding)).sort());
    for (const copy of [0, 1, 2]) expect(sorted(ofCopy(together.findings, copy))).toBe(sorted(ofCopy(alone.findings, 0)));
  }, 120_000);
});
