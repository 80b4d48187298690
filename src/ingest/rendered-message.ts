/**
 * Some shippers (nxlog's im_msvistalog for WMI-Activity, Get-WinEvent | ConvertTo-Json) keep only the
 * rendered Message of an event, not its fields. These parsers recover the fields under the names the
 * event's manifest gives them, so a record read from a message looks like one read from XML.
 */

/** Label as rendered in the message, field name as in the event's UserData / EventData. */
type Labels = ReadonlyArray<readonly [string, string]>;

const WMI_ACTIVITY_LABELS: Readonly<Record<number, Labels>> = {
  5857: [
    ['HostProcess', 'HostProcess'],
    ['ProcessID', 'ProcessID'],
    ['ProviderPath', 'ProviderPath'],
  ],
  5858: [
    ['Id', 'Id'],
    ['ClientMachine', 'ClientMachine'],
    ['User', 'User'],
    ['ClientProcessId', 'ClientProcessId'],
    ['Component', 'Component'],
    ['Operation', 'Operation'],
    ['ResultCode', 'ResultCode'],
    ['PossibleCause', 'PossibleCause'],
  ],
  5859: [
    ['Namespace', 'NamespaceName'],
    ['NotificationQuery', 'Query'],
    ['OwnerName', 'User'],
    ['HostProcessID', 'processid'],
    ['Provider', 'Provider'],
    ['queryID', 'queryid'],
    ['PossibleCause', 'PossibleCause'],
  ],
  5860: [
    ['Namespace', 'NamespaceName'],
    ['NotificationQuery', 'Query'],
    ['UserName', 'User'],
    ['ClientProcessID', 'processid'],
    ['ClientMachine', 'MachineName'],
    ['PossibleCause', 'PossibleCause'],
  ],
  5861: [
    ['Namespace', 'Namespace'],
    ['Eventfilter', 'ESS'],
    ['Consumer', 'CONSUMER'],
    ['PossibleCause', 'PossibleCause'],
  ],
};

/** The WMI-Activity fields of a rendered message; empty when the message does not have that shape. */
export function wmiActivityFieldsFromMessage(eventId: number, message: string): Record<string, string> {
  const labels = WMI_ACTIVITY_LABELS[eventId];
  if (!labels) return {};
  const fields: Record<string, string> = {};
  const found: Array<{ name: string; start: number; valueStart: number }> = [];
  let from = 0;
  for (const [label, name] of labels) {
    const pattern = new RegExp(`(?:^|[;,.]\\s*)${label}\\s*=\\s*`, 'g');
    pattern.lastIndex = from;
    const match = pattern.exec(message);
    if (!match) continue;
    found.push({ name, start: match.index, valueStart: match.index + match[0].length });
    from = match.index + match[0].length;
  }
  found.forEach((entry, index) => {
    const end = found[index + 1]?.start ?? message.length;
    fields[entry.name] = message.slice(entry.valueStart, end).replace(/^\s+|[\s;]+$/g, '');
  });
  if (eventId === 5857) {
    const provider = /^(.*?) provider started with result code (\S+?)\.?\s/.exec(message);
    if (provider) {
      fields.ProviderName = provider[1]!;
      fields.Code = provider[2]!;
    }
  }
  if (fields.ESS) fields.ESS = fields.ESS.replace(/\s*\(refer to its activate eventid:\d+\)\s*$/i, '');
  if (fields.Provider) fields.Provider = fields.Provider.replace(/,\s*$/, '');
  return fields;
}

/**
 * Sysmon renders `Title:\nField: value\nField: value`. Values never span lines in the events the
 * tracer reads (command lines, images, WMI names and queries).
 */
export function sysmonFieldsFromMessage(message: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of message.split(/\r?\n/)) {
    const match = /^([A-Za-z][A-Za-z0-9]*): ?(.*)$/.exec(line);
    if (match) fields[match[1]!] = match[2]!.replace(/\r$/, '');
  }
  return fields;
}

const SECURITY_4688_LABELS: Labels = [
  ['Account Name', 'SubjectUserName'],
  ['Account Domain', 'SubjectDomainName'],
  ['Logon ID', 'SubjectLogonId'],
  ['New Process ID', 'NewProcessId'],
  ['New Process Name', 'NewProcessName'],
  ['Creator Process ID', 'ProcessId'],
  ['Creator Process Name', 'ParentProcessName'],
  ['Process Command Line', 'CommandLine'],
];

/** 4688's rendered form: `\tNew Process Name:\t\tC:\\...`; the first (Subject) account wins. */
export function processCreationFieldsFromMessage(message: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of message.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z][A-Za-z ]*?):\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    const entry = SECURITY_4688_LABELS.find(([label]) => label === match[1]);
    if (entry && fields[entry[1]] === undefined) fields[entry[1]] = match[2]!;
  }
  return fields;
}
