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

  it('keeps exactly what the full parse selects when long stretches recur from line to line, with words at their edges', async () => {
    // PowerShell repeats a session's long command line in its records; the prefilter remembers such
    // stretches of rejected lines and searches only their edges where they occur again. Words here
    // straddle a stretch's first or last bytes, or sit in a copy of it that differs by a word.
    let seed = 7;
    const random = (length: number) =>
      Array.from({ length }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'[(seed = (seed * 1103515245 + 12345) % 2147483648) % 64]).join('');
    const blobs = [
      { text: `nstance -Name a ${random(2600)} mofcom`, before: ['', ' ', 'i', 'Set-WmiI', 'SET-WMII'], after: ['', ' ', 'p', 'P -autorecover'] },
      // A backslash before it makes \u0077 (w): wmic, seen only by the full parse.
      { text: `u0077mic process call create ${random(2600)} Set-WmiInst`, before: ['', ' ', ' \\'], after: ['', ' ', 'ance', 'ANCE -Class __EventFilter'] },
      { text: random(3000), before: ['', ' ', 'wmic ', 'x.Pu', '[WmiClass]'], after: ['', ' ', '.Put()', 'T(', ' mofcomp'] },
      // In a rendered Sysmon 1 message, whose only candidate word is the longest of all: at either edge.
      { text: `arentCommandLine: C:/Windows/x.exe ${random(2600)} ParentCommandLin`, before: ['P', 'P', ''], after: ['e', '', 'e'] },
    ];
    // Escaped quotes around it end the stretch the prefilter remembers where the test's stretches do.
    const filler = `\\"${'Get-ChildItem C:/Temp; '.repeat(60)}\\"`;
    const record = (id: number, idAfter: boolean, script: string) => {
      const fields = `"Hostname":"WS01.corp.local","UtcTime":"2024-03-01 10:00:00.000","Channel":"${POWERSHELL}"`;
      return idAfter
        ? `{${fields},"EventID":10,"ScriptBlockText":"${script}","EventID":${id}}`
        : `{"EventID":${id},${fields},"ScriptBlockText":"${script}"}`;
    };
    const processCreation = (message: string) => `{"EventID":1,"Channel":"${SYSMON}","Hostname":"WS01.corp.local","UtcTime":"2024-03-01 10:00:00.000","Message":"${message}"}`;
    const plain = (blob: number) => record(4104, false, `${filler}${blobs[blob]!.text}${filler}`);
    // The first stretch is remembered at once, each next one after 16 more long unknown lines.
    const warmUp = [plain(0), ...[1, 2, 3].flatMap((blob) => Array.from({ length: 16 }, () => plain(blob)))];
    const decorated = fc.record({
      blob: fc.integer({ min: 0, max: 3 }),
      before: fc.nat(),
      after: fc.nat(),
      changedAt: fc.option(fc.integer({ min: 40, max: 2550 })),
      twice: fc.boolean(),
      id: fc.constantFrom(4104, 800, 10),
      idAfter: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(decorated, { minLength: 10, maxLength: 30 }), async (lines) => {
        const text = lines.map(({ blob, before, after, changedAt, twice, id, idAfter }) => {
          const { text: stretch, before: befores, after: afters } = blobs[blob]!;
          const copy = changedAt === null ? stretch : `${stretch.slice(0, changedAt)} New-CimInstance ${stretch.slice(changedAt)}`;
          if (blob === 3) return processCreation(`${filler}${befores[before % 3]}${copy}${afters[before % 3]}${filler}`);
          const middle = `${befores[before % befores.length]}${copy}${afters[after % afters.length]}`;
          return record(id, idAfter, `${filler}${middle}${twice ? `${filler}${stretch}${afters[(after + 1) % afters.length]}` : ''}${filler}`);
        });
        const { fast, full, selected } = await fastAndFull(`${[...warmUp, ...text, ...warmUp.slice(0, 3)].join('\n')}\n`);
        expect(full.problems).toBe(0);
        expect(fast.events).toEqual(selected);
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  it('never remembers a stretch with a word inside: a later line that needs that word is kept', async () => {
    const filler = `\\"${'Get-ChildItem C:/Temp; '.repeat(60)}\\"`;
    const stretch = `${'QUJD'.repeat(400)} Host Application = powershell.exe ${'REVG'.repeat(400)}`;
    const payload = (text: string, channel = POWERSHELL) => `{"EventID":4103,"Hostname":"WS01.corp.local","UtcTime":"2024-03-01 10:00:00.000","Channel":"${channel}","Payload":"${text}"}`;
    // A short anchor is no scanned word: the stretch is tested for those apart (first in a record
    // of no family, which the word test rejects for want of a script word).
    const withAnchor = `${'QUJD'.repeat(400)} wmic process call create ${'REVG'.repeat(400)}`;
    const files = [
      [payload(`${filler}${stretch}${filler}`), payload(`${filler}${stretch}${filler} Set-WmiInstance -Class __EventFilter`)],
      [payload(`${filler}${withAnchor}${filler}`, 'Application'), payload(`${filler}${withAnchor}${filler} HostApplication=powershell.exe`)],
    ];
    for (const lines of files) {
      const { fast, selected } = await fastAndFull(`${lines.join('\n')}\n`);
      expect(selected).toHaveLength(1);
      expect(fast.events).toEqual(selected);
    }
  });

  it('reads a record longer than two reads whole, between records cut by the reads', async () => {
    const long = scriptEvent(`${'Get-ChildItem C:/Temp; '.repeat(120_000)}Set-WmiInstance -Class __EventFilter`);
    const text = `${[consumerEvent(19), processAccess, long, consumerEvent(21), long, processAccess].join('\n')}\n`;
    const { fast, selected } = await fastAndFull(text);
    expect(long.length).toBeGreaterThan(2 * 1024 * 1024);
    expect(selected).toHaveLength(4);
    expect(fast.events).toEqual(selected);
    expect(fast.events[1]!.data.ScriptBlockText).toBe(JSON.parse(long).ScriptBlockText);
  }, 60_000);
});
