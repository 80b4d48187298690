import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findingContentHash } from '../../src/domain/analysis/analyze.js';
import { canonicalJson, sha256Hex, type CanonicalValue } from '../../src/domain/canonical-json.js';
import type { WmiValue } from '../../src/domain/collection.js';
import type { Finding, ObjectRef } from '../../src/domain/finding.js';
import { contentHashOf } from '../../src/domain/wmi-object.js';
import { normalizeNamespace } from '../../src/domain/wmi-path.js';

interface Vector {
  name: string;
  namespace: string;
  className: string;
  properties: Record<string, never>;
  canonicalJson: string;
  contentHash: string;
}
const vectors: Vector[] = JSON.parse(readFileSync(new URL('../vectors/content-hash.json', import.meta.url), 'utf8')).cases;

describe('content hash', () => {
  it.each(vectors.map((v) => [v.name, v] as const))('matches the shared vector: %s', (_name, vector) => {
    expect(contentHashOf(vector.namespace, vector.className, vector.properties)).toBe(vector.contentHash);
  });

  it('ignores system properties, CreatorSID and nulls but not content', () => {
    const base = { Name: 'x', CommandLineTemplate: 'cmd.exe' };
    const hash = contentHashOf('root\\subscription', 'CommandLineEventConsumer', base);
    expect(contentHashOf('ROOT/Subscription', 'commandlineeventconsumer', { ...base, __PATH: 'p', CreatorSID: [1], WorkingDirectory: null })).toBe(hash);
    expect(contentHashOf('root\\subscription', 'CommandLineEventConsumer', { ...base, CommandLineTemplate: 'cmd.exe ' })).not.toBe(hash);
    expect(contentHashOf('root\\default', 'CommandLineEventConsumer', base)).not.toBe(hash);
  });

  it('sorts keys by code unit and escapes like JSON.stringify', () => {
    expect(canonicalJson({ b: 1, B: 2, a: [null, 'q"\\\n'] })).toBe('{"B":2,"a":[null,"q\\"\\\\\\n"],"b":1}');
    expect(() => canonicalJson({ x: 1.5 })).toThrow(/safe integers/);
  });
});

/** The hash as the rules state it: canonical JSON of the whole object, built as an object first. */
function contentHashByTheRules(namespace: string, className: string, properties: Record<string, WmiValue>): string {
  const defining: Record<string, CanonicalValue> = {};
  for (const [name, value] of Object.entries(properties)) {
    if (!name.startsWith('__') && name.toLowerCase() !== 'creatorsid') defining[name] = value;
  }
  return sha256Hex(canonicalJson({ class: className.toLowerCase(), namespace: normalizeNamespace(namespace), properties: defining }));
}

/** normalizeNamespace's steps, every one of them, for any input. */
function namespaceByTheSteps(value: string): string {
  let ns = value.trim().replace(/\//g, '\\');
  ns = ns.replace(/^\\\\[^\\]+\\/, '');
  ns = ns.replace(/^\\+/, '').replace(/\\+$/, '').replace(/\\{2,}/g, '\\');
  return ns.toLowerCase();
}

const propertyName = fc.oneof(fc.constantFrom('Name', 'Query', '__PATH', '__CLASS', 'CreatorSID', 'creatorsid', 'b', 'B', 'a', 'É', '10', '2'), fc.string());
const wmiValue: fc.Arbitrary<WmiValue> = fc.oneof(
  fc.string(),
  fc.constantFrom('q"\\\n', '\u0001\u001f', 'é😀'),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }),
);
const namespaceText = fc.stringMatching(/^[ a-zA-Z0-9_\\/.]{0,24}$/);

describe('content hash, written out directly', () => {
  it('is the hash of the canonical JSON of the object, for any properties', () => {
    fc.assert(
      fc.property(namespaceText, fc.string({ maxLength: 20 }), fc.dictionary(propertyName, wmiValue, { maxKeys: 8 }), (namespace, className, properties) => {
        expect(contentHashOf(namespace, className, properties)).toBe(contentHashByTheRules(namespace, className, properties));
      }),
      { numRuns: 500 },
    );
  });

  it('gives a finding the hash of the canonical JSON of its kind and objects', () => {
    const kind = fc.constantFrom('subscription', 'dangling-binding', 'orphan-filter', 'orphan-consumer', 'timer') as fc.Arbitrary<Finding['kind']>;
    const object = fc.record({ kind: fc.constantFrom('filter', 'consumer', 'binding', 'timer') as fc.Arbitrary<ObjectRef['kind']>, contentHash: fc.string() });
    fc.assert(
      fc.property(kind, fc.array(object, { maxLength: 5 }), (findingKind, objects) => {
        const expected = sha256Hex(canonicalJson({ kind: findingKind, objects: objects.map((o) => [o.kind, o.contentHash]) }));
        expect(findingContentHash(findingKind, objects)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('normalizes a namespace as every step would, including one already normal', () => {
    fc.assert(
      fc.property(namespaceText, (namespace) => {
        expect(normalizeNamespace(namespace)).toBe(namespaceByTheSteps(namespace));
        const once = namespaceByTheSteps(namespace);
        expect(normalizeNamespace(once)).toBe(namespaceByTheSteps(once));
      }),
      { numRuns: 1000 },
    );
    expect(normalizeNamespace('root\\subscription')).toBe('root\\subscription');
    expect(normalizeNamespace('root\\Subscription')).toBe('root\\subscription');
    expect(normalizeNamespace('root\\\\cimv2')).toBe('root\\cimv2');
  });
});
