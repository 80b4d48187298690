import { describe, expect, it } from 'vitest';
import { BinXmlDecoder, type XmlElement } from '../../../src/ingest/evtx/binxml-decoder.js';
import { ValueType } from '../../../src/ingest/evtx/binxml-values.js';
import { eventPartsFromXml } from '../../../src/ingest/evtx/event-parts.js';
import { EvtxDamageError } from '../../../src/ingest/evtx/evtx-damage.js';
import { BinXmlWriter, utf16z } from './binxml-writer.js';

const u16 = (value: number) => Buffer.from([value & 0xff, value >> 8]);

function render(writer: BinXmlWriter, start = 0x200): XmlElement {
  return new BinXmlDecoder(writer.chunk).renderDocument(start, writer.position);
}

/** <Event><System>...</System><EventData>{data}</EventData></Event> with System values 0-2. */
function eventTemplate(writer: BinXmlWriter, eventData: (w: BinXmlWriter) => void): void {
  writer.fragmentHeader().open('Event').closeStart();
  writer.open('System').closeStart();
  writer.open('Provider', { attributes: true }).attribute('Name').text('Test-Provider').closeEmpty();
  writer.open('EventID', { attributes: true }).attribute('Qualifiers').substitution(1, ValueType.UInt16).closeStart().substitution(0, ValueType.UInt16).end();
  writer.open('TimeCreated', { attributes: true }).attribute('SystemTime').substitution(2, ValueType.FileTime).closeEmpty();
  writer.open('Channel').closeStart().text('Test/Operational').end();
  writer.open('Computer').closeStart().text('HOST01').end();
  writer.end();
  writer.open('EventData').closeStart();
  eventData(writer);
  writer.end().end().eof();
}

const FILETIME_2019 = (() => {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(BigInt(Date.UTC(2019, 4, 11, 17, 8, 36)) * 10_000n + 116_444_736_000_000_000n + 1_234_567n);
  return bytes;
})();

