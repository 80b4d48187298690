import { describe, expect, it } from 'vitest';
import { sigmaRules } from './detection-files.js';
import { readEventXml, readJsonLines } from './recorded-events.js';
import { compileDetection, logsourceApplies, type SigmaEvent } from './sigma-subset.js';

/**
 * The Sigma rules' detection logic run against real recorded attacks (../shared/datasets, ground
 * truth in its README) and against Windows' own SCM default subscription, which must not alert.
 * mofcomp.exe and scrcons.exe appear in no recording, so their rules are checked on written Sysmon 1
 * events shaped the way Sysmon logs those processes.
 */
const recordings = {
  wmic: readEventXml('wmic-commandline-consumer.sysmon.xml'),
  powerlurk: readJsonLines('powerlurk-process-start.sysmon.evtx.jsonl'),
  covenant: readJsonLines('covenant-persistwmi.mordor.jsonl'),
  empire: readJsonLines('empire-elevated-wmi.winlogbeat.jsonl'),
  benignScm: readJsonLines('benign-scm-default.wmi-activity.mordor.jsonl'),
};
const allRecorded = Object.values(recordings).flat();

const rules = new Map(
  sigmaRules().map(({ file, rule }) => {
    const detection = compileDetection(rule.detection as Record<string, unknown>);
    const logsource = rule.logsource as Record<string, unknown>;
    return [file, (event: SigmaEvent) => logsourceApplies(logsource, event) && detection(event)] as const;
  }),
);

function rule(file: string): (event: SigmaEvent) => boolean {
  const matcher = rules.get(file);
  if (!matcher) throw new Error(`no Sigma rule ${file}`);
  return matcher;
}

function matching(file: string, events: readonly SigmaEvent[]): SigmaEvent[] {
  return events.filter(rule(file));
}

function sysmonProcess(fields: Record<string, string>): SigmaEvent {
  return { EventID: 1, Channel: 'Microsoft-Windows-Sysmon/Operational', Computer: 'ws042.corp.example.com', ...fields };
}

describe('the recordings load as a SIEM would see them', () => {
  it('reads every layout into events with an id, a channel and a computer', () => {
    for (const [name, events] of Object.entries(recordings)) {
      expect(events.length, name).toBeGreaterThan(0);
      for (const event of events) {
        expect(Number.isInteger(event.EventID), name).toBe(true);
        expect(String(event.Channel).length, name).toBeGreaterThan(0);
      }
    }
  });
});

describe('sysmon_wmi_event_subscription.yml', () => {
  const file = 'sysmon_wmi_event_subscription.yml';

  it('matches the filter, consumer and binding WinPwnage created with wmic, not their deletion', () => {
    const hits = matching(file, recordings.wmic);
    expect(hits.map((event) => event.EventID).sort()).toEqual([19, 20, 21]);
    expect(hits.every((event) => event.Operation === 'Created')).toBe(true);
    const deletions = recordings.wmic.filter((event) => [19, 20, 21].includes(Number(event.EventID)) && event.Operation === 'Deleted');
    expect(deletions.length).toBe(3);
    expect(matching(file, deletions)).toEqual([]);
  });

  it('matches the subscriptions of PowerLurk, Covenant and Empire', () => {
    expect(matching(file, recordings.powerlurk).length).toBe(3);
    expect(matching(file, recordings.covenant).map((event) => event.EventID).sort()).toEqual([19, 20, 21]);
    expect(matching(file, recordings.empire).map((event) => event.EventID).sort()).toEqual([19, 20, 21]);
  });
});

describe('sysmon_wmi_susp_event_consumer_creation.yml', () => {
  const file = 'sysmon_wmi_susp_event_consumer_creation.yml';

  it('matches each recorded command-line consumer once, at creation', () => {
    const names = (events: readonly SigmaEvent[]) => matching(file, events).map((event) => String(event.Name).trim());
    expect(names(recordings.wmic)).toEqual(['"BotConsumer23"']);
    expect(names(recordings.powerlurk)).toEqual(['"Evil"']);
    expect(names(recordings.covenant)).toEqual(['"Evil Persistence"']);
    expect(names(recordings.empire)).toEqual(['"Updater"']);
  });
});

describe('win_wmi_persistence_filter_to_consumer_binding.yml', () => {
  const file = 'win_wmi_persistence_filter_to_consumer_binding.yml';
  const scmDefault = recordings.benignScm.filter((event) => event.EventID === 5861);

  it("matches the 5861 bindings of Covenant's and Empire's command-line consumers", () => {
    expect(matching(file, recordings.covenant).map((event) => event.CONSUMER)).toEqual(['CommandLineEventConsumer="Evil Persistence"']);
    expect(matching(file, recordings.empire).map((event) => event.CONSUMER)).toEqual(['CommandLineEventConsumer="Updater"']);
  });

  it("does not match Windows' SCM Event Log default, and it is the SCM filter that excludes it", () => {
    expect(scmDefault.length).toBe(1);
    expect(matching(file, scmDefault)).toEqual([]);
    const selectionOnly = compileDetection({ selection: { EventID: 5861 }, condition: 'selection' });
    expect(scmDefault.filter(selectionOnly).length).toBe(1);
  });

  it('still matches a binding that borrows the SCM names but runs a command', () => {
    const [scm] = scmDefault;
    const borrowed: SigmaEvent = {
      ...scm,
      CONSUMER: 'CommandLineEventConsumer="SCM Event Log Consumer"',
      PossibleCause: String(scm?.PossibleCause).replace('instance of NTEventLogEventConsumer', 'instance of CommandLineEventConsumer'),
    };
    expect(rule(file)(borrowed)).toBe(true);
  });
});

