import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EvidenceStore, type StoredEvidence } from '../../src/store/evidence-store.js';

/** The stored report file holds exactly `text`, under its SHA-256, with its byte count. */
function expectStoredReport(dir: string, stored: StoredEvidence, text: string): void {
  expect(readFileSync(join(dir, 'report', `${stored.sha256}.json`), 'utf8')).toBe(text);
  expect(stored.sha256).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
  expect(stored.bytes).toBe(Buffer.byteLength(text));
}

describe('evidence written off the event loop', () => {
  const roots: string[] = [];
  const root = () => {
    const made = mkdtempSync(join(tmpdir(), 'wmi-evidence-writer-'));
    roots.push(made);
    return made;
  };
  afterEach(() => {
    for (const made of roots.splice(0)) rmSync(made, { recursive: true, force: true });
  });

  it('names each file by the SHA-256 of its bytes, leaves no temporary file, and reads back the same document', async () => {
    const dir = root();
    const evidence = new EvidenceStore(dir);
    const documents = Array.from({ length: 200 }, (_, index) => ({ host: `ws${index}`, subscriptions: [{ name: `Filter${index % 7}`, query: 'SELECT * FROM __TimerEvent' }], note: 'ünïcødé' }));
    const stored = await Promise.all(documents.map((document) => evidence.putJson('collection', document)));
    for (const [index, item] of stored.entries()) {
      const bytes = readFileSync(join(dir, 'collection', `${item.sha256}.json`));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(item.sha256);
      expect(item).toEqual({ id: `collection-${item.sha256}`, kind: 'collection', sha256: item.sha256, bytes: bytes.length });
      expect((await evidence.getJson(item.id)).document).toEqual(documents[index]);
    }
    expect(readdirSync(join(dir, 'collection')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(await evidence.putJson('collection', documents[0])).toEqual(stored[0]);
  });

  it('fails the write with the file system error when the evidence directory cannot be made', async () => {
    const dir = root();
    const blocked = join(dir, 'not-a-directory');
    writeFileSync(blocked, 'a file where the evidence root should be');
    const evidence = new EvidenceStore(blocked);
    await expect(evidence.putJson('report', { findings: [] })).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(evidence.putJson('report', { findings: [1] })).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('writes a large report in parts to exactly the bytes and hash of its JSON text', async () => {
    const dir = root();
    const evidence = new EvidenceStore(dir);
    const findings: unknown[] = Array.from({ length: 4321 }, (_, index) => ({
      id: `f${index}`,
      host: `ws${index}`,
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, index)),
      note: index % 3 === 0 ? undefined : 'ünïcødé \u2028 "quoted"',
      detail: 'x'.repeat(300),
    }));
    findings[17] = undefined;
    delete findings[18];
    const report = { reportVersion: 1, skipped: undefined, hosts: Array.from({ length: 1000 }, (_, index) => ({ host: `ws${index}` })), findings, problems: [], partial: false };
    const text = JSON.stringify(report);
    const stored = await evidence.putJson('report', report);
    const bytes = readFileSync(join(dir, 'report', `${stored.sha256}.json`));
    expect(bytes.toString('utf8')).toBe(text);
    expect(stored).toEqual({ id: `report-${createHash('sha256').update(text, 'utf8').digest('hex')}`, kind: 'report', sha256: stored.sha256, bytes: Buffer.byteLength(text) });
    expect(readdirSync(join(dir, 'report')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(await evidence.putJson('report', report)).toEqual(stored);
  });

  it('stores exactly the JSON text of a large report when the texts of some of its elements are given', async () => {
    const dir = root();
    const evidence = new EvidenceStore(dir);
    const findings = Array.from({ length: 2500 }, (_, index) => ({ id: `f${index}`, host: `ws${index % 700}`, note: index % 5 === 0 ? 'ünïcødé \u2028 "quoted"' : null, detail: 'x'.repeat(index % 40) }));
    const hosts = Array.from({ length: 1200 }, (_, index) => ({ host: `ws${index}` }));
    const report = { reportVersion: 1, hosts, findings, problems: [], partial: false };
    // Every finding's text is known except in one slice, which is encoded as usual.
    const knownTexts = new Map<unknown, string>(findings.filter((_, index) => index < 1500 || index > 1999).map((finding) => [finding, JSON.stringify(finding)]));
    const text = JSON.stringify(report);
    const stored = await evidence.putJson('report', report, knownTexts);
    expectStoredReport(dir, stored, text);
  });

  it('stores the exact bytes when given texts of many sizes and scripts cross every part boundary', async () => {
    const dir = root();
    const evidence = new EvidenceStore(dir);
    // Multi-byte characters (2, 3 and 4 bytes in UTF-8) land on part edges; some texts are longer
    // than a part can hold at three bytes a character, and go over on their own.
    const pieces = ['a', 'é', '€', '😀', '"', '\\', '\u2028'];
    const findings = Array.from({ length: 3000 }, (_, index) => ({
      id: `f${index}`,
      detail: pieces[index % pieces.length]!.repeat(index % 97 === 0 ? 200_000 + index : (index * 37) % 900),
    }));
    const knownTexts = new Map<unknown, string>(findings.map((finding) => [finding, JSON.stringify(finding)]));
    const report = { reportVersion: 1, hosts: findings.slice(0, 1500).map((finding) => ({ host: finding.id })), findings, problems: [] };
    const text = JSON.stringify(report);
    expect(Buffer.byteLength(text)).toBeGreaterThan(8 << 20);
    const stored = await evidence.putJson('report', report, knownTexts);
    expectStoredReport(dir, stored, text);
  });

  it('uses the given text of an element instead of encoding it again', async () => {
    const dir = root();
    const evidence = new EvidenceStore(dir);
    const findings = Array.from({ length: 1000 }, (_, index) => ({ id: `f${index}` }));
    const knownTexts = new Map<unknown, string>(findings.map((finding) => [finding, JSON.stringify({ ...finding, seen: true })]));
    const stored = await evidence.putJson('report', { findings }, knownTexts);
    expect(readFileSync(join(dir, 'report', `${stored.sha256}.json`), 'utf8')).toBe(JSON.stringify({ findings: findings.map((finding) => ({ ...finding, seen: true })) }));
  });

  it('leaves no file when a large document cannot be encoded part way through', async () => {
    const dir = root();
    const evidence = new EvidenceStore(dir);
    const findings: unknown[] = Array.from({ length: 3000 }, (_, index) => ({ id: `f${index}`, detail: 'x'.repeat(2000) }));
    findings[2500] = { id: 'f2500', count: 1n };
    await expect(evidence.putJson('report', { findings })).rejects.toThrow(TypeError);
    expect(readdirSync(join(dir, 'report'))).toEqual([]);
    expect(await evidence.putJson('report', { findings: findings.slice(0, 2000) })).toMatchObject({ kind: 'report' });
  });
});
