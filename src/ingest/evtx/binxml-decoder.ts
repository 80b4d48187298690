import { ByteCursor, hex } from './byte-cursor.js';
import { decodeValue, NULL_VALUE, type SubstitutionValue } from './binxml-values.js';
import { EvtxDamageError } from './evtx-damage.js';

/** A rendered XML element, as Windows' XML rendering of the record would show it (no whitespace nodes). */
export interface XmlElement {
  name: string;
  attributes: XmlAttribute[];
  children: XmlContent[];
}
export interface XmlAttribute {
  name: string;
  value: string;
}
export type XmlContent = XmlElement | string;

type Node = ElementNode | { kind: 'text'; text: string } | SubstitutionNode | TemplateInstanceNode;
interface ElementNode {
  kind: 'element';
  name: string;
  attributes: Array<{ name: string; parts: Node[] }>;
  children: Node[];
  /** Substitutions directly in this element's content or attributes: where an array repeats it. */
  substitutions: number[];
}
interface SubstitutionNode {
  kind: 'substitution';
  index: number;
}
interface TemplateInstanceNode {
  kind: 'template';
  body: Node[];
  values: DecodedValue[];
}
type DecodedValue = Exclude<SubstitutionValue, { kind: 'binxml' }> | { kind: 'fragment'; nodes: Node[] };

interface Template {
  dataSize: number;
  body: Node[];
}

const Token = {
  EndOfStream: 0x00,
  OpenStartElement: 0x01,
  CloseStartElement: 0x02,
  CloseEmptyElement: 0x03,
  EndElement: 0x04,
  Value: 0x05,
  Attribute: 0x06,
  CDataSection: 0x07,
  CharRef: 0x08,
  EntityRef: 0x09,
  PITarget: 0x0a,
  PIData: 0x0b,
  TemplateInstance: 0x0c,
  NormalSubstitution: 0x0d,
  OptionalSubstitution: 0x0e,
  FragmentHeader: 0x0f,
} as const;
/** Bit 0x40 on a token means "more data follows" (attributes on an element, another attribute ...). */
const MORE_DATA = 0x40;

/** Why limits: a hostile file must not exhaust the stack or memory of the process reading it. */
const MAX_ELEMENT_DEPTH = 64;
const MAX_FRAGMENT_DEPTH = 8;
const MAX_RENDERED_NODES = 100_000;

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Decodes the binary XML of one chunk's records. Names and template definitions are referenced by
 * offset within the chunk, so they are decoded once per chunk and cached here (a failed template is
 * cached as failed, which also breaks any cycle of offsets). One decoder per chunk: nothing outlives it.
 */
export class BinXmlDecoder {
  private readonly names = new Map<number, { name: string; size: number }>();
  private readonly templates = new Map<number, Template | EvtxDamageError | 'decoding'>();
  private renderedNodes = 0;

  constructor(private readonly chunk: Buffer) {}

  /** Renders the BinXml document in [start, end) of the chunk into its root element. */
  renderDocument(start: number, end: number): XmlElement {
    const nodes = this.parseFragment(new ByteCursor(this.chunk, start, end), false, 0, 0);
    this.renderedNodes = 0;
    const rendered: XmlContent[] = [];
    this.resolveInto(nodes, null, rendered);
    const root = rendered.find((node): node is XmlElement => typeof node !== 'string');
    if (!root) throw new EvtxDamageError('record holds no XML element', start);
    return root;
  }

