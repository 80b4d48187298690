import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isUsedEvent, WMI_CREATION_PATTERN } from '../../src/domain/origin/relevant-events.js';
import { readEventsOf } from '../support/read-events.js';

/**
 * The JSON-lines reader skips a line on its bytes (no relevant event id, then no candidate word)
 * without parsing it. Whatever the bytes look like, it must keep exactly the events a full parse
 * selects: these are the lines real exports and hostile ones contain that a byte test could miss.
 */
const DATASETS = fileURLToPath(new URL('../../../shared/datasets/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wmi-json-lines-prefilter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
async function fastAndFull(text: string) {
  const path = join(dir, `lines-${(files += 1)}.jsonl`);
  writeFileSync(path, text);
  const full = await readEventsOf(path, false);
  const fast = await readEventsOf(path, true);
  return { fast, full, selected: full.events.filter(isUsedEvent) };
}

const SYSMON = 'Microsoft-Windows-Sysmon/Operational';
const POWERSHELL = 'Microsoft-Windows-PowerShell/Operational';
const base = { Hostname: 'WS01.corp.local', UtcTime: '2024-03-01 10:00:00.000' };
const consumerEvent = (id: unknown) => JSON.stringify({ ...base, EventID: id, Channel: SYSMON, EventNamespace: ' "root\\\\subscription"', Name: ' "evil"', Consumer: ' "CommandLineEventConsumer.Name=\\"evil\\""', Destination: ' "cmd.exe"' });
const scriptEvent = (script: string, id: unknown = 4104) => JSON.stringify({ ...base, EventID: id, Channel: POWERSHELL, ScriptBlockText: script });
const processAccess = JSON.stringify({ ...base, EventID: 10, Channel: SYSMON, SourceImage: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', CallTrace: 'C:\\Users\\x\\unsecapp.exe+12' });

/** The same JSON with every character `escape` picks written as a \u escape, in keys and values alike. */
function stringifyEscaping(value: unknown, escape: (char: string) => boolean): string {
  if (typeof value === 'string') {
    return `"${[...value].map((char) => (escape(char) ? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}` : JSON.stringify(char).slice(1, -1))).join('')}"`;
  }
  if (Array.isArray(value)) return `[${value.map((item) => stringifyEscaping(item, escape)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([key, item]) => `${stringifyEscaping(key, escape)}:${stringifyEscaping(item, escape)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

describe('the JSON-lines byte prefilter', () => {
  it('keeps events whose id is written as a number, a padded string, hex, a fraction or an exponent', async () => {
    const lines = [19, '19', ' 20 ', 21.0, '0x15', 2.1e1, 1.9e1].map(consumerEvent);
    const { fast, selected } = await fastAndFull(`${lines.join('\n')}\n`);
    expect(selected).toHaveLength(7);
    expect(fast.events).toEqual(selected);
  });

  it('skips events whose every id field holds an id no family uses, and keeps the one whose last duplicate key is relevant', async () => {
    const irrelevant = [10, '10', 3, -19, 190, '0x0a ', true, null, [19]].map(consumerEvent);
    const duplicateLastWins = consumerEvent(10).replace(/^\{/, '{"EventID":19,');
    const duplicateRelevant = consumerEvent(19).replace(/^\{/, '{"EventID":10,');
    const { fast, full, selected } = await fastAndFull(`${[...irrelevant, duplicateLastWins, duplicateRelevant].join('\n')}\n`);
    expect(full.events.length + full.problems).toBe(11);
    expect(selected).toHaveLength(1);
    expect(fast.events).toEqual(selected);
  });

  it('reads the id from winlogbeat 7 winlog.event_id and ECS event.code, and evtx_dump EventID objects', async () => {
    const winlogbeat7 = JSON.stringify({ '@timestamp': '2024-03-01T10:00:00Z', event: { code: '4104', provider: 'Microsoft-Windows-PowerShell' }, winlog: { channel: POWERSHELL, computer_name: 'WS02', event_data: { ScriptBlockText: 'Register-WmiEvent -Query $q' } } });
    const winlogId = JSON.stringify({ '@timestamp': '2024-03-01T10:00:00Z', winlog: { event_id: 21, channel: SYSMON, computer_name: 'WS02', event_data: { Consumer: 'x', Filter: 'y' } } });
    const evtxQualified = JSON.stringify({ Event: { System: { Provider: { '#attributes': { Name: 'PowerShell' } }, EventID: { '#attributes': { Qualifiers: 0 }, '#text': 800 }, TimeCreated: { '#attributes': { SystemTime: '2024-03-01T10:00:00Z' } }, Channel: 'Windows PowerShell', Computer: 'WS03' }, EventData: { Data: { '#text': ['Set-CimInstance -InputObject $x', 'HostApplication=powershell.exe'] } } } });
    const { fast, selected } = await fastAndFull(`${[winlogbeat7, winlogId, evtxQualified].join('\n')}\n`);
    expect(selected).toHaveLength(3);
    expect(fast.events).toEqual(selected);
  });

  it('parses lines where a \\u escape spells a field name, an id or a WMI word, and skips escaped backslashes before a u', async () => {
    const escapedKey = consumerEvent(19).replace('"EventID"', '"\\u0045ventID"').replace('"EventNamespace"', '"Event\\u004eamespace"');
    const escapedId = consumerEvent(20).replace('"EventID":20', '"EventID":"\\u0032\\u0030"');
    // `\bwmic\b` is in the parsed text only: the raw bytes hold no anchor word at all.
    const escapedWord = scriptEvent('x').replace('"x"', '"\\u0077mic process call create notepad"');
    const escapedCase = scriptEvent('x').replace('"x"', '"Set-\\u0057MI\\u0049nstance -Class __EventFilter"');
    const { fast, selected } = await fastAndFull(`${[escapedKey, escapedId, escapedWord, escapedCase, processAccess].join('\n')}\n`);
    expect(selected).toHaveLength(4);
    expect(fast.events).toEqual(selected);
  });

  it('finds WMI words in any letter case, keys with spaces around the colon, CRLF line ends and escaped quotes', async () => {
    const lines = [
      scriptEvent('$F = SET-WMIINSTANCE -Namespace root\\subscription'),
      scriptEvent('[wmiCLASS]"\\\\.\\root\\subscription:__EVENTFILTER"'),
      scriptEvent('mofComp.exe "C:\\t\\x.mof"'),
      scriptEvent('#Pragma\tAutoRecover'),
      consumerEvent(20).replace('"EventID":20', '"EventID" :\t20'),
      scriptEvent('Get-Process -Name "wmiprvse"'),
      processAccess,
    ];
    const { fast, selected } = await fastAndFull(`${lines.join('\r\n')}\r\n`);
    expect(selected).toHaveLength(5);
    expect(fast.events).toEqual(selected);
  });

  it('keeps every script record the WMI-creation pattern matches, whatever the letter case of its words', async () => {
    // Each alternative of the pattern, written out; the anchors the byte scan looks for are parts of these.
    const creations = ['Set-WmiInstance', 'New-CimInstance', 'Set-CimInstance', 'Register-WmiEvent', 'Register-CimIndicationEvent', '[wmiclass]', '$x.Put()', 'CreateInstance', 'SpawnInstance_', '__EventFilter', 'CommandLineEventConsumer', '__FilterToConsumerBinding', 'mofcomp', '#pragma  autorecover', 'wmic'];
    expect(creations.every((text) => WMI_CREATION_PATTERN.test(text))).toBe(true);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }), async (upper) => {
        const flip = (text: string) => [...text].map((char, index) => (upper[index % upper.length] ? char.toUpperCase() : char.toLowerCase())).join('');
        const lines = creations.flatMap((text) => [scriptEvent(`Get-Item x; ${flip(text)} -Arg 1`), scriptEvent(`${flip(text)}`, 800)]);
        const { fast, selected } = await fastAndFull(`${[...lines, scriptEvent('Get-WmiObject Win32_Process | Register-Object'), processAccess].join('\n')}\n`);
        expect(selected).toHaveLength(creations.length * 2);
        expect(fast.events).toEqual(selected);
      }),
      { numRuns: 20 },
    );
  });

  it('finds ids and words split across the 1 MiB read blocks and past long lines', async () => {
    const filler = `${processAccess}\n`;
    const blocks = 1024 * 1024;
    const before = filler.repeat(Math.floor((blocks - 40) / filler.length));
    const longScript = scriptEvent(`${'Get-ChildItem; '.repeat(20_000)}New-CimInstance -ClassName __EventFilter`);
    const text = `${before}${consumerEvent(19)}\n${longScript}\n${consumerEvent(21)}\n${filler.repeat(40)}${longScript}\n${consumerEvent(20)}`;
    // Every offset around the block edge: the id key, the value, then the candidate words straddle it in turn.
    for (const shift of [0, 7, 15, 23, 31, 47, 80]) {
      const shifted = `${processAccess.slice(0, -1)},"Pad":"${'p'.repeat(shift)}"}\n${text}`;
      const { fast, selected } = await fastAndFull(shifted);
      expect(selected).toHaveLength(5);
      expect(fast.events).toEqual(selected);
    }
  }, 60_000);

  it('keeps exactly what the full parse selects when letters of real records are \\u-escaped', async () => {
    const real = ['empire-elevated-wmi.winlogbeat.jsonl', 'covenant-persistwmi.mordor.jsonl', 'powerlurk-process-start.sysmon.evtx.jsonl', 'benign-scm-default.wmi-activity.mordor.jsonl']
      .flatMap((file) => readFileSync(`${DATASETS}${file}`, 'utf8').split('\n').filter((line) => line.trim() !== ''))
      .map((line) => JSON.parse(line) as unknown);
    const letters = 'EventIDdcoWMIwmiCNSPHn_';
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: real.length - 200 }), fc.subarray([...letters], { minLength: 1, maxLength: 4 }), async (from, escaped) => {
        const lines = real.slice(from, from + 200).map((record) => stringifyEscaping(record, (char) => escaped.includes(char)));
        const { fast, full, selected } = await fastAndFull(`${lines.join('\n')}\n`);
        expect(full.problems).toBe(0);
        expect(fast.events).toEqual(selected);
      }),
      { numRuns: 12 },
    );
  }, 120_000);
});