describe('proc_creation_win_wmic_event_subscription_create.yml', () => {
  const file = 'proc_creation_win_wmic_event_subscription_create.yml';

  it('matches the three wmic CREATE commands and none of the DELETE commands', () => {
    const hits = matching(file, recordings.wmic);
    expect(hits.length).toBe(3);
    for (const event of hits) expect(String(event.CommandLine)).toMatch(/ CREATE /);
    const wmicRuns = recordings.wmic.filter((event) => event.EventID === 1 && /\\wmic\.exe$/i.test(String(event.Image)));
    expect(wmicRuns.length).toBe(6);
  });
});

describe('proc_creation_win_wmiprvse_susp_child_process.yml', () => {
  const file = 'proc_creation_win_wmiprvse_susp_child_process.yml';

  it('matches cmd.exe started by WmiPrvSE when the WinPwnage consumer fired', () => {
    const hits = matching(file, recordings.wmic);
    expect(hits.map((event) => [event.Image, event.ParentImage, event.User])).toEqual([
      ['C:\\Windows\\System32\\cmd.exe', 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', 'NT AUTHORITY\\SYSTEM'],
    ]);
  });

  it('does not match WmiPrvSE itself starting, nor any other recorded process', () => {
    const empireProcesses = recordings.empire.filter((event) => event.EventID === 1 && /Sysmon/.test(String(event.Channel)));
    expect(empireProcesses.some((event) => /WmiPrvSE\.exe$/i.test(String(event.Image)))).toBe(true);
    expect(matching(file, empireProcesses)).toEqual([]);
    expect(matching(file, allRecorded).length).toBe(1);
  });

  it('matches a renamed PowerShell by its original file name', () => {
    const renamed = sysmonProcess({
      Image: 'C:\\Users\\Public\\svc.exe',
      OriginalFileName: 'PowerShell.EXE',
      ParentImage: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe',
    });
    expect(rule(file)(renamed)).toBe(true);
  });
});

describe('proc_creation_win_scrcons_child_process.yml', () => {
  const file = 'proc_creation_win_scrcons_child_process.yml';
  const parent = 'C:\\Windows\\System32\\wbem\\scrcons.exe';

  it('matches any child of scrcons.exe except Windows Error Reporting', () => {
    expect(rule(file)(sysmonProcess({ Image: 'C:\\Windows\\System32\\cscript.exe', ParentImage: parent }))).toBe(true);
    expect(rule(file)(sysmonProcess({ Image: 'C:\\Windows\\System32\\notepad.exe', ParentImage: parent }))).toBe(true);
    expect(rule(file)(sysmonProcess({ Image: 'C:\\Windows\\System32\\WerFault.exe', ParentImage: parent }))).toBe(false);
  });

  it('matches nothing in the recordings, where no script consumer ran', () => {
    expect(matching(file, allRecorded)).toEqual([]);
  });
});

describe('proc_creation_win_mofcomp_susp_execution.yml', () => {
  const file = 'proc_creation_win_mofcomp_susp_execution.yml';
  const mofcomp = 'C:\\Windows\\System32\\wbem\\mofcomp.exe';

  it('matches mofcomp started by a script host', () => {
    const event = sysmonProcess({
      Image: mofcomp,
      CommandLine: 'mofcomp.exe C:\\Windows\\System32\\wbem\\vendor.mof',
      ParentImage: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    });
    expect(rule(file)(event)).toBe(true);
  });

  it('matches a MOF compiled from a user-writable folder, whatever the parent', () => {
    const event = sysmonProcess({
      Image: mofcomp,
      CommandLine: 'mofcomp.exe C:\\Users\\jdoe\\AppData\\Local\\Temp\\upd.mof',
      ParentImage: 'C:\\Windows\\System32\\msiexec.exe',
    });
    expect(rule(file)(event)).toBe(true);
  });

  it('does not match an installer compiling its MOF from Program Files', () => {
    const event = sysmonProcess({
      Image: mofcomp,
      CommandLine: 'mofcomp.exe "C:\\Program Files\\Vendor\\Agent\\agent.mof"',
      ParentImage: 'C:\\Windows\\System32\\msiexec.exe',
    });
    expect(rule(file)(event)).toBe(false);
  });

  it('matches nothing in the recordings, where mofcomp never ran', () => {
    expect(matching(file, allRecorded)).toEqual([]);
  });
});

describe('the benign SCM default recording', () => {
  it('raises no alert from any rule', () => {
    for (const [file, matches] of rules) expect(recordings.benignScm.filter(matches), file).toEqual([]);
  });
});