  private parseFragment(cursor: ByteCursor, inTemplate: boolean, elementDepth: number, fragmentDepth: number): Node[] {
    if (fragmentDepth > MAX_FRAGMENT_DEPTH) throw damage(`BinXml nested more than ${MAX_FRAGMENT_DEPTH} fragments deep`, cursor.position);
    const nodes: Node[] = [];
    while (cursor.remaining > 0) {
      const token = cursor.peekU8('token');
      switch (token & ~MORE_DATA) {
        case Token.EndOfStream:
          cursor.position += 1;
          return nodes;
        case Token.FragmentHeader:
          cursor.skip(4, 'fragment header');
          break;
        case Token.TemplateInstance:
          if (inTemplate) throw damage('template instance inside a template definition', cursor.position);
          nodes.push(this.parseTemplateInstance(cursor, fragmentDepth));
          break;
        case Token.OpenStartElement:
          nodes.push(this.parseElement(cursor, inTemplate, elementDepth + 1, fragmentDepth));
          break;
        case Token.PITarget:
        case Token.PIData:
          this.skipProcessingInstruction(cursor);
          break;
        default:
          throw unexpectedToken(token, cursor.position, 'a fragment');
      }
    }
    return nodes;
  }

  private parseElement(cursor: ByteCursor, inTemplate: boolean, depth: number, fragmentDepth: number): ElementNode {
    if (depth > MAX_ELEMENT_DEPTH) throw damage(`elements nested more than ${MAX_ELEMENT_DEPTH} deep`, cursor.position);
    const token = cursor.u8('element token');
    // Element starts inside template definitions carry a dependency identifier; others do not.
    if (inTemplate) cursor.skip(2, 'element dependency identifier');
    cursor.skip(4, 'element data size');
    const element: ElementNode = { kind: 'element', name: this.readName(cursor), attributes: [], children: [], substitutions: [] };
    if (token & MORE_DATA) {
      cursor.skip(4, 'attribute list size');
      while (((cursor.peekU8('attribute token') & ~MORE_DATA) as number) === Token.Attribute) {
        cursor.position += 1;
        const name = this.readName(cursor);
        const parts = this.parseAttributeValue(cursor, inTemplate, fragmentDepth);
        element.attributes.push({ name, parts });
        for (const part of parts) if (part.kind === 'substitution') element.substitutions.push(part.index);
      }
    }
    const close = cursor.u8('element close token');
    if (close === Token.CloseEmptyElement) return element;
    if (close !== Token.CloseStartElement) throw unexpectedToken(close, cursor.position - 1, `element <${element.name}>`);
    for (;;) {
      const next = cursor.peekU8('element content token');
      switch (next & ~MORE_DATA) {
        case Token.EndElement:
          cursor.position += 1;
          return element;
        case Token.OpenStartElement:
          element.children.push(this.parseElement(cursor, inTemplate, depth + 1, fragmentDepth));
          break;
        case Token.Value:
        case Token.CDataSection:
        case Token.CharRef:
        case Token.EntityRef:
        case Token.NormalSubstitution:
        case Token.OptionalSubstitution: {
          const content = this.parseContent(cursor);
          element.children.push(content);
          if (content.kind === 'substitution') element.substitutions.push(content.index);
          break;
        }
        case Token.PITarget:
        case Token.PIData:
          this.skipProcessingInstruction(cursor);
          break;
        case Token.TemplateInstance:
          if (inTemplate) throw damage('template instance inside a template definition', cursor.position);
          element.children.push(this.parseTemplateInstance(cursor, fragmentDepth));
          break;
        default:
          throw unexpectedToken(next, cursor.position, `element <${element.name}>`);
      }
    }
  }

  private parseAttributeValue(cursor: ByteCursor, inTemplate: boolean, fragmentDepth: number): Node[] {
    const parts: Node[] = [];
    for (;;) {
      const token = cursor.peekU8('attribute value token') & ~MORE_DATA;
      if (token === Token.TemplateInstance && !inTemplate) {
        parts.push(this.parseTemplateInstance(cursor, fragmentDepth));
        continue;
      }
      if (
        token !== Token.Value &&
        token !== Token.CharRef &&
        token !== Token.EntityRef &&
        token !== Token.NormalSubstitution &&
        token !== Token.OptionalSubstitution &&
        token !== Token.CDataSection
      ) {
        return parts;
      }
      parts.push(this.parseContent(cursor));
    }
  }

