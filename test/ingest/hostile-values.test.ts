import { describe, expect, it } from 'vitest';
import { eventRecordFromJson } from '../../src/ingest/flat-record.js';

/** Found by the parser fuzzing of test/reliability: an instant a Date cannot hold threw a RangeError. */
describe('event records with times no Date can hold', () => {
  it('treats an out-of-range epoch time as no time instead of throwing a RangeError', () => {
    for (const time of [-8_640_000_000_000.001, 8.7e15, '/Date(99999999999999999)/']) {
      expect(() => eventRecordFromJson({ UtcTime: time, EventID: 0 })).not.toThrow(RangeError);
    }
  });
});
