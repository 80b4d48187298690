import { describe, expect, it } from 'vitest';
import { WMI_CREATION_PATTERN } from '../../src/domain/origin/relevant-events.js';
import { passesPrefilter, WMI_CREATION_ANCHORS } from '../../src/ingest/prefilter.js';

/**
 * The script-record test looks for the WMI-creation anchors in one case-insensitive pass (it used to
 * lower-case a copy of the record and search it once per anchor). It must still let through, in any
 * letter case, every record whose text the full parse would select.
 */
const context = '{"log_name":"Microsoft-Windows-PowerShell/Operational","event_data":{"ContextInfo":"Host Application = powershell.exe"';

describe('the WMI-creation anchors of script records', () => {
  it.each(WMI_CREATION_ANCHORS)('finds %s whatever its letter case', (anchor) => {
    for (const shown of [anchor, anchor.toUpperCase(), anchor.charAt(0).toUpperCase() + anchor.slice(1)]) {
      expect(passesPrefilter(`${context},"Payload":"x ${shown} y"}}`)).toBe(true);
    }
  });

  it('lets through every text the WMI-creation pattern matches, in mixed case', () => {
    const texts = ['Set-WmiInstance -Class __EventFilter', 'NEW-CIMINSTANCE -ClassName CommandLineEventConsumer', '[WMIClass]"\\\\.\\root\\subscription:__EventFilter"', '$f.Put()', 'Register-CimIndicationEvent', 'MOFCOMP.EXE c:\\x.mof', '#PRAGMA AUTORECOVER', 'wmic /namespace'];
    for (const text of texts) {
      expect(WMI_CREATION_PATTERN.test(text)).toBe(true);
      expect(passesPrefilter(`${context},"Payload":${JSON.stringify(text)}}}`)).toBe(true);
    }
  });

  it('still skips script records that show no WMI word at all', () => {
    expect(passesPrefilter(`${context},"Payload":"Get-Process | Where-Object CPU -gt 10"}}`)).toBe(false);
    expect(passesPrefilter(`${context},"Payload":"Get-ChildItem C:\\\\Windows\\\\Temp"}}`)).toBe(false);
  });
});