  private parseContent(cursor: ByteCursor): Node {
    const at = cursor.position;
    const token = cursor.u8('content token') & ~MORE_DATA;
    switch (token) {
      case Token.Value: {
        const type = cursor.u8('value text type');
        if (type !== 0x01) throw damage(`value text of type 0x${hex(type)} (only strings are written as text)`, at);
        return { kind: 'text', text: cursor.utf16(cursor.u16('value text length'), 'value text') };
      }
      case Token.CDataSection:
        return { kind: 'text', text: cursor.utf16(cursor.u16('CDATA length'), 'CDATA section') };
      case Token.CharRef:
        return { kind: 'text', text: String.fromCharCode(cursor.u16('character reference')) };
      case Token.EntityRef: {
        const name = this.readName(cursor);
        return { kind: 'text', text: ENTITIES[name] ?? `&${name};` };
      }
      default: {
        const index = cursor.u16('substitution index');
        cursor.skip(1, 'substitution value type');
        return { kind: 'substitution', index };
      }
    }
  }

  private skipProcessingInstruction(cursor: ByteCursor): void {
    const token = cursor.u8('processing instruction token');
    if (token === Token.PITarget) this.readName(cursor);
    else cursor.skip(cursor.u16('processing instruction length') * 2, 'processing instruction data');
  }

  private parseTemplateInstance(cursor: ByteCursor, fragmentDepth: number): TemplateInstanceNode {
    cursor.skip(1 + 1 + 4, 'template instance header');
    const definitionOffset = cursor.u32('template definition offset');
    const template = this.templateAt(definitionOffset);
    // The first record using a template carries its definition inline, right here.
    if (definitionOffset === cursor.position) cursor.skip(24 + template.dataSize, 'inline template definition');
    const count = cursor.u32('substitution count');
    if (count * 4 > cursor.remaining) throw damage(`template instance declares ${count} substitutions, more than its data holds`, cursor.position);
    const descriptors: Array<{ size: number; type: number }> = [];
    for (let i = 0; i < count; i += 1) {
      const size = cursor.u16('substitution size');
      const type = cursor.u8('substitution type');
      cursor.skip(1, 'substitution padding');
      descriptors.push({ size, type });
    }
    const values = descriptors.map(({ size, type }) => {
      const value = decodeValue(type, cursor.take(size, `substitution value of type 0x${hex(type)}`));
      if (value.kind !== 'binxml') return value;
      return { kind: 'fragment' as const, nodes: this.parseFragment(value.cursor, false, 0, fragmentDepth + 1) };
    });
    return { kind: 'template', body: template.body, values };
  }

  private templateAt(offset: number): Template {
    const cached = this.templates.get(offset);
    if (cached === 'decoding') throw damage(`template definition at 0x${hex(offset)} refers to itself`, offset);
    if (cached instanceof EvtxDamageError) throw cached;
    if (cached) return cached;
    this.templates.set(offset, 'decoding');
    try {
      const cursor = new ByteCursor(this.chunk, offset, this.chunk.length);
      cursor.skip(4 + 16, 'template definition header');
      const dataSize = cursor.u32('template data size');
      const body = this.parseFragment(cursor.take(dataSize, 'template definition'), true, 0, 0);
      const template = { dataSize, body };
      this.templates.set(offset, template);
      return template;
    } catch (error) {
      const failure =
        error instanceof EvtxDamageError
          ? new EvtxDamageError(`template definition at chunk offset 0x${hex(offset)}: ${error.message}`, error.chunkOffset)
          : damage(`template definition at chunk offset 0x${hex(offset)} cannot be read`, offset);
      this.templates.set(offset, failure);
      throw failure;
    }
  }

