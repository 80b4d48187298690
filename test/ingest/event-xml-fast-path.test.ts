import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../../bench/support/event-datasets.js';
import { isUsedEvent, WMI_CREATION_PATTERN } from '../../src/domain/origin/relevant-events.js';
import { eventXmlReader } from '../../src/ingest/event-xml-reader.js';
import type { ReadItem } from '../../src/ingest/reader.js';

/**
 * The XML reader's fast path (relevantOnly) decides from an event's raw bytes, without decoding it,
 * whether a full parse could give an event the analysis uses. Whatever the input, it must keep
 * exactly the events a full parse selects with isUsedEvent, at the same positions.
 */
const DATASETS = fileURLToPath(new URL('../../../shared/datasets/', import.meta.url));
const CHUNK = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'wmi-event-xml-fast-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function file(content: string | Buffer): string {
  counter += 1;
  const path = join(dir, `events-${counter}.xml`);
  writeFileSync(path, content);
  return path;
}

async function itemsOf(path: string, relevantOnly: boolean): Promise<ReadItem[]> {
  const items: ReadItem[] = [];
  for await (const item of eventXmlReader.read(path, { relevantOnly })) items.push(item);
  return items;
}

function eventsOf(items: ReadItem[]) {
  return items.flatMap((item) => (item.kind === 'event' ? [item] : []));
}

function problemsOf(items: ReadItem[]) {
  return items.flatMap((item) => (item.kind === 'problem' ? [item.problem] : []));
}

/** Reads the file both ways; the fast path's events (and their positions) must be the selected part of the full parse. */
async function expectFastPathExact(path: string) {
  const full = await itemsOf(path, false);
  const fast = await itemsOf(path, true);
  expect(eventsOf(fast)).toEqual(eventsOf(full).filter((item) => isUsedEvent(item.event)));
  // The fast path reports no problem the full parse does not (it may skip a malformed event that cannot matter).
  const fullProblems = problemsOf(full).map((problem) => JSON.stringify(problem));
  for (const problem of problemsOf(fast)) expect(fullProblems).toContain(JSON.stringify(problem));
  return { full, fast };
}

const NS = 'xmlns="http://schemas.microsoft.com/win/2004/08/events/event"';

function system(provider: string, id: string, channel: string, extra = ''): string {
  return (
    `<System><Provider Name="${provider}" Guid="{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"/><EventID>${id}</EventID><Version>5</Version>` +
    `<Level>4</Level><Task>1</Task><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="2024-03-01T10:00:00.1234567Z"/>` +
    `<EventRecordID>7</EventRecordID><Correlation/><Execution ProcessID="2032" ThreadID="1"/>${extra}<Channel>${channel}</Channel>` +
    `<Computer>WS01.corp.local</Computer><Security UserID="S-1-5-18"/></System>`
  );
}

const SYSMON = ['Microsoft-Windows-Sysmon', 'Microsoft-Windows-Sysmon/Operational'] as const;
const POWERSHELL = ['Microsoft-Windows-PowerShell', 'Microsoft-Windows-PowerShell/Operational'] as const;

function sysmon1(commandLine = 'wmic.exe /namespace:\\\\root\\subscription PATH __EventFilter CREATE Name=&quot;Upd&quot;'): string {
  return (
    `<Event ${NS}>${system(SYSMON[0], '1', SYSMON[1])}<EventData><Data Name="RuleName"/><Data Name="Image">C:\\Windows\\System32\\wbem\\WMIC.exe</Data>` +
    `<Data Name="CommandLine">${commandLine}</Data><Data Name="ParentImage">C:\\Windows\\System32\\cmd.exe</Data>` +
    `<Data Name="ParentCommandLine">cmd.exe /c run.bat</Data><Data Name="User">CORP\\ann</Data></EventData></Event>`
  );
}

function sysmon10(): string {
  return (
    `<Event ${NS}>${system(SYSMON[0], '10', SYSMON[1])}<EventData><Data Name="RuleName"/><Data Name="SourceImage">C:\\Windows\\system32\\wbem\\wmiprvse.exe</Data>` +
    `<Data Name="TargetImage">C:\\Windows\\system32\\svchost.exe</Data><Data Name="CallTrace">C:\\Windows\\SYSTEM32\\ntdll.dll+9fb54|C:\\Windows\\System32\\KERNELBASE.dll+6b815</Data></EventData></Event>`
  );
}

