import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../src/domain/event-record.js';
import { ErrorCode } from '../../src/errors.js';
import { detectReader, registerReader } from '../../src/ingest/formats.js';
import type { ReadItem, ReadProblem } from '../../src/ingest/reader.js';

const dir = mkdtempSync(join(tmpdir(), 'wmi-readers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function file(content: string | Buffer): string {
  counter += 1;
  const path = join(dir, `input-${counter}`);
  writeFileSync(path, content);
  return path;
}

async function read(path: string, relevantOnly = true): Promise<{ reader: string; events: EventRecord[]; problems: ReadProblem[]; items: ReadItem[] }> {
  const reader = await detectReader(path);
  const items: ReadItem[] = [];
  for await (const item of reader.read(path, { relevantOnly })) items.push(item);
  return {
    reader: reader.name,
    items,
    events: items.flatMap((item) => (item.kind === 'event' ? [item.event] : [])),
    problems: items.flatMap((item) => (item.kind === 'problem' ? [item.problem] : [])),
  };
}

const SYSMON_19_XML = `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Sysmon"/><EventID>19</EventID><TimeCreated SystemTime="2024-03-01T10:00:00.1234567Z"/><EventRecordID>7</EventRecordID><Execution ProcessID="2032" ThreadID="1"/><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WS01.corp.local</Computer><Security UserID="S-1-5-18"/></System><EventData><Data Name="RuleName"/><Data Name="Operation">Created</Data><Data Name="User">CORP\\ann</Data><Data Name="EventNamespace"> "root\\\\cimv2"</Data><Data Name="Name"> "Upd &amp; Co"</Data><Data Name="Query"> "SELECT * FROM Win32_ProcessStartTrace"</Data></EventData></Event>`;

const WMI_5861_XML = `<Event><System><Provider Name="Microsoft-Windows-WMI-Activity"/><EventID>5861</EventID><TimeCreated SystemTime="2024-03-01T10:00:01Z"/><EventRecordID>9</EventRecordID><Channel>Microsoft-Windows-WMI-Activity/Operational</Channel><Computer>WS01</Computer></System><UserData><Operation_ESStoConsumerBinding xmlns="Operation_ESStoConsumerBinding"><Namespace>//./root/subscription</Namespace><ESS>Upd</ESS><CONSUMER>CommandLineEventConsumer="Upd"</CONSUMER><PossibleCause>Binding EventFilter: instance of __EventFilter { Name = "Upd"; };</PossibleCause></Operation_ESStoConsumerBinding></UserData></Event>`;

describe('Windows event XML', () => {
  it('reads events with and without the namespace, EventData and UserData, under <Events>', async () => {
    const result = await read(file(`<?xml version="1.0" encoding="utf-8"?>\n<Events>\n${SYSMON_19_XML}\n${WMI_5861_XML}\n</Events>`));
    expect(result.reader).toBe('event-xml');
    expect(result.problems).toEqual([]);
    const [sysmon, activity] = result.events;
    expect(sysmon).toEqual({
      host: 'WS01.corp.local',
      channel: 'Microsoft-Windows-Sysmon/Operational',
      provider: 'Microsoft-Windows-Sysmon',
      eventId: 19,
      recordId: 7,
      time: '2024-03-01T10:00:00.123Z',
      data: { RuleName: '', Operation: 'Created', User: 'CORP\\ann', EventNamespace: ' "root\\\\cimv2"', Name: ' "Upd & Co"', Query: ' "SELECT * FROM Win32_ProcessStartTrace"' },
      processId: 2032,
      userSid: 'S-1-5-18',
    });
    expect(activity!.data).toMatchObject({ Namespace: '//./root/subscription', ESS: 'Upd', CONSUMER: 'CommandLineEventConsumer="Upd"' });
  });

  it('reads a bare sequence of <Event> elements (Get-WinEvent ToXml) with prefixed names', async () => {
    const prefixed = SYSMON_19_XML.replace(/<(\/?)(\w+)/g, '<$1e:$2').replace('<e:Event xmlns=', '<e:Event xmlns:e=');
    const result = await read(file(`${prefixed}\r\n${WMI_5861_XML}`));
    expect(result.events.map((event) => event.eventId)).toEqual([19, 5861]);
  });

  it('reports a malformed and a truncated event with their positions and reads the rest', async () => {
    const broken = SYSMON_19_XML.replace('<Data Name="Operation">Created</Data>', '<Data Name="Operation">Created</Dat>');
    const truncated = WMI_5861_XML.slice(0, 200);
    const result = await read(file(`<Events>${broken}${WMI_5861_XML}${truncated}`));
    expect(result.events.map((event) => event.eventId)).toEqual([5861]);
    expect(result.problems).toHaveLength(2);
    expect(result.problems[0]!.position).toBe('event #1 at byte 8');
    expect(result.problems[0]!.message).toMatch(/malformed event XML/);
    expect(result.problems[1]!.message).toMatch(/truncated/);
  });

  it('reads UTF-16LE with a BOM, as Windows PowerShell writes files', async () => {
    const text = `\uFEFF<Events>${SYSMON_19_XML}</Events>`;
    const result = await read(file(Buffer.from(text, 'utf16le')));
    expect(result.events).toHaveLength(1);
    expect(result.events[0]!.data.Name).toBe(' "Upd & Co"');
  });
});

const EVTX_JSON_EVENT = {
  Event: {
    '#attributes': { xmlns: 'http://schemas.microsoft.com/win/2004/08/events/event' },
    System: {
      Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon' } },
      EventID: 1,
      TimeCreated: { '#attributes': { SystemTime: '2024-03-01T10:00:00.5Z' } },
      EventRecordID: 11,
      Execution: { '#attributes': { ProcessID: 4, ThreadID: 8 } },
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      Computer: 'WS01',
    },
    EventData: { Image: 'C:\\Windows\\System32\\mofcomp.exe', CommandLine: 'mofcomp.exe x.mof', ParentCommandLine: 'cmd', ProcessId: 10 },
  },
};

describe('evtx_dump JSON', () => {
  it('reads one object per line', async () => {
    const result = await read(file(`${JSON.stringify(EVTX_JSON_EVENT)}\n`));
    expect(result.reader).toBe('json-lines');
    expect(result.events[0]).toMatchObject({ eventId: 1, recordId: 11, host: 'WS01', processId: 4, data: { ProcessId: '10', Image: 'C:\\Windows\\System32\\mofcomp.exe' } });
  });

  it('reads a pretty-printed JSON array without holding it as one value', async () => {
    const result = await read(file(JSON.stringify([EVTX_JSON_EVENT, EVTX_JSON_EVENT], null, 2)));
    expect(result.reader).toBe('json-stream');
    expect(result.events).toHaveLength(2);
  });

  it('reads evtx_dump default output (Record N headers) and reports a truncated last record', async () => {
    const pretty = JSON.stringify(EVTX_JSON_EVENT, null, 2);
    const result = await read(file(`Record 1\n${pretty}\nRecord 2\n${pretty}\nRecord 3\n${pretty.slice(0, 80)}`));
    expect(result.events).toHaveLength(2);
    expect(result.problems).toEqual([{ source: expect.any(String), position: expect.stringMatching(/^record #3 at byte \d+$/), message: 'record truncated at end of file' }]);
  });
});

describe('flattened JSON lines', () => {
  it('reads nxlog records: Hostname over the shipper host, UtcTime over the local EventTime', async () => {
    const line = { EventID: 1, Channel: 'Microsoft-Windows-Sysmon/Operational', SourceName: 'Microsoft-Windows-Sysmon', Hostname: 'WS01.corp.local', host: 'collector-7', EventTime: '2024-03-01 05:00:00', UtcTime: '2024-03-01 10:00:00.250', '@timestamp': '2024-03-01T10:00:03.000Z', RecordNumber: 5, ProcessID: 2032, Image: 'C:\\x.exe', ParentCommandLine: 'cmd', Message: 'Process Create:...' };
    const [event] = (await read(file(`${JSON.stringify(line)}\n`))).events;
    expect(event).toEqual({
      host: 'WS01.corp.local',
      channel: 'Microsoft-Windows-Sysmon/Operational',
      provider: 'Microsoft-Windows-Sysmon',
      eventId: 1,
      recordId: 5,
      time: '2024-03-01T10:00:00.250Z',
      data: { UtcTime: '2024-03-01 10:00:00.250', Image: 'C:\\x.exe', ParentCommandLine: 'cmd' },
      processId: 2032,
    });
  });

  it('reads Splunk-style names (EventCode, ComputerName, LogName) and ECS host.name', async () => {
    const splunk = { EventCode: '4688', LogName: 'Security', ComputerName: 'WS02', TimeCreated: '2024-03-01T10:00:00Z', NewProcessName: 'C:\\Windows\\System32\\wbem\\WMIC.exe', CommandLine: 'wmic x' };
    const ecs = { event_id: 20, log_name: 'Microsoft-Windows-Sysmon/Operational', host: { name: 'WS03' }, '@timestamp': '2024-03-01T10:00:00Z', event_data: { Destination: ' "cmd.exe"', Name: ' "x"' } };
    const events = (await read(file(`${JSON.stringify(splunk)}\n${JSON.stringify(ecs)}\n`))).events;
    expect(events.map((event) => [event.eventId, event.host])).toEqual([[4688, 'WS02'], [20, 'WS03']]);
  });

  it('reads winlogbeat 7+ records (winlog.event_data, winlog.user_data)', async () => {
    const record = {
      '@timestamp': '2024-03-01T10:00:00.000Z',
      host: { name: 'ws04.corp.local' },
      winlog: { channel: 'Microsoft-Windows-WMI-Activity/Operational', provider_name: 'Microsoft-Windows-WMI-Activity', event_id: '5861', computer_name: 'WS04.corp.local', record_id: 12, user_data: { Namespace: '//./root/subscription', ESS: 'f', CONSUMER: 'CommandLineEventConsumer="c"', PossibleCause: 'x' } },
    };
    const [event] = (await read(file(`${JSON.stringify(record)}\n`))).events;
    expect(event).toMatchObject({ eventId: 5861, host: 'WS04.corp.local', recordId: 12, data: { ESS: 'f' } });
  });

  it('recovers WMI-Activity fields from the rendered message when only it was shipped', async () => {
    const record = {
      EventID: 5859,
      Channel: 'Microsoft-Windows-WMI-Activity/Operational',
      Hostname: 'WS05',
      '@timestamp': '2024-03-01T10:00:00Z',
      Message: 'Namespace = //./root/CIMV2; NotificationQuery = select * from Win32_ProcessStartTrace where ProcessName=\'a;b.exe\'; OwnerName = S-1-5-18; HostProcessID = 1;  Provider= WMI Kernel Trace Event Provider, queryID = 2; PossibleCause = Permanent',
    };
    const [event] = (await read(file(`${JSON.stringify(record)}\n`))).events;
    expect(event!.data).toMatchObject({
      NamespaceName: '//./root/CIMV2',
      Query: "select * from Win32_ProcessStartTrace where ProcessName='a;b.exe'",
      User: 'S-1-5-18',
      Provider: 'WMI Kernel Trace Event Provider',
      queryid: '2',
      PossibleCause: 'Permanent',
    });
  });

  it('reads Get-WinEvent | ConvertTo-Json lines: /Date()/ times and a Sysmon message', async () => {
    const record = { Id: 1, LogName: 'Microsoft-Windows-Sysmon/Operational', ProviderName: 'Microsoft-Windows-Sysmon', MachineName: 'WS06', TimeCreated: '/Date(1709287200000)/', RecordId: 3, Message: 'Process Create:\r\nRuleName: -\r\nUtcTime: 2024-03-01 10:00:00.000\r\nImage: C:\\Windows\\System32\\mofcomp.exe\r\nCommandLine: mofcomp.exe C:\\t\\x.mof\r\nParentCommandLine: cmd.exe' };
    const [event] = (await read(file(`${JSON.stringify(record)}\n`))).events;
    expect(event).toMatchObject({ eventId: 1, host: 'WS06', time: '2024-03-01T10:00:00.000Z', data: { Image: 'C:\\Windows\\System32\\mofcomp.exe', CommandLine: 'mofcomp.exe C:\\t\\x.mof' } });
  });

  it('counts bad and truncated lines with their line numbers and reads the rest', async () => {
    const good = JSON.stringify({ EventID: 19, Channel: 'Microsoft-Windows-Sysmon/Operational', Hostname: 'WS07', UtcTime: '2024-03-01 10:00:00', EventNamespace: ' "root\\\\cimv2"', Name: ' "f"' });
    const noId = JSON.stringify({ Channel: 'Microsoft-Windows-Sysmon/Operational', EventNamespace: 'x' });
    const result = await read(file(`${good}\n{"EventID": 19, "EventNamespace": \n${noId}\n{"EventID":10,"CallTrace":"x"}\n${good}\n${good.slice(0, 40)}`));
    expect(result.events).toHaveLength(2);
    expect(result.problems.map((p) => [p.position, p.message.split(' (')[0]!.split(':')[0]])).toEqual([
      ['line 2', 'not JSON'],
      ['line 3', 'not an event record'],
      ['line 6', 'record truncated'],
    ]);
  });
});

describe('format detection', () => {
  it('recognises JSON lines cut at the front (an export that starts mid-record) and reports the cut line', async () => {
    const good = JSON.stringify({ EventID: 19, Channel: 'Microsoft-Windows-Sysmon/Operational', Hostname: 'WS08', UtcTime: '2024-03-01 10:00:00', EventNamespace: ' "root\\\\cimv2"', Name: ' "f"' });
    const result = await read(file(`ssageNumber":1,"EventNamespace":"x"}\n${good}\n`));
    expect(result.reader).toBe('json-lines');
    expect(result.events).toHaveLength(1);
    expect(result.problems.map((p) => p.position)).toEqual(['line 1']);
  });

  it('refuses a file it cannot read with E_UNSUPPORTED_FORMAT, and an empty one with E_BAD_INPUT', async () => {
    await expect(detectReader(file('just some text\n'))).rejects.toMatchObject({ code: ErrorCode.UnsupportedFormat });
    await expect(detectReader(file(''))).rejects.toMatchObject({ code: ErrorCode.BadInput });
  });

  it('recognises a collection by its content, not its name', async () => {
    expect((await detectReader(file('{\n  "schemaVersion": 1,\n  "collectedAt": "2024-03-01T10:00:00Z"\n}'))).name).toBe('collection');
  });

  it('asks registered readers first, so a binary format can plug in', async () => {
    registerReader({
      name: 'test-magic',
      detect: (head) => head.subarray(0, 6).toString('latin1') === 'MAGIC!',
      async *read() {
        yield { kind: 'problem', problem: { source: 'x', position: null, message: 'read by the test reader' } };
      },
    });
    const result = await read(file('MAGIC!{"EventID":1}'));
    expect(result.reader).toBe('test-magic');
  });
});

describe('search exports', () => {
  it('unwraps Splunk results and Elasticsearch hits', async () => {
    const sysmon1 = { EventCode: '1', Channel: 'Microsoft-Windows-Sysmon/Operational', Computer: 'WS09', UtcTime: '2024-03-01 10:00:00.000', Image: 'C:\\x.exe', ParentCommandLine: 'cmd' };
    const lines = [JSON.stringify({ preview: false, result: sysmon1 }), JSON.stringify({ _index: 'winlogbeat', _id: 'a1', _source: { ...sysmon1, EventCode: '1' } })];
    const events = (await read(file(`${lines.join('\n')}\n`))).events;
    expect(events.map((event) => [event.eventId, event.host])).toEqual([[1, 'WS09'], [1, 'WS09']]);
  });

  it("reads Log Analytics' Event table, whose EventData is XML text", async () => {
    const row = {
      TimeGenerated: '2024-03-01T10:00:00.000Z',
      Computer: 'WS10.corp.example',
      EventLog: 'Microsoft-Windows-Sysmon/Operational',
      Source: 'Microsoft-Windows-Sysmon',
      EventID: 20,
      EventData: '<DataItem type="System.XmlData" time="2024-03-01T10:00:00Z"><EventData xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><Data Name="Operation">Created</Data><Data Name="User">CORP\\eve</Data><Data Name="Name"> "Upd"</Data><Data Name="Type">Command Line</Data><Data Name="Destination"> "cmd.exe /c echo &lt;x&gt;"</Data><Data Name="RuleName" /></EventData></DataItem>',
    };
    const [event] = (await read(file(`${JSON.stringify(row)}\n`))).events;
    expect(event).toMatchObject({ eventId: 20, channel: 'Microsoft-Windows-Sysmon/Operational', host: 'WS10.corp.example' });
    expect(event).toMatchObject({ provider: 'Microsoft-Windows-Sysmon' });
    expect(event!.data).toEqual({ Operation: 'Created', User: 'CORP\\eve', Name: ' "Upd"', Type: 'Command Line', Destination: ' "cmd.exe /c echo <x>"', RuleName: '' });
  });
});

describe('PowerShell records shipped as rendered text only', () => {
  it('keep the message as the searchable text', async () => {
    const record = { Id: 4104, LogName: 'Microsoft-Windows-PowerShell/Operational', ProviderName: 'Microsoft-Windows-PowerShell', MachineName: 'WS11', TimeCreated: '2024-03-01T10:00:00Z', ProcessId: 4242, Message: 'Creating Scriptblock text (1 of 1):\r\nSet-WmiInstance -Namespace root\\subscription -Class __EventFilter -Arguments @{Name="Upd"}\r\n\r\nScriptBlock ID: 1\r\nPath: ' };
    const [event] = (await read(file(`${JSON.stringify(record)}\n`))).events;
    expect(event).toMatchObject({ eventId: 4104, host: 'WS11' });
    expect(event!.data.Message).toContain('Set-WmiInstance');
  });
});
