import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isUsedEvent } from '../../src/domain/origin/relevant-events.js';
import { readEventsOf } from '../support/read-events.js';
import { WMI_CREATION_SOURCE } from '../../src/domain/origin/relevant-events.js';
import { passesPrefilter, WMI_CREATION_ANCHORS } from '../../src/ingest/prefilter.js';

const DATASETS = fileURLToPath(new URL('../../../shared/datasets/', import.meta.url));
const FILES = [
  'wmic-commandline-consumer.sysmon.xml',
  'powerlurk-process-start.sysmon.evtx.jsonl',
  'covenant-persistwmi.mordor.jsonl',
  'empire-elevated-wmi.winlogbeat.jsonl',
  'benign-scm-default.wmi-activity.mordor.jsonl',
];

describe('the raw-text prefilter', () => {
  it.each(FILES)('yields exactly the events a full parse selects: %s', async (file) => {
    const full = await readEventsOf(`${DATASETS}${file}`, false);
    const fast = await readEventsOf(`${DATASETS}${file}`, true);
    const selected = full.events.filter(isUsedEvent);
    expect(fast.events).toEqual(selected);
    expect(fast.problems).toBe(full.problems);
    expect(selected.length).toBeGreaterThan(0);
  });

  it('skips most of a large export unparsed', async () => {
    const full = await readEventsOf(`${DATASETS}empire-elevated-wmi.winlogbeat.jsonl`, false);
    const fast = await readEventsOf(`${DATASETS}empire-elevated-wmi.winlogbeat.jsonl`, true);
    expect(fast.events.length).toBeLessThan(full.events.length / 10);
  });

  it('lets PowerShell records through only when they show WMI object creation', () => {
    const context = '{"log_name":"Microsoft-Windows-PowerShell/Operational","event_data":{"ContextInfo":"Host Application = powershell.exe"';
    expect(passesPrefilter(`${context},"Payload":"Get-Process"}}`)).toBe(false);
    expect(passesPrefilter(`${context},"Payload":"Set-WmiInstance -Class __EventFilter"}}`)).toBe(true);
  });

  it('has an anchor inside every word of the WMI-creation pattern, so the anchors cannot miss one', () => {
    for (const word of WMI_CREATION_SOURCE.split('|')) {
      const literal = word.replace(/\\b/g, '').replace(/\\s\+/g, ' ').replace(/\\(.)/g, '$1');
      expect(WMI_CREATION_ANCHORS.some((anchor) => literal.includes(anchor))).toBe(true);
    }
  });

  it('does not take a Sysmon network event for a consumer event', () => {
    expect(passesPrefilter('{"EventID":3,"DestinationIp":"10.0.0.1","DestinationPort":"443"}')).toBe(false);
    expect(passesPrefilter('{"EventID":20,"Destination":" \\"cmd.exe\\""}')).toBe(true);
    expect(passesPrefilter('<Data Name="Destination"> "cmd.exe"</Data>')).toBe(true);
  });

  it('keeps 4662 only for the WMI object server', () => {
    expect(passesPrefilter('{"EventID":4662,"ObjectServer":"DS"}')).toBe(false);
    expect(passesPrefilter('{"EventID":4662,"ObjectServer":"WMI"}')).toBe(true);
  });
});