function powershell4104(script: string): string {
  return (
    `<Event ${NS}>${system(POWERSHELL[0], '4104', POWERSHELL[1])}<EventData><Data Name="MessageNumber">1</Data><Data Name="MessageTotal">1</Data>` +
    `<Data Name="ScriptBlockText">${script}</Data><Data Name="ScriptBlockId">{d1c9c0de-0000-0000-0000-000000000000}</Data><Data Name="Path"/></EventData></Event>`
  );
}

/** A Windows PowerShell 800 record: unnamed Data elements, the pipeline details in the last. */
function powershell800(details: string): string {
  return (
    `<Event ${NS}>${system('PowerShell', '800', 'Windows PowerShell')}<EventData><Data>Get-Item x</Data>` +
    `<Data>HostName=ConsoleHost\r\nHostApplication=powershell.exe -NoP\r\n</Data><Data>${details}</Data></EventData></Event>`
  );
}

function security(id: string, data: string): string {
  return `<Event ${NS}>${system('Microsoft-Windows-Security-Auditing', id, 'Security')}<EventData>${data}</EventData></Event>`;
}

/** Events as real exports write them, and the shapes a fast path could misread. */
const TRUE_TO_LIFE: Record<string, string> = {
  'Sysmon 1 (wmic)': sysmon1(),
  'Sysmon 10 (not used)': sysmon10(),
  'PowerShell 4104 creating a filter': powershell4104('Set-WmiInstance -Namespace root\\subscription -Class __EventFilter -Arguments @{Name=&apos;Upd&apos;}'),
  'PowerShell 4104 doing nothing with WMI': powershell4104('Get-Process | Where-Object { $_.CPU -gt 10 }'),
  'PowerShell 4104 whose WMI words are character references': powershell4104('&#x53;et-&#x57;mi&#x49;nstance -Class __Even&#116;Filter'),
  'PowerShell 4104 with the words split by a comment': powershell4104('Set-Wmi<!-- x -->Instance -Class x'),
  'PowerShell 4104 with the words in CDATA': powershell4104('<![CDATA[Set-WmiInstance -Class __EventFilter <x>]]>'),
  'PowerShell 4104 split by a processing instruction': powershell4104('Register-Wmi<?pi x?>Event -Query q'),
  'PowerShell 4104 with an upper-case WMI word': powershell4104('SET-WMIINSTANCE -CLASS X'),
  'Security 4688 with EventID Qualifiers': security('4688', '<Data Name="NewProcessName">C:\\Windows\\System32\\wbem\\WMIC.exe</Data><Data Name="CommandLine">wmic process call create x</Data>').replace('<EventID>4688</EventID>', '<EventID Qualifiers="0">4688</EventID>'),
  'Security 4662 for WMI': security('4662', '<Data Name="ObjectServer">WMI</Data><Data Name="ObjectName">root\\subscription</Data>'),
  'Security 4662 for DS (not used)': security('4662', '<Data Name="ObjectServer">DS</Data>'),
  'Security 4624 (not used)': security('4624', '<Data Name="TargetUserName">ann</Data>'),
  'channel hidden by a character reference': sysmon1().replace('<Channel>Microsoft-Windows-Sysmon/Operational</Channel>', '<Channel>Microsoft-Windows-&#83;ysmon/Operational</Channel>').replace('Name="Microsoft-Windows-Sysmon"', 'Name="Other"'),
  'provider hidden by a character reference': sysmon1().replace('Name="Microsoft-Windows-Sysmon"', 'Name="Microsoft-Windows-&#x53;ysmon"').replace('Sysmon/Operational', 'Op'),
  'provider named by EventSourceName': sysmon1().replace('Name="Microsoft-Windows-Sysmon"', "EventSourceName = 'Microsoft-Windows-Sysmon'").replace('Sysmon/Operational', 'Op'),
  'event id with spaces and leading zeros': sysmon1().replace('<EventID>1</EventID>', '<EventID>\n  0001 </EventID>'),
  'event id in CDATA': sysmon1().replace('<EventID>1</EventID>', '<EventID><![CDATA[1]]></EventID>'),
  'event id split by a comment': sysmon10().replace('<EventID>10</EventID>', '<EventID>2<!-- -->1</EventID>'),
  'event id given twice': sysmon10().replace('<EventID>10</EventID>', '<EventID>10</EventID><EventID>1</EventID>'),
  'a second System after the data': sysmon10().replace('</EventData>', `</EventData>${system(SYSMON[0], '1', SYSMON[1])}`),
  'System after EventData': sysmon1().replace(/(<System>.*<\/System>)(<EventData>.*<\/EventData>)/, '$2$1'),
  'a comment before System': sysmon1().replace('<System>', '<!-- exported --><System>'),
  'pretty-printed with CRLF': sysmon1().replace(/></g, '>\r\n    <'),
  'prefixed names': sysmon1().replace(/<(\/?)(\w+)/g, '<$1e:$2').replace(`<e:Event ${NS}`, '<e:Event xmlns:e="http://schemas.microsoft.com/win/2004/08/events/event"'),
  'end tag with white space': sysmon1().replace('</Event>', '</Event \r\n>').replace('</EventID>', '</EventID >'),
  'a non-breaking space after the Event name': sysmon1().replace('<Event xmlns', '<Event\u00a0xmlns'),
  'non-ASCII host and data': sysmon1('wmic.exe путь __EventFilter — 日本語').replace('WS01.corp.local', 'ПК-01.corp.local'),
  'event id not a number': sysmon1().replace('<EventID>1</EventID>', '<EventID>one</EventID>'),
  'event id too long': sysmon1().replace('<EventID>1</EventID>', '<EventID>0000000000000001</EventID>'),
  'Provider with a bad attribute': sysmon1().replace('<Provider Name=', '<Provider Name=x Other='),
  'a used event that is malformed': sysmon1().replace('</Data><Data Name="User">', '</Dat><Data Name="User">'),
  'an unused event that is malformed': sysmon10().replace('</Data><Data Name="TargetImage">', '</Dat><Data Name="TargetImage">'),
  'a comment holding </Event>': sysmon1().replace('<EventData>', '<EventData><!-- </Event> -->'),
  'no time': sysmon1().replace(/<TimeCreated [^>]*\/>/, ''),
};

