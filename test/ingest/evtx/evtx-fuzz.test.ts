import fc from 'fast-check';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventRecordSchema } from '../../../src/domain/event-record.js';
import { isCodedError, ErrorCode } from '../../../src/errors.js';
import { readChunk } from '../../../src/ingest/evtx/evtx-chunk.js';
import { readEvtx } from '../../../src/ingest/evtx/evtx-reader.js';
import { HEADER_SIZE, sampleChunk, sampleFile } from './evtx-fixtures.js';
import { temporaryFolder } from '../../support/temporary-folder.js';

/**
 * Hostile input: the real file with bits flipped, cut short, or overwritten with random bytes. The
 * reader must never throw (damage becomes problems), must finish, and must only yield well-formed
 * records. Run counts stay modest here; the reliability work scales them up.
 */
const RUNS = Number(process.env.WMI_FUZZ_RUNS ?? 200);
const original = sampleFile();
const chunk = sampleChunk();

const folder = temporaryFolder('wmi-hunter-evtx-fuzz-');

function checkItems(items: Array<{ record: unknown } | { problem: { position: string; message: string } }>): void {
  for (const item of items) {
    if ('problem' in item) {
      expect(typeof item.problem.position).toBe('string');
      expect(item.problem.message.length).toBeGreaterThan(0);
    } else {
      expect(EventRecordSchema.safeParse(item.record).success).toBe(true);
    }
  }
}

async function readFileBytes(bytes: Buffer) {
  const path = join(folder(), 'fuzz.evtx');
  await writeFile(path, bytes);
  const items = [];
  for await (const item of readEvtx(path)) items.push(item);
  return items;
}

// The header and the records, where damage matters; the zero tail past the free-space offset rarely does.
const chunkOffset = fc.integer({ min: 0, max: chunk.readUInt32LE(48) - 1 });

describe('the EVTX reader on hostile input', () => {
  it('never throws out of a chunk with bits flipped anywhere in it', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(chunkOffset, fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 16 }), (flips) => {
        const damaged = Buffer.from(chunk);
        for (const [at, bit] of flips) damaged[at] = damaged[at]! ^ (1 << bit);
        checkItems([...readChunk(damaged, 0, HEADER_SIZE)]);
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws out of a chunk with a run of random bytes written into it', () => {
    fc.assert(
      fc.property(chunkOffset, fc.uint8Array({ minLength: 1, maxLength: 600 }), (at, garbage) => {
        const damaged = Buffer.from(chunk);
        damaged.set(garbage.subarray(0, damaged.length - at), at);
        checkItems([...readChunk(damaged, 0, HEADER_SIZE)]);
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws out of a chunk whose records area is entirely random', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0x200, maxLength: 0x4000 }), fc.boolean(), (garbage, keepHeader) => {
        const damaged = Buffer.from(chunk);
        damaged.set(garbage, keepHeader ? 0x200 : 0);
        checkItems([...readChunk(damaged, 0, HEADER_SIZE)]);
      }),
      { numRuns: RUNS },
    );
  });

  it('reads a file cut at any length without throwing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 8, max: original.length }), async (length) => {
        checkItems(await readFileBytes(original.subarray(0, length)));
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('throws only "not EVTX" when random bytes hit the file header, and then only when no chunk is found', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 200 }), fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.boolean(), async (at, garbage, breakChunk) => {
        const damaged = Buffer.from(original);
        damaged.set(garbage, at);
        if (breakChunk) damaged.fill(0x58, HEADER_SIZE, HEADER_SIZE + 8);
        try {
          checkItems(await readFileBytes(damaged));
        } catch (error) {
          expect(isCodedError(error) && error.code === ErrorCode.UnsupportedFormat).toBe(true);
          expect(breakChunk && !damaged.subarray(0, 8).equals(Buffer.from('ElfFile\0', 'latin1'))).toBe(true);
        }
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});
