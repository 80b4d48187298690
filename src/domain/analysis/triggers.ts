/**
 * What makes a filter fire, read from its WQL. Persistence wants to run again by itself: at start-up,
 * at logon, when some process starts, or on a timer. Each kind is named with what gave it away.
 */
export type TriggerKind = 'startup' | 'logon' | 'process-start' | 'timer';

export interface Trigger {
  kind: TriggerKind;
  description: string;
}

interface TriggerPattern {
  kind: TriggerKind;
  test: (query: string) => boolean;
  description: string;
}

const TRIGGER_PATTERNS: TriggerPattern[] = [
  {
    kind: 'startup',
    test: (q) => q.includes('win32_perfformatteddata_perfos_system') && q.includes('systemuptime'),
    description: 'fires shortly after start-up (Win32_PerfFormattedData_PerfOS_System.SystemUpTime)',
  },
  {
    kind: 'logon',
    test: (q) => /\bwin32_logonsession\b|\bwin32_loggedonuser\b/.test(q),
    description: 'fires at user logon (Win32_LogonSession / Win32_LoggedOnUser)',
  },
  {
    kind: 'process-start',
    test: (q) =>
      /\bwin32_processstarttrace\b/.test(q) || (/__instancecreationevent/.test(q) && /isa\s*['"]win32_process['"]/.test(q)),
    description: 'fires when a process starts (Win32_ProcessStartTrace / __InstanceCreationEvent of Win32_Process)',
  },
  {
    kind: 'timer',
    test: (q) => /__(?:interval|absolute)?timerevent\b/.test(q) || /\bwin32_(?:local|utc)time\b/.test(q),
    description: 'fires on a timer (__TimerEvent / __IntervalTimerEvent / Win32_LocalTime)',
  },
];

/** Lower case with white space collapsed: the form queries are compared and searched in. */
export function normalizeQuery(query: string): string {
  return query.trim().replace(/\s+/g, ' ').toLowerCase();
}

export function triggersOf(query: string | null): Trigger[] {
  if (!query) return [];
  const normalized = normalizeQuery(query);
  return TRIGGER_PATTERNS.filter((pattern) => pattern.test(normalized)).map(({ kind, description }) => ({ kind, description }));
}

/** The TimerID a __TimerEvent filter waits for, so the timer instruction can be joined to it. */
export function timerIdOf(query: string | null): string | null {
  if (!query) return null;
  const match = /timerid\s*=\s*(['"])(.*?)\1/i.exec(query);
  return match ? match[2]! : null;
}