describe('the event XML fast path', () => {
  it.each(Object.entries(TRUE_TO_LIFE))('keeps exactly what a full parse selects: %s', async (_name, event) => {
    await expectFastPathExact(file(`<?xml version="1.0" encoding="utf-8"?>\n<Events>\n${sysmon10()}\n${event}\n${sysmon1()}\n</Events>\n`));
  });

  it('keeps the events that only a decoded or fully parsed text shows', async () => {
    const hidden = ['PowerShell 4104 whose WMI words are character references', 'PowerShell 4104 with the words split by a comment', 'PowerShell 4104 with the words in CDATA', 'PowerShell 4104 split by a processing instruction', 'channel hidden by a character reference', 'provider hidden by a character reference', 'event id in CDATA', 'event id split by a comment', 'System after EventData'];
    for (const name of hidden) {
      const { fast } = await expectFastPathExact(file(`<Events>${TRUE_TO_LIFE[name]}</Events>`));
      expect(eventsOf(fast), name).toHaveLength(1);
    }
  });

  it.each([
    ['a second System after the data', 'more than one System element'],
    ['event id given twice', 'more than one EventID'],
  ])('refuses %s, so nothing after what the fast path read can change its decision', async (name, message) => {
    const { full, fast } = await expectFastPathExact(file(`<Events>${TRUE_TO_LIFE[name]}</Events>`));
    expect(problemsOf(full).map((problem) => problem.message)).toEqual([`malformed event XML: ${message}`]);
    expect(fast).toEqual([]);
  });

  it('reports a malformed used event at its position either way', async () => {
    const text = `<Events>\n${sysmon10()}\n${TRUE_TO_LIFE['a used event that is malformed']}\n</Events>`;
    const at = Buffer.byteLength(text.slice(0, text.lastIndexOf('<Event ')));
    for (const relevantOnly of [true, false]) {
      const problems = problemsOf(await itemsOf(file(text), relevantOnly));
      expect(problems).toEqual([{ source: expect.any(String), position: `event #2 at byte ${at}`, message: expect.stringMatching(/^malformed event XML/) }]);
    }
  });

  it('reports events cut short, by a new <Event> or by the end of the file, in both modes', async () => {
    const text = `<Events>${sysmon1().slice(0, 400)}${sysmon1()}${sysmon10().slice(0, 300)}`;
    for (const relevantOnly of [true, false]) {
      const items = await itemsOf(file(text), relevantOnly);
      expect(eventsOf(items).map((item) => item.position)).toEqual([`event #2 at byte ${8 + 400}`]);
      expect(problemsOf(items).map((problem) => `${problem.position}: ${problem.message}`)).toEqual([
        'event #1 at byte 8: event truncated (a new <Event> starts before </Event>)',
        `event #3 at byte ${8 + 400 + Buffer.byteLength(sysmon1())}: event truncated at end of file`,
      ]);
    }
  });

  it.each([
    ['a child named Event before the event id', sysmon1().replace('<EventID>', '<Event>x</Event><EventID>')],
    ['a child named e:Event after an unused event id', sysmon10().replace('<Version>', '<e:Event xmlns:e="u"/><Version>')],
    ['a child named Event after a used event id', sysmon1().replace('<Version>', '<Event><Version>')],
    ['an <Event> start tag in a System attribute', sysmon1().replace('SystemTime="', 'SystemTime="<Event x ')],
    ['an </Event> end tag in an attribute of an unused event', sysmon10().replace('ThreadID="1"', 'ThreadID="</Event>"')],
    ['an </Event> end tag in the root start tag', sysmon1().replace(`<Event ${NS}>`, `<Event ${NS} a="</Event>">`)],
  ])('cuts events where the full parse does when the System element holds %s', async (_name, event) => {
    const text = `<Events>\n${sysmon10()}\n${event}\n${sysmon1()}\n${powershell4104('Set-WmiInstance -Class x')}\n</Events>\n`;
    const { full, fast } = await expectFastPathExact(file(text));
    const cuts = (items: ReadItem[]) => problemsOf(items).filter((problem) => problem.message.startsWith('event truncated'));
    expect(cuts(fast)).toEqual(cuts(full));
    expect(eventsOf(fast).map((item) => item.position)).toEqual(eventsOf(full).filter((item) => isUsedEvent(item.event)).map((item) => item.position));
    expect(eventsOf(fast).length).toBeGreaterThanOrEqual(2);
  });

  it('finds the next event after any text between events, not only white space', async () => {
    const between = [' \r\n\t', '', '<Eventual/>', '\u00a0', '<!-- <Event> -->', 'text<Event>'];
    const text = `<Events>${sysmon10()}${between.map((gap) => `${gap}${sysmon1()}`).join('')}\n</Events>\n`;
    const { full, fast } = await expectFastPathExact(file(text));
    expect(problemsOf(fast)).toEqual(problemsOf(full));
    // An <Event> in a comment or in text between events starts an event of its own, cut short by the next.
    expect(problemsOf(full).map((problem) => problem.message)).toEqual(Array(2).fill('event truncated (a new <Event> starts before </Event>)'));
    expect(eventsOf(fast)).toHaveLength(between.length);
  });

  it('gives each event its byte offset in the UTF-8 text, after multi-byte characters', async () => {
    const events = [sysmon1('путь 日本語'), sysmon10(), sysmon1('ok'), TRUE_TO_LIFE['non-ASCII host and data']!];
    const text = `<Events>\n${events.join('\n')}\n</Events>`;
    const bytes = Buffer.from(text, 'utf8');
    const offsets: number[] = [];
    for (let at = bytes.indexOf('<Event '); at >= 0; at = bytes.indexOf('<Event ', at + 1)) offsets.push(at);
    const full = await itemsOf(file(text), false);
    expect(eventsOf(full).map((item) => item.position)).toEqual(offsets.map((at, index) => `event #${index + 1} at byte ${at}`));
  });

  it('reads a UTF-16LE export exactly as its UTF-8 copy', async () => {
    const text = `<Events>\r\n${Object.values(TRUE_TO_LIFE).join('\r\n')}\r\n</Events>\r\n`;
    const withoutSource = (items: ReadItem[]) =>
      items.map((item) => (item.kind === 'event' ? { event: item.event, position: item.position } : item.kind === 'problem' ? { ...item.problem, source: '' } : item));
    const utf8 = await expectFastPathExact(file(text));
    const utf16 = await expectFastPathExact(file(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])));
    expect(withoutSource(utf16.fast)).toEqual(withoutSource(utf8.fast));
    expect(withoutSource(utf16.full)).toEqual(withoutSource(utf8.full));
    expect(eventsOf(utf8.fast).length).toBeGreaterThan(10);
  });
});