describe('decoding binary XML', () => {
  it('renders a template instance, leaves out an attribute whose optional substitution is null, and keeps the EventID', () => {
    const writer = new BinXmlWriter();
    writer.fragmentHeader();
    writer.templateInstance(
      (w) =>
        eventTemplate(w, (data) => {
          data.open('Data', { attributes: true }).attribute('Name').text('Image').closeStart().substitution(3, ValueType.String).end();
          data.open('Data', { attributes: true }).attribute('Name').text('Empty').closeStart().substitution(4, ValueType.String).end();
        }),
      [
        { type: ValueType.UInt16, bytes: u16(7036) },
        { type: ValueType.Null, bytes: Buffer.alloc(0) },
        { type: ValueType.FileTime, bytes: FILETIME_2019 },
        { type: ValueType.String, bytes: utf16z('C:\\Windows\\System32\\wbem\\WMIC.exe') },
        { type: ValueType.String, bytes: Buffer.alloc(0) },
      ],
    );
    writer.eof();
    const event = render(writer);
    const eventId = (event.children[0] as XmlElement).children[1] as XmlElement;
    expect(eventId).toEqual({ name: 'EventID', attributes: [], children: ['7036'] });
    expect(eventPartsFromXml(event)).toMatchObject({
      provider: 'Test-Provider',
      eventId: 7036,
      systemTime: '2019-05-11T17:08:36.123456700Z',
      channel: 'Test/Operational',
      computer: 'HOST01',
      eventData: { Image: 'C:\\Windows\\System32\\wbem\\WMIC.exe', Empty: '' },
    });
  });

  it('reuses a template defined by an earlier record through its chunk offset', () => {
    const writer = new BinXmlWriter();
    writer.fragmentHeader();
    const values = (id: number) => [
      { type: ValueType.UInt16, bytes: u16(id) },
      { type: ValueType.Null, bytes: Buffer.alloc(0) },
      { type: ValueType.FileTime, bytes: FILETIME_2019 },
    ];
    const definition = writer.templateInstance((w) => eventTemplate(w, () => undefined), values(19));
    writer.eof();
    const second = writer.position;
    writer.fragmentHeader().templateReference(definition, values(20)).eof();
    const decoder = new BinXmlDecoder(writer.chunk);
    expect(eventPartsFromXml(decoder.renderDocument(0x200, second)).eventId).toBe(19);
    expect(eventPartsFromXml(decoder.renderDocument(second, writer.position)).eventId).toBe(20);
  });

  it('repeats the enclosing element once per array item, naming unnamed Data as Data, Data1 ...', () => {
    const writer = new BinXmlWriter();
    writer.fragmentHeader();
    writer.templateInstance(
      (w) => eventTemplate(w, (data) => data.open('Data').closeStart().substitution(3, ValueType.ArrayFlag | ValueType.String).end()),
      [
        { type: ValueType.UInt16, bytes: u16(1) },
        { type: ValueType.Null, bytes: Buffer.alloc(0) },
        { type: ValueType.FileTime, bytes: FILETIME_2019 },
        { type: ValueType.ArrayFlag | ValueType.String, bytes: Buffer.from('first\0second\0third\0', 'utf16le') },
      ],
    );
    writer.eof();
    expect(eventPartsFromXml(render(writer)).eventData).toEqual({ Data: 'first', Data1: 'second', Data2: 'third' });
  });

  it('renders character and entity references as the characters they stand for', () => {
    const writer = new BinXmlWriter();
    writer.fragmentHeader().open('Event', { inTemplate: false }).closeStart();
    writer.open('Note', { inTemplate: false }).closeStart().text('a').entityRef('amp').entityRef('lt').charRef(0x41).entityRef('unknown').end();
    writer.end().eof();
    expect(render(writer).children).toEqual([{ name: 'Note', attributes: [], children: ['a', '&', '<', 'A', '&unknown;'] }]);
  });

  it('renders UserData carried as an embedded BinXml value, keeping its leaves and dropping the wrapper', () => {
    const writer = new BinXmlWriter();
    writer.fragmentHeader();
    writer.templateInstance(
      (w) => w.fragmentHeader().open('Event').closeStart().open('UserData').closeStart().substitution(0, ValueType.BinXml).end().end().eof(),
      [
        {
          type: ValueType.BinXml,
          write: (embedded) => {
            embedded.fragmentHeader();
            embedded.templateInstance(
              (w) => {
                w.fragmentHeader().open('Operation_ESStoConsumerBinding').closeStart();
                w.open('Namespace').closeStart().substitution(0, ValueType.String).end();
                w.open('CreatorSID').closeStart().substitution(1, ValueType.Sid).end();
                w.end().eof();
              },
              [
                { type: ValueType.String, bytes: utf16z('//./root/subscription') },
                { type: ValueType.Sid, bytes: Buffer.from([1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0]) },
              ],
            );
            embedded.eof();
          },
        },
      ],
    );
    writer.eof();
    expect(eventPartsFromXml(render(writer)).userData).toEqual({ Namespace: '//./root/subscription', CreatorSID: 'S-1-5-32-544' });
  });

  it('refuses a template definition that contains a template instance', () => {
    const writer = new BinXmlWriter();
    writer.fragmentHeader();
    writer.templateInstance((w) => w.fragmentHeader().u8(0x0c).u8(1).u32(0).u32(0x200).eof(), []);
    writer.eof();
    expect(() => render(writer)).toThrow(/template instance inside a template definition/);
  });

  it('reports a template reference to bytes that are not a template, and remembers the failure', () => {
    const writer = new BinXmlWriter();
    writer.fragmentHeader().templateReference(0x8000, []).eof();
    writer.chunk.writeUInt32LE(0xffff, 0x8000 + 20);
    const decoder = new BinXmlDecoder(writer.chunk);
    expect(() => decoder.renderDocument(0x200, writer.position)).toThrow(EvtxDamageError);
    expect(() => decoder.renderDocument(0x200, writer.position)).toThrow(/template definition at chunk offset 0x8000: template definition needs 65535 bytes/);
  });

  it('stops at 64 nested elements instead of recursing without bound', () => {
    const writer = new BinXmlWriter();
    writer.fragmentHeader();
    for (let i = 0; i < 70; i += 1) writer.open('E', { inTemplate: false }).closeStart();
    for (let i = 0; i < 70; i += 1) writer.end();
    writer.eof();
    expect(() => render(writer)).toThrow(/elements nested more than 64 deep/);
  });

  it('stops at 8 nested BinXml values', () => {
    const writer = new BinXmlWriter();
    // Each level: fragment header + a reference to the shared template, whose one value is the next level.
    let body = Buffer.from([0x0f, 1, 1, 0, 0x00]);
    for (let i = 0; i < 10; i += 1) {
      const level = new BinXmlWriter();
      level.position = 0x8000;
      level.fragmentHeader().templateReference(0x100, [{ type: ValueType.BinXml, bytes: body }]).eof();
      body = Buffer.from(level.chunk.subarray(0x8000, level.position));
    }
    // A shared template at 0x100: <E>{value 0}</E>.
    writer.position = 0x100;
    writer.u32(0).bytes(Buffer.alloc(16)).u32(0);
    const bodyStart = writer.position;
    writer.fragmentHeader().open('E').closeStart().substitution(0, ValueType.BinXml).end().eof();
    writer.chunk.writeUInt32LE(writer.position - bodyStart, 0x100 + 20);
    writer.position = 0x8000;
    writer.bytes(body);
    expect(() => new BinXmlDecoder(writer.chunk).renderDocument(0x8000, writer.position)).toThrow(/nested more than 8 fragments deep/);
  });

  it('reports a name offset outside the chunk as damage', () => {
    const writer = new BinXmlWriter();
    writer.fragmentHeader().u8(0x01).u32(0).u32(0xfffff0).u8(0x03).eof();
    expect(() => render(writer)).toThrow(/name header needs 6 bytes/);
  });
});
