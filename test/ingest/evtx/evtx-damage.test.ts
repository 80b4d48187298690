import { describe, expect, it } from 'vitest';
import { CHUNK_SIZE, evtxFile, readBytes, recordOffsets, resealChunk, sampleChunk, sampleFile, HEADER_SIZE } from './evtx-fixtures.js';

const ALL_RECORD_IDS = Array.from({ length: 17 }, (_, i) => 16108 + i);

function messages(problems: Array<{ message: string }>): string {
  return problems.map((problem) => problem.message).join('\n');
}

describe('damaged EVTX files are read as far as possible, with the damage reported', () => {
  it('reads a file cut in the middle of a record up to the cut and says where it ends', async () => {
    const chunk = sampleChunk();
    const offsets = recordOffsets(chunk);
    const cut = HEADER_SIZE + offsets[8]! + 100;
    const { records, problems } = await readBytes(sampleFile().subarray(0, cut));
    expect(records.map((record) => record.recordId)).toEqual(ALL_RECORD_IDS.slice(0, 8));
    expect(messages(problems)).toMatch(/chunk is cut short: the file ends \d+ bytes into it/);
    expect(messages(problems)).toMatch(/record size \d+ points outside its chunk/);
    const cutProblem = problems.find((problem) => /points outside/.test(problem.message));
    expect(cutProblem?.position).toBe(`file offset 0x${(HEADER_SIZE + offsets[8]!).toString(16)} (chunk 0, record number 9)`);
  });

  it('reports a chunk header checksum mismatch and still reads every record', async () => {
    const chunk = sampleChunk();
    chunk[0x60] = chunk[0x60]! ^ 0xff;
    const { records, problems } = await readBytes(evtxFile([chunk]));
    expect(records.map((record) => record.recordId)).toEqual(ALL_RECORD_IDS);
    expect(problems).toEqual([
      { position: 'file offset 0x1000 (chunk 0)', message: expect.stringMatching(/chunk header checksum \(CRC32\) does not match/), offset: 0x1000 },
    ]);
  });

  it('skips a record with garbage in its binary XML, reports it and the data checksum, and reads the rest', async () => {
    const chunk = sampleChunk();
    const target = recordOffsets(chunk)[3]!;
    chunk.fill(0xee, target + 24, target + 56);
    const { records, problems } = await readBytes(evtxFile([chunk]));
    expect(records.map((record) => record.recordId)).toEqual(ALL_RECORD_IDS.filter((id) => id !== 16111));
    expect(messages(problems)).toMatch(/event records checksum \(CRC32\) does not match/);
    const recordProblem = problems.find((problem) => /record not readable/.test(problem.message));
    expect(recordProblem).toMatchObject({
      position: `file offset 0x${(HEADER_SIZE + target).toString(16)} (chunk 0, record number 4)`,
      message: expect.stringMatching(/unexpected BinXml token 0xee/),
    });
  });

  it('with resealed checksums, reports only the unreadable record', async () => {
    const chunk = sampleChunk();
    const target = recordOffsets(chunk)[3]!;
    chunk.fill(0xee, target + 24, target + 56);
    const { records, problems } = await readBytes(evtxFile([resealChunk(chunk)]));
    expect(records).toHaveLength(16);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/^record not readable/);
  });

  it('skips a record whose size points outside its chunk and finds the next record', async () => {
    const chunk = sampleChunk();
    const offsets = recordOffsets(chunk);
    const target = offsets[5]!;
    chunk.writeUInt32LE(0x20000, target + 4);
    const { records, problems } = await readBytes(evtxFile([resealChunk(chunk)]));
    expect(records.map((record) => record.recordId)).toEqual(ALL_RECORD_IDS.filter((id) => id !== 16113));
    expect(problems).toEqual([
      {
        position: `file offset 0x${(HEADER_SIZE + target).toString(16)} (chunk 0, record number 6)`,
        message: `record size 131072 points outside its chunk; record skipped, reading resumes at file offset 0x${(HEADER_SIZE + offsets[6]!).toString(16)}`,
        offset: HEADER_SIZE + target,
      },
    ]);
  });

  it('skips a record whose trailing size copy disagrees', async () => {
    const chunk = sampleChunk();
    const target = recordOffsets(chunk)[2]!;
    const size = chunk.readUInt32LE(target + 4);
    chunk.writeUInt32LE(size + 8, target + size - 4);
    const { records, problems } = await readBytes(evtxFile([resealChunk(chunk)]));
    expect(records).toHaveLength(16);
    expect(messages(problems)).toMatch(/does not match the copy at its end/);
  });

  it('does not let a corrupt chunk stop the next one', async () => {
    const broken = sampleChunk();
    broken.fill(0x41, 0x1400, 0x5000);
    const { records, problems } = await readBytes(evtxFile([broken, sampleChunk()]));
    const second = records.slice(-17).map((record) => record.recordId);
    expect(second).toEqual(ALL_RECORD_IDS);
    expect(records.length).toBeGreaterThan(17);
    expect(records.length).toBeLessThan(34);
    expect(problems.every((problem) => problem.position.includes('(chunk 0'))).toBe(true);
    expect(messages(problems)).toMatch(/record skipped, reading resumes at file offset 0x[0-9a-f]+/);
  });

  it('scans a chunk whose signature is gone for the records in it', async () => {
    const chunk = sampleChunk();
    chunk.fill(0, 0, 8);
    const { records, problems } = await readBytes(evtxFile([chunk]));
    expect(records).toHaveLength(17);
    expect(messages(problems)).toMatch(/chunk has no ElfChnk signature/);
  });

  it('reads records a partly written chunk holds past its free-space offset', async () => {
    const chunk = sampleChunk();
    chunk.writeUInt32LE(recordOffsets(chunk)[10]!, 48);
    const { records, problems } = await readBytes(evtxFile([resealChunk(chunk)], { flags: 1 }));
    expect(records.map((record) => record.recordId)).toEqual(ALL_RECORD_IDS);
    expect(messages(problems)).toMatch(/file is marked dirty/);
    expect(messages(problems)).toMatch(/records found past the chunk free-space offset/);
  });

  it('reports a file header checksum mismatch and reads the chunks', async () => {
    const file = evtxFile([sampleChunk()]);
    file[0x30] = 1;
    const { records, problems } = await readBytes(file);
    expect(records).toHaveLength(17);
    expect(problems).toEqual([expect.objectContaining({ message: expect.stringMatching(/file header checksum/), offset: 124 })]);
  });

  it('reads chunks after a damaged file signature', async () => {
    const file = evtxFile([sampleChunk()]);
    file.fill(0, 0, 8);
    const { records, problems } = await readBytes(file);
    expect(records).toHaveLength(17);
    expect(messages(problems)).toMatch(/file header has no ElfFile signature/);
  });

  it('passes over zero-filled chunk slots Windows allocated ahead, unless the header counts them', async () => {
    const empty = Buffer.alloc(CHUNK_SIZE);
    const quiet = await readBytes(evtxFile([sampleChunk(), empty], { declaredChunks: 1 }));
    expect(quiet).toMatchObject({ problems: [] });
    expect(quiet.records).toHaveLength(17);
    const counted = await readBytes(evtxFile([sampleChunk(), empty]));
    expect(messages(counted.problems)).toMatch(/chunk is empty although the file header counts 2 chunks/);
  });

  it('says when the file ends before the chunks its header counts', async () => {
    const { records, problems } = await readBytes(evtxFile([sampleChunk()], { declaredChunks: 3 }));
    expect(records).toHaveLength(17);
    expect(messages(problems)).toMatch(/file ends after 1 chunks but its header counts 3/);
  });
});
