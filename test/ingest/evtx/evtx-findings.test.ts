import { describe, expect, it } from 'vitest';
import { loadAllowlist } from '../../../src/allowlist/load-allowlist.js';
import { detectReader } from '../../../src/ingest/formats.js';
import { analyzeInputs } from '../../../src/ingest/offline-analysis.js';
import { SAMPLE_EVTX, SAMPLE_XML } from './evtx-fixtures.js';

/** Findings name the files they were read from; everything else must not depend on the format. */
function withoutSources(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, item: unknown) => (key === 'source' || key === 'sources' ? undefined : item)));
}

describe('offline analysis of the raw .evtx', () => {
  it('is detected by content as evtx', async () => {
    expect((await detectReader(SAMPLE_EVTX)).name).toBe('evtx');
  });

  it('gives the same findings as the XML export of the same recording', async () => {
    const allowlist = await loadAllowlist();
    const fromEvtx = await analyzeInputs([SAMPLE_EVTX], { cwd: process.cwd(), allowlist });
    const fromXml = await analyzeInputs([SAMPLE_XML], { cwd: process.cwd(), allowlist });
    expect(fromEvtx.problems).toEqual([]);
    expect(fromEvtx.files).toEqual([expect.objectContaining({ format: 'evtx', events: 15, problems: 0, hosts: ['IEWIN7'] })]);
    expect(fromEvtx.findings).toHaveLength(1);
    expect(fromEvtx.findings[0]).toMatchObject({
      filterName: 'BotFilter82',
      consumerName: 'BotConsumer23',
      consumerType: 'CommandLine',
      riskLevel: 'Critical',
      origin: expect.objectContaining({ method: 'wmic' }),
    });
    expect(withoutSources(fromEvtx.findings)).toEqual(withoutSources(fromXml.findings));
  });
});