describe('the event XML fast path on script records', () => {
  it('keeps every script record the WMI-creation pattern matches, whatever the letter case of its words', async () => {
    // Each alternative of the pattern, written out; the anchors the byte test looks for are parts of these.
    const creations = ['Set-WmiInstance', 'New-CimInstance', 'Set-CimInstance', 'Register-WmiEvent', 'Register-CimIndicationEvent', '[wmiclass]', '$x.Put()', 'CreateInstance', 'SpawnInstance_', '__EventFilter', 'CommandLineEventConsumer', '__FilterToConsumerBinding', 'mofcomp', '#pragma  autorecover', 'wmic'];
    expect(creations.every((text) => WMI_CREATION_PATTERN.test(text))).toBe(true);
    // Latin-1 and other letters that fold to ASCII ones only under Unicode rules, next to the words (as written, as read).
    const neighbours = fc.constantFrom(['', ''], [' ', ' '], ['é', 'é'], ['ÿ', 'ÿ'], ['ſ', 'ſ'], ['İ', 'İ'], ['K', 'K'], ['日', '日'], ['&amp;', '&'], ['&lt;x&gt;', '<x>']);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }), neighbours, neighbours, async (upper, before, after) => {
        const flip = (text: string) => [...text].map((char, index) => (upper[index % upper.length] ? char.toUpperCase() : char.toLowerCase())).join('');
        const written = creations.map((text) => [`${before[0]}${flip(text)}${after[0]}`, `${before[1]}${flip(text)}${after[1]}`]);
        const records = written.flatMap(([xml]) => [powershell4104(`Get-Item x; ${xml} -Arg 1`), powershell800(`CommandInvocation(x): ${xml}`)]);
        const unused = [powershell4104('Get-WmiObject Win32_Process | Register-Object'), powershell800('CommandInvocation(Get-Process)')];
        const { fast } = await expectFastPathExact(file(`<Events>\n${[...records, ...unused].join('\n')}\n</Events>`));
        // `\bwmic\b` needs no word character beside it: all the others match whatever their neighbours.
        expect(eventsOf(fast)).toHaveLength(2 * written.filter(([, text]) => WMI_CREATION_PATTERN.test(` ${text} `)).length);
        expect(eventsOf(fast).length).toBeGreaterThanOrEqual(2 * (creations.length - 1));
      }),
      { numRuns: 25 },
    );
  }, 60_000);
});

