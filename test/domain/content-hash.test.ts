import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/domain/canonical-json.js';
import { contentHashOf } from '../../src/domain/wmi-object.js';

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
