import { readFileSync } from 'node:fs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCollection } from '../../src/domain/collection.js';
import { objectsFromCollection } from '../../src/domain/wmi-object.js';
import { runCli } from './run-cli.js';

const defaults = () => JSON.parse(readFileSync(new URL('../../samples/collections/windows-defaults.json', import.meta.url), 'utf8'));

function tempCollection(collection: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'wmi-contract-')), 'c.json');
  writeFileSync(path, JSON.stringify(collection));
  return path;
}

describe('the collection contract (schema version 1)', () => {
  it('accepts a collection and fills the documented defaults', () => {
    const input = defaults();
    delete input.events;
    delete input.autorecoverMofs;
    const collection = parseCollection(input);
    expect(collection.events).toEqual([]);
    expect(collection.autorecoverMofs).toEqual([]);
    expect(collection.eventsTruncated).toBe(false);
  });

  it.each([
    ['host.name', (c: any) => (c.host.name = '')],
    ['collectedAt', (c: any) => (c.collectedAt = 'yesterday')],
    ['consumers.1.properties.Name', (c: any) => delete c.consumers[1].properties.Name],
    ['bindings.0.properties.Filter', (c: any) => (c.bindings[0].properties.Filter = 7)],
    ['filters.0.contentHash', (c: any) => (c.filters[0].contentHash = 'ABC')],
    ['timers', (c: any) => delete c.timers],
  ])('names the bad field %s in the error', (path, mutate) => {
    const input = defaults();
    mutate(input);
    expect(() => parseCollection(input, 'host.json')).toThrow(expect.objectContaining({ code: 'E_SCHEMA', message: expect.stringContaining(`host.json: not a valid collection (schema v1): ${path}:`) }));
  });

  it('counts the further problems when there are several', () => {
    const input = defaults();
    input.host.name = '';
    input.collectedAt = 'x';
    expect(() => parseCollection(input)).toThrow(/\(and 1 more\)/);
  });

  it('refuses an object whose content does not hash to the collector\'s hash', () => {
    const input = defaults();
    input.consumers[1].properties.CommandLineTemplate = 'cscript evil.vbs';
    expect(() => objectsFromCollection(parseCollection(input))).toThrow(expect.objectContaining({ code: 'E_SCHEMA' }));
  });

  it('reports a collection with an unreadable namespace as partial, never as complete', async () => {
    const input = defaults();
    input.errors = [{ namespace: 'root\\ccm', code: 'access-denied', message: 'Access denied' }];
    const { code, stdout } = await runCli(['analyze', '-f', 'json', tempCollection(input)]);
    const report = JSON.parse(stdout);
    expect(report.partial).toBe(true);
    expect(report.hosts[0].errors[0]).toMatchObject({ namespace: 'root\\ccm', code: 'access-denied' });
    expect(code).toBe(0);
    expect((await runCli(['analyze', tempCollection(input)])).stdout).toContain('PARTIAL REPORT');
  });

  it('reports events cut at the collector bound as a problem that makes the report partial', async () => {
    const input = defaults();
    input.eventsTruncated = true;
    const report = JSON.parse((await runCli(['analyze', '-f', 'json', tempCollection(input)])).stdout);
    expect(report.partial).toBe(true);
    expect(report.problems[0].message).toContain('event bound');
  });
});