describe('the event XML fast path on damaged and unusual events', () => {
  it('keeps exactly what a full parse selects when markup, references and text are spliced in anywhere', async () => {
    const splice = fc.constantFrom('<!-- -->', '<!-- </Event> -->', '&#x41;', '&#87;', '&amp;', '&lt;', ' ', '\r\n', '\u00a0', 'é', '日', '<x/>', '<x>1</x>', '</System>', '<System>', '<EventID>1</EventID>', '<EventID>4104</EventID>', '<Channel>Security</Channel>', '<![CDATA[a]]>', '<?pi?>', '<Event>', '</Event>', '<e:Event ', '"', "'", '=', '/', '>', '<', 'wmi', '1');
    const events = Object.values(TRUE_TO_LIFE);
    const damaged = fc
      .tuple(fc.constantFrom(...events), fc.array(fc.tuple(fc.nat(), splice), { maxLength: 4 }))
      .map(([event, splices]) => splices.reduce((text, [at, piece]) => text.slice(0, at % (text.length + 1)) + piece + text.slice(at % (text.length + 1)), event));
    await fc.assert(
      fc.asyncProperty(fc.array(damaged, { minLength: 1, maxLength: 6 }), async (texts) => {
        await expectFastPathExact(file(`<Events>\n${texts.join('\n')}\n</Events>`));
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});

/**
 * An export where read boundary n (n × CHUNK) cuts one of `targets` (in turn) at one of the bytes
 * `cutsIn` gives for it (in turn), unused filler events up to it, each target followed by `after`;
 * `cuts` are where the targets start.
 */
function exportCutAtReads(layout: { boundaries: number; targets: string[]; filler: string; cutsIn: (target: string, targetBytes: number) => number[]; after?: string }): { path: string; cuts: number[] } {
  const { boundaries, targets, filler, cutsIn, after = '' } = layout;
  const parts: string[] = ['<Events>\n'];
  let length = Buffer.byteLength(parts[0]!);
  const cuts: number[] = [];
  for (let boundary = 1; boundary <= boundaries; boundary += 1) {
    const target = targets[boundary % targets.length]!;
    const targetBytes = Buffer.byteLength(target);
    const cutsInTarget = cutsIn(target, targetBytes);
    const start = boundary * CHUNK - cutsInTarget[boundary % cutsInTarget.length]!;
    while (length + Buffer.byteLength(filler) <= start) {
      parts.push(filler);
      length += Buffer.byteLength(filler);
    }
    const pad = ' '.repeat(start - length);
    parts.push(pad, target, '\n', after);
    cuts.push(start);
    length += pad.length + targetBytes + 1 + Buffer.byteLength(after);
  }
  parts.push('</Events>\n');
  return { path: file(parts.join('')), cuts };
}

describe('the event XML reader across its 1 MiB reads', () => {
  it('keeps every event whose bytes straddle a read boundary, at any byte of the event', async () => {
    // Filler of unused events up to just before each MiB, then a used event that the boundary cuts
    // at a chosen byte: inside `<Event`, the System, a multi-byte character, `</Event>`.
    const targets = [sysmon1('путь 日本語 ✓'), TRUE_TO_LIFE['prefixed names']!, TRUE_TO_LIFE['end tag with white space']!, TRUE_TO_LIFE['a non-breaking space after the Event name']!];
    const { path, cuts } = exportCutAtReads({
      boundaries: 40,
      targets,
      filler: `${sysmon10()}\n`,
      cutsIn: (target, targetBytes) => {
        const cutsInTarget = [1, 3, 5, 6, 7, 120, 170, 171, 172, 173, targetBytes - 9, targetBytes - 5, targetBytes - 2, targetBytes - 1];
        const multiByte = Buffer.from(target).indexOf(Buffer.from('日'));
        if (multiByte > 0) cutsInTarget.push(multiByte + 1, multiByte + 2);
        return cutsInTarget;
      },
    });
    const { fast, full } = await expectFastPathExact(path);
    expect(problemsOf(full)).toEqual([]);
    const kept = eventsOf(fast).map((item) => Number(/at byte (\d+)/.exec(item.position)![1]));
    expect(kept).toEqual(cuts);
    const bytes = readFileSync(path);
    for (const at of kept) expect(bytes.subarray(at, at + 4).toString()).toMatch(/^<(e:E|Ev)/);
  }, 60_000);
});

describe('the event XML reader across its 1 MiB reads, with long events', () => {
  it('keeps every long event a read boundary cuts, wherever it cuts it, and every event after it', async () => {
    // Events of 70 and 150 KB, each cut by a read near its start, around 64 KiB before its end and near its end.
    const longScript = powershell4104(`${'Get-ChildItem C:\\Windows; '.repeat(6_000)}Set-WmiInstance -Class __EventFilter`);
    const longSysmon = sysmon1(`wmic.exe ${'x'.repeat(70_000)}`);
    const targets = [longScript, longSysmon];
    const { path, cuts } = exportCutAtReads({
      boundaries: 12,
      targets,
      filler: `${sysmon10()}\n${sysmon1()}\n`,
      cutsIn: (_, targetBytes) => [3, 500, targetBytes - 65_536 - 1, targetBytes - 65_536, targetBytes - 65_536 + 5, targetBytes - 60_000, targetBytes - 3],
      after: `${sysmon1()}\n`,
    });
    const { fast, full } = await expectFastPathExact(path);
    expect(problemsOf(full)).toEqual([]);
    const kept = new Set(eventsOf(fast).map((item) => Number(/at byte (\d+)/.exec(item.position)![1])));
    for (const at of cuts) expect(kept.has(at)).toBe(true);
    expect(eventsOf(full).length).toBeGreaterThan(cuts.length * 2);
  }, 60_000);
});

describe('the event XML fast path on the real recordings', () => {
  it('keeps exactly what a full parse selects in the recorded export', async () => {
    const { fast } = await expectFastPathExact(`${DATASETS}wmic-commandline-consumer.sysmon.xml`);
    expect(eventsOf(fast).length).toBeGreaterThan(10);
  });

  it('keeps exactly what a full parse selects in an export replicated from all the recordings', async () => {
    const written = await writeDataset('event-xml', 12_000, join(dir, 'replicated.xml'));
    const { fast, full } = await expectFastPathExact(written.path);
    expect(eventsOf(full)).toHaveLength(12_000);
    expect(eventsOf(fast).length).toBeGreaterThan(100);
    expect(eventsOf(fast).length).toBeLessThan(12_000 / 10);
  }, 60_000);
});
