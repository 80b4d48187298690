import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAllowlist, parseAllowlistText } from '../../src/allowlist/load-allowlist.js';

const dir = mkdtempSync(join(tmpdir(), 'wmi-allowlist-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const OPERATOR_ENTRY = `version: 1
entries:
  - id: corp.inventory
    status: verified
    title: Corp inventory agent
    why: Installed by the inventory package.
    references: [CHG-1234]
    filter: { name: InvFilter, query: "SELECT * FROM __InstanceCreationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_Service'" }
    consumer: { name: InvConsumer, className: CommandLineEventConsumer, properties: { CommandLineTemplate: 'C:\\Program Files\\Inv\\agent.exe' } }
`;

describe('loading allowlists', () => {
  it('loads the shipped allowlist with documented entries', async () => {
    const entries = await loadAllowlist();
    expect(entries.map((e) => e.id)).toEqual(expect.arrayContaining(['windows.scm-event-log', 'windows.bvt-kernrate']));
    for (const entry of entries) {
      expect(entry.why.length).toBeGreaterThan(20);
      expect(entry.references.length).toBeGreaterThan(0);
    }
  });

  it('adds an operator file after the shipped entries, with the default namespace filled in', async () => {
    const entries = await loadAllowlist({ files: [file('ops.yaml', OPERATOR_ENTRY)] });
    const entry = entries.at(-1)!;
    expect(entry).toMatchObject({ id: 'corp.inventory', status: 'verified', namespace: 'root\\subscription' });
  });

  it('can leave the shipped allowlist out', async () => {
    expect((await loadAllowlist({ files: [file('only.yaml', OPERATOR_ENTRY)], includeDefault: false })).map((e) => e.id)).toEqual(['corp.inventory']);
  });

  it('refuses an id defined twice', async () => {
    const path = file('dup.yaml', OPERATOR_ENTRY);
    await expect(loadAllowlist({ files: [path, path] })).rejects.toMatchObject({ code: 'E_CONFLICT' });
  });

  it('names the file and field path of a schema error', () => {
    const broken = OPERATOR_ENTRY.replace('className: CommandLineEventConsumer, ', '');
    expect(() => parseAllowlistText(broken, 'ops.yaml')).toThrow(/ops\.yaml: not a valid allowlist.*entries\.0\.consumer\.className/);
    try {
      parseAllowlistText(broken, 'ops.yaml');
    } catch (error) {
      expect(error).toMatchObject({ code: 'E_SCHEMA' });
    }
  });

  it('refuses unknown fields rather than ignoring them', () => {
    expect(() => parseAllowlistText(OPERATOR_ENTRY.replace('status: verified', 'status: verified\n    matchNameOnly: true'), 'x.yaml')).toThrow(
      expect.objectContaining({ code: 'E_SCHEMA' }),
    );
  });

  it('refuses YAML that does not parse, and a missing file', async () => {
    expect(() => parseAllowlistText('version: [1', 'bad.yaml')).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }));
    await expect(loadAllowlist({ files: [join(dir, 'missing.yaml')] })).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
  });

  it('refuses an unverified entry that names nothing', () => {
    const text = 'version: 1\nentries:\n  - { id: x, status: unverified, title: t, why: w, references: [r] }\n';
    expect(() => parseAllowlistText(text, 'x.yaml')).toThrow(/filterName/);
  });
});
