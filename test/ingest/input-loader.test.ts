import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { expandInputs, loadInputs, MAX_LISTED_PROBLEMS } from '../../src/ingest/input-loader.js';

const dir = mkdtempSync(join(tmpdir(), 'wmi-loader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FILTER_EVENT = JSON.stringify({ EventID: 19, Channel: 'Microsoft-Windows-Sysmon/Operational', Hostname: 'WS12', UtcTime: '2024-03-01 10:00:00', Operation: 'Created', EventNamespace: ' "root\\\\cimv2"', Name: ' "f"', Query: ' "SELECT * FROM X"' });

describe('loading inputs', () => {
  it('takes folders recursively, skips unknown files found in them, and refuses an unknown file named directly', async () => {
    const folder = join(dir, 'case');
    mkdirSync(join(folder, 'host1'), { recursive: true });
    writeFileSync(join(folder, 'host1', 'sysmon.jsonl'), `${FILTER_EVENT}\n`);
    writeFileSync(join(folder, 'README.md'), '# notes\n');
    writeFileSync(join(folder, '.hidden'), 'x');
    const inputs = await expandInputs([folder], dir);
    expect(inputs.map((input) => input.path.slice(folder.length))).toEqual(['/README.md', '/host1/sysmon.jsonl']);
    const loaded = await loadInputs(inputs, { cwd: dir });
    expect(loaded.skipped).toEqual(['case/README.md']);
    expect(loaded.files).toEqual([{ source: 'case/host1/sysmon.jsonl', format: 'json-lines', events: 1, problems: 0, hosts: ['WS12'] }]);
    await expect(loadInputs(await expandInputs([join(folder, 'README.md')], dir), { cwd: dir })).rejects.toMatchObject({ code: ErrorCode.UnsupportedFormat });
  });

  it('lists the first unreadable records one by one and counts the rest', async () => {
    const path = join(dir, 'garbage.jsonl');
    writeFileSync(path, `${FILTER_EVENT}\n${'{"EventID": 19, "broken\n'.repeat(MAX_LISTED_PROBLEMS + 5)}`);
    const loaded = await loadInputs([{ path, fromFolder: false }], { cwd: dir });
    expect(loaded.files[0]!.problems).toBe(MAX_LISTED_PROBLEMS + 5);
    expect(loaded.problems).toHaveLength(MAX_LISTED_PROBLEMS + 1);
    expect(loaded.problems.at(-1)).toEqual({ source: 'garbage.jsonl', position: null, message: `5 more unreadable records (${MAX_LISTED_PROBLEMS + 5} in all)` });
    expect(loaded.index.wmiEvents).toHaveLength(1);
  });

  it('refuses a missing path and an empty folder as bad input', async () => {
    await expect(expandInputs(['nope.jsonl'], dir)).rejects.toMatchObject({ code: ErrorCode.BadInput });
    mkdirSync(join(dir, 'empty'));
    await expect(expandInputs(['empty'], dir)).rejects.toMatchObject({ code: ErrorCode.BadInput });
  });
});