  private readName(cursor: ByteCursor): string {
    const offset = cursor.u32('name offset');
    const entry = this.nameAt(offset);
    // A name written for the first time follows its reference inline.
    if (offset === cursor.position) cursor.skip(entry.size, 'inline name');
    return entry.name;
  }

  private nameAt(offset: number): { name: string; size: number } {
    const cached = this.names.get(offset);
    if (cached) return cached;
    const cursor = new ByteCursor(this.chunk, offset, this.chunk.length);
    cursor.skip(4 + 2, 'name header');
    const length = cursor.u16('name length');
    const name = cursor.utf16(length, 'name');
    cursor.skip(2, 'name terminator');
    const entry = { name, size: 8 + length * 2 + 2 };
    this.names.set(offset, entry);
    return entry;
  }

  private resolveInto(nodes: Node[], values: DecodedValue[] | null, out: XmlContent[], expanded?: ArrayItem): void {
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          out.push(node.text);
          break;
        case 'template':
          this.resolveInto(node.body, node.values, out);
          break;
        case 'substitution':
          this.resolveSubstitution(node.index, values, out, expanded);
          break;
        case 'element':
          this.resolveElement(node, values, out);
          break;
      }
    }
  }

  private resolveSubstitution(index: number, values: DecodedValue[] | null, out: XmlContent[], expanded?: ArrayItem): void {
    if (expanded && expanded.index === index) {
      if (expanded.item !== '') out.push(expanded.item);
      return;
    }
    const value = values?.[index] ?? NULL_VALUE;
    switch (value.kind) {
      case 'text':
        out.push(value.text);
        break;
      case 'array':
        if (value.items.length > 0) out.push(value.items.join(','));
        break;
      case 'fragment':
        this.resolveInto(value.nodes, null, out);
        break;
      case 'null':
        break;
    }
  }

  /** MS-EVEN6: an array substitution repeats its enclosing element once per item. */
  private resolveElement(node: ElementNode, values: DecodedValue[] | null, out: XmlContent[]): void {
    const arrayIndex = values ? firstArraySubstitution(node, values) : -1;
    const array = arrayIndex >= 0 ? values?.[arrayIndex] : undefined;
    if (array?.kind !== 'array') {
      out.push(this.buildElement(node, values));
      return;
    }
    for (const item of array.items) out.push(this.buildElement(node, values, { index: arrayIndex, item }));
  }

  private buildElement(node: ElementNode, values: DecodedValue[] | null, expanded?: ArrayItem): XmlElement {
    this.renderedNodes += 1;
    if (this.renderedNodes > MAX_RENDERED_NODES) throw damage(`record renders to more than ${MAX_RENDERED_NODES} elements`, 0);
    const element: XmlElement = { name: node.name, attributes: [], children: [] };
    for (const attribute of node.attributes) {
      const parts: XmlContent[] = [];
      this.resolveInto(attribute.parts, values, parts, expanded);
      // Windows leaves out an attribute whose only content is an empty (null) substitution.
      if (parts.length === 0 && attribute.parts.length > 0) continue;
      element.attributes.push({ name: attribute.name, value: parts.map(textOf).join('') });
    }
    this.resolveInto(node.children, values, element.children, expanded);
    return element;
  }
}

interface ArrayItem {
  index: number;
  item: string;
}

function firstArraySubstitution(node: ElementNode, values: DecodedValue[]): number {
  for (const index of node.substitutions) {
    const value = values[index];
    if (value?.kind === 'array' && value.items.length > 1) return index;
  }
  return -1;
}

export function textOf(content: XmlContent): string {
  return typeof content === 'string' ? content : content.children.map(textOf).join('');
}

function damage(message: string, at: number): EvtxDamageError {
  return new EvtxDamageError(message, at);
}

function unexpectedToken(token: number, at: number, where: string): EvtxDamageError {
  return damage(`unexpected BinXml token 0x${hex(token)} in ${where} at chunk offset 0x${hex(at)}`, at);
}
