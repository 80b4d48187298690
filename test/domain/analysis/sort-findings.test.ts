import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareFindings, sortFindings } from '../../../src/domain/analysis/analyze.js';
import type { Finding } from '../../../src/domain/finding.js';

const LEVELS = ['Low', 'Medium', 'High', 'Critical'] as const;

/** Few distinct values per key, so findings tie on the early keys and the later ones decide. */
const findingArbitrary = fc
  .record({
    riskLevel: fc.constantFrom(...LEVELS),
    benign: fc.boolean(),
    host: fc.constantFrom('WS01', 'ws01', 'Ws02', 'srv-ä', 'SRV-Ä'),
    namespace: fc.constantFrom('root\\subscription', 'root\\default', 'root\\cimv2'),
    filterName: fc.option(fc.constantFrom('Updater', 'updater', 'SCM Event Log Filter'), { nil: null }),
    consumerName: fc.option(fc.constantFrom('Updater', 'BVTConsumer'), { nil: null }),
    id: fc.constantFrom('aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'cccccccccccc'),
  })
  .map((fields) => fields as unknown as Finding);

describe('sorting findings for a report', () => {
  it('orders findings exactly as compareFindings does, ties and case differences included', () => {
    fc.assert(
      fc.property(fc.array(findingArbitrary, { maxLength: 60 }), (findings) => {
        expect(sortFindings(findings)).toEqual([...findings].sort(compareFindings));
        // Equal-keyed findings keep their input order in both, so identity matches too.
        sortFindings(findings).forEach((finding, index) => expect(finding).toBe([...findings].sort(compareFindings)[index]));
      }),
    );
  });

  it('leaves the input array as it was', () => {
    const findings = [{ riskLevel: 'Low', benign: false, host: 'b', namespace: 'n', filterName: 'x', consumerName: null, id: '1' }, { riskLevel: 'High', benign: false, host: 'a', namespace: 'n', filterName: 'y', consumerName: null, id: '2' }] as unknown as Finding[];
    const before = [...findings];
    expect(sortFindings(findings).map((finding) => finding.id)).toEqual(['2', '1']);
    expect(findings).toEqual(before);
  });
});
