import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { partsFromEventXml, eventXmlReader } from '../../../src/ingest/event-xml-reader.js';
import { BinXmlDecoder } from '../../../src/ingest/evtx/binxml-decoder.js';
import { eventPartsFromXml } from '../../../src/ingest/evtx/event-parts.js';
import { evtxReader, isEvtx, readEvtx } from '../../../src/ingest/evtx/evtx-reader.js';
import type { ReadItem } from '../../../src/ingest/reader.js';
import { ErrorCode } from '../../../src/errors.js';
import { evtxFile, readAll, recordOffsets, sampleChunk, sampleFile, SAMPLE_EVTX, SAMPLE_XML, withTempFile } from './evtx-fixtures.js';

function xmlEvents(): string[] {
  return readFileSync(SAMPLE_XML, 'utf8').match(/<Event[\s>][\s\S]*?<\/Event>/g) ?? [];
}

function evtxParts() {
  const chunk = sampleChunk();
  const decoder = new BinXmlDecoder(chunk);
  return recordOffsets(chunk).map((at) => eventPartsFromXml(decoder.renderDocument(at + 24, at + chunk.readUInt32LE(at + 4) - 4)));
}

async function collect(items: AsyncIterable<ReadItem>): Promise<ReadItem[]> {
  const out: ReadItem[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('reading the recorded wmic CommandLineEventConsumer .evtx', () => {
  it('renders every event to the same parts, field by field, as its Windows XML export (SystemTime text included)', () => {
    const fromXml = xmlEvents().map(partsFromEventXml);
    const fromEvtx = evtxParts();
    expect(fromEvtx).toHaveLength(17);
    expect(fromXml).toHaveLength(17);
    fromEvtx.forEach((parts, index) => expect(parts, `event ${index}`).toEqual(fromXml[index]));
  });

  it('yields the same records as the event XML reader, with no problems', async () => {
    const fromXml = (await collect(eventXmlReader.read(SAMPLE_XML, { relevantOnly: false }))).flatMap((item) =>
      item.kind === 'event' ? [item.event] : [],
    );
    const { records, problems } = await readAll(SAMPLE_EVTX);
    expect(problems).toEqual([]);
    expect(records).toEqual(fromXml);
    expect(records.map((record) => record.eventId)).toEqual([1, 1, 1, 20, 21, 1, 1, 19, 1, 10, 10, 1, 20, 19, 1, 21, 1]);
  });

  it('keeps Sysmon values exactly as logged (leading space, quotes, doubled backslashes)', async () => {
    const { records } = await readAll(SAMPLE_EVTX);
    const filter = records.find((record) => record.eventId === 19);
    expect(filter?.data).toMatchObject({
      EventNamespace: ' "root\\\\cimv2"',
      Name: ' "BotFilter82"',
      Operation: 'Created',
      User: 'IEWIN7\\IEUser',
    });
    expect(filter?.time).toBe('2019-05-11T17:58:39.746Z');
    expect(filter?.userSid).toBe('S-1-5-18');
  });

  it('as an EventReader yields only the relevant events, named by file and position', async () => {
    const items = await collect(evtxReader.read(SAMPLE_EVTX, {}));
    const events = items.flatMap((item) => (item.kind === 'event' ? [item] : []));
    expect(events.map((item) => item.event.eventId)).toEqual([1, 1, 1, 20, 21, 1, 1, 19, 1, 1, 20, 19, 1, 21, 1]);
    expect(events[0]).toMatchObject({ source: 'wmic-commandline-consumer.sysmon.evtx', position: 'file offset 0x1200 (chunk 0, record number 1)' });
    const all = await collect(evtxReader.read(SAMPLE_EVTX, { relevantOnly: false }));
    expect(all.filter((item) => item.kind === 'event')).toHaveLength(17);
  });

  it('reports progress in file bytes', async () => {
    const seen: number[] = [];
    await collect(evtxReader.read(SAMPLE_EVTX, { onProgress: (bytes) => seen.push(bytes) }));
    expect(seen.at(-1)).toBe(sampleFile().length);
  });
});

describe('detecting EVTX', () => {
  it('claims a head that starts with ElfFile\\0 and nothing else', () => {
    expect(isEvtx(sampleFile().subarray(0, 64))).toBe(true);
    expect(evtxReader.detect(sampleFile().subarray(0, 8))).toBe(true);
    expect(isEvtx(Buffer.from('ElfFile'))).toBe(false);
    expect(isEvtx(Buffer.from('<Events><Event>'))).toBe(false);
    expect(isEvtx(Buffer.from('ElfChnk\0'))).toBe(false);
  });
});

describe('files that are not EVTX', () => {
  it('rejects a file with neither a file header nor a chunk as an unsupported format', async () => {
    await withTempFile(Buffer.from('{"Event":{}}\n'.repeat(500)), async (path) => {
      await expect(readAll(path)).rejects.toMatchObject({ code: ErrorCode.UnsupportedFormat });
    });
  });

  it('rejects a missing file as not found', async () => {
    await expect(readAll(`${SAMPLE_EVTX}.missing`)).rejects.toMatchObject({ code: ErrorCode.NotFound });
  });

  it('reads an empty but valid log (header only) as no records and no problems', async () => {
    await withTempFile(evtxFile([]), async (path) => {
      const items = [];
      for await (const item of readEvtx(path)) items.push(item);
      expect(items).toEqual([]);
    });
  });
});
