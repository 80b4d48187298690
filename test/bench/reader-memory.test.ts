import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BENCH_ROOT, runInChild } from '../../bench/support/child.js';
import { EVENT_FORMATS, writeDataset } from '../../bench/support/event-datasets.js';
import type { RetainedHeap } from '../../bench/support/retained-heap.js';
import { temporaryFolder } from '../support/temporary-folder.js';

/**
 * Streaming means memory follows the events kept, not the size of the export. The benchmark found
 * the XML reader keeping every chunk it had read alive (fields sliced from the chunk text share it in
 * V8); this holds each reader to the rule on a 20,000-record export whose kept events are ~3% of it.
 */
describe('reader memory on a large export', () => {
  const folder = temporaryFolder('wmi-hunter-reader-memory-');

  it.each(EVENT_FORMATS)('%s: what stays on the heap is a small part of the input', async (format) => {
    const written = await writeDataset(format, 20_000, join(folder(), `${format}.data`));
    const inputMb = written.bytes / 1024 / 1024;
    const retained = await runInChild<RetainedHeap>(`${BENCH_ROOT}support/retained-heap.ts`, [written.path]);
    expect(retained.eventsKept).toBeGreaterThan(100);
    expect(retained.retainedMb).toBeLessThan(inputMb / 4);
  }, 120_000);

  it('event-xml: a kept event holds its own fields, not the text of its whole element', async () => {
    // `wevtutil qe /f:RenderedXml` adds the rendered message to every event; the reader keeps none of it.
    const message = `Process Create: ${'RuleName: - UtcTime: 2024-03-01 10:00:00.123 ProcessGuid: {5770385f-0000-0000-0000-000000000000} '.repeat(160)}`;
    const event = (index: number) =>
      `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Sysmon"/><EventID>1</EventID>` +
      `<TimeCreated SystemTime="2024-03-01T10:00:00.1234567Z"/><EventRecordID>${index}</EventRecordID><Channel>Microsoft-Windows-Sysmon/Operational</Channel>` +
      `<Computer>WS${index % 50}.corp.local</Computer></System><EventData><Data Name="ProcessGuid">{5770385f-0000-0000-0000-${String(index).padStart(12, '0')}}</Data>` +
      `<Data Name="ProcessId">${index}</Data><Data Name="Image">C:\\Windows\\System32\\wbem\\WMIC.exe</Data><Data Name="CommandLine">wmic.exe process call create notepad-${index}</Data>` +
      `<Data Name="User">CORP\\ann</Data></EventData><RenderingInfo Culture="en-US"><Message>${message}</Message><Level>Information</Level></RenderingInfo></Event>`;
    const path = join(folder(), 'rendered.xml');
    const events = Array.from({ length: 3_000 }, (_, index) => event(index));
    await writeFile(path, `<Events>\n${events.join('\n')}\n</Events>\n`);
    const inputMb = Buffer.byteLength(events.join('\n')) / 1024 / 1024;
    const retained = await runInChild<RetainedHeap>(`${BENCH_ROOT}support/retained-heap.ts`, [path]);
    expect(retained.eventsKept).toBe(3_000);
    expect(retained.retainedMb).toBeLessThan(inputMb / 8);
  }, 120_000);
});
