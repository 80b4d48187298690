/**
 * Writes BinXml into a chunk-sized buffer the way Windows lays it out (names and template definitions
 * inline on first use, referenced by chunk offset afterwards), to build decoder cases by hand.
 */
export class BinXmlWriter {
  readonly chunk = Buffer.alloc(0x10000);
  position = 0x200;
  private readonly names = new Map<string, number>();

  u8(value: number): this {
    this.chunk.writeUInt8(value, this.position);
    this.position += 1;
    return this;
  }

  u16(value: number): this {
    this.chunk.writeUInt16LE(value, this.position);
    this.position += 2;
    return this;
  }

  u32(value: number): this {
    this.chunk.writeUInt32LE(value, this.position);
    this.position += 4;
    return this;
  }

  bytes(value: Buffer): this {
    value.copy(this.chunk, this.position);
    this.position += value.length;
    return this;
  }

  name(text: string): this {
    const known = this.names.get(text);
    if (known !== undefined) return this.u32(known);
    const offset = this.position + 4;
    this.names.set(text, offset);
    this.u32(offset).u32(0).u16(0).u16(text.length).bytes(Buffer.from(text, 'utf16le')).u16(0);
    return this;
  }

  fragmentHeader(): this {
    return this.u8(0x0f).u8(1).u8(1).u8(0);
  }

  open(name: string, options: { attributes?: boolean; inTemplate?: boolean } = {}): this {
    this.u8(options.attributes ? 0x41 : 0x01);
    if (options.inTemplate ?? true) this.u16(0xffff);
    this.u32(0).name(name);
    if (options.attributes) this.u32(0);
    return this;
  }

  attribute(name: string): this {
    return this.u8(0x06).name(name);
  }

  closeStart(): this {
    return this.u8(0x02);
  }

  closeEmpty(): this {
    return this.u8(0x03);
  }

  end(): this {
    return this.u8(0x04);
  }

  eof(): this {
    return this.u8(0x00);
  }

  text(value: string): this {
    return this.u8(0x05).u8(0x01).u16(value.length).bytes(Buffer.from(value, 'utf16le'));
  }

  substitution(index: number, type: number, optional = true): this {
    return this.u8(optional ? 0x0e : 0x0d).u16(index).u8(type);
  }

  charRef(code: number): this {
    return this.u8(0x08).u16(code);
  }

  entityRef(name: string): this {
    return this.u8(0x09).name(name);
  }

  /**
   * A template instance with its definition inline; returns the definition's chunk offset. A value
   * given as `write` is written in place (embedded BinXml must sit where its offsets say).
   */
  templateInstance(body: (writer: this) => void, values: Value[]): number {
    this.u8(0x0c).u8(1).u32(0x1234);
    const definition = this.position + 4;
    this.u32(definition).u32(0).bytes(Buffer.alloc(16, 0xab));
    const sizeAt = this.position;
    this.u32(0);
    body(this);
    this.chunk.writeUInt32LE(this.position - sizeAt - 4, sizeAt);
    this.values(values);
    return definition;
  }

  templateReference(definition: number, values: Value[]): this {
    this.u8(0x0c).u8(1).u32(0x1234).u32(definition);
    return this.values(values);
  }

  private values(values: Value[]): this {
    this.u32(values.length);
    const descriptors = values.map((value) => {
      const at = this.position;
      this.u16('bytes' in value ? value.bytes.length : 0).u8(value.type).u8(0);
      return at;
    });
    values.forEach((value, index) => {
      const start = this.position;
      if ('bytes' in value) this.bytes(value.bytes);
      else value.write(this);
      this.chunk.writeUInt16LE(this.position - start, descriptors[index]!);
    });
    return this;
  }
}

type Value = { type: number; bytes: Buffer } | { type: number; write: (writer: BinXmlWriter) => void };

export const utf16z = (value: string): Buffer => Buffer.from(`${value}\0`, 'utf16le');
