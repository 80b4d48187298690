/**
 * What a consumer's payload text says about itself: encoded PowerShell (decoded to look inside),
 * download cradles, LOLBins and script hosts, user-writable paths, and the COM objects script
 * consumers use to run or fetch code. Pure text inspection; the risk rules turn indicators into reasons.
 */
export type IndicatorId =
  | 'encoded-powershell'
  | 'base64-decode'
  | 'invoke-expression'
  | 'download'
  | 'bitsadmin'
  | 'certutil'
  | 'lolbin'
  | 'powershell'
  | 'hidden-window'
  | 'shell'
  | 'user-writable-path'
  | 'script-exec-object'
  | 'script-download-object'
  | 'script-file-object'
  | 'script-eval';

export interface Indicator {
  id: IndicatorId;
  /** What was seen, quoted from the payload (short). */
  evidence: string;
  /** True when the indicator was found inside a decoded -EncodedCommand, not in the text itself. */
  decoded: boolean;
}

export interface EncodedCommand {
  /** The switch as written (-enc, -e, -EncodedCommand ...). */
  flag: string;
  argument: string;
  /** The UTF-16LE decoding, or null when the argument is not base64 of UTF-16LE text. */
  decoded: string | null;
}

export interface PayloadInspection {
  indicators: Indicator[];
  encodedCommands: EncodedCommand[];
}

interface Pattern {
  id: IndicatorId;
  regex: RegExp;
}

/** Patterns read on command lines and script text alike, case-insensitively. */
const PATTERNS: Pattern[] = [
  { id: 'base64-decode', regex: /frombase64string/i },
  { id: 'invoke-expression', regex: /\binvoke-expression\b|(?:^|[\s;|(&{'"])iex\b/i },
  {
    id: 'download',
    regex: /\bdownload(?:string|file|data)\b|net\.webclient|\binvoke-webrequest\b|\biwr\s|\binvoke-restmethod\b|\bstart-bitstransfer\b|\bhttps?:\/\/[^\s'"]+/i,
  },
  { id: 'bitsadmin', regex: /\bbitsadmin(?:\.exe)?\b[^\n]*\/(?:transfer|addfile|setnotifycmdline)/i },
  { id: 'certutil', regex: /\bcertutil(?:\.exe)?\b[^\n]*[-/](?:urlcache|decode|decodehex)\b/i },
  { id: 'lolbin', regex: /\b(?:mshta|rundll32|regsvr32|wscript|cscript|msiexec|installutil|regasm|regsvcs|msbuild)(?:\.exe)?\b(?!\.)/i },
  { id: 'powershell', regex: /\b(?:powershell|pwsh)(?:\.exe)?\b/i },
  { id: 'hidden-window', regex: /(?:^|\s)[-/]w(?:i(?:n(?:d(?:o(?:w(?:s(?:t(?:y(?:l(?:e)?)?)?)?)?)?)?)?)?)?\s+(?:hidden|1)\b/i },
  { id: 'shell', regex: /\bcmd\.exe\b|\bcmd\s+\/[ckr]\b/i },
  {
    id: 'user-writable-path',
    regex: /%temp%|%tmp%|%appdata%|%localappdata%|%programdata%|%public%|\$env:(?:temp|tmp|appdata|localappdata|programdata|public)\b|[a-z]:\\+(?:windows\\+)?temp\\|\\+users\\+public\\|\\+appdata\\|[a-z]:\\+programdata\\|\\+temp\\/i,
  },
  { id: 'script-exec-object', regex: /wscript\.shell|shell\.application|win32_process[^\n]*\bcreate\b|\bactivexobject\b/i },
  { id: 'script-download-object', regex: /msxml2\.(?:server)?xmlhttp|microsoft\.xmlhttp|winhttp\.winhttprequest|adodb\.stream/i },
  { id: 'script-file-object', regex: /scripting\.filesystemobject/i },
  { id: 'script-eval', regex: /\bexecute(?:global)?\b\s*[\w(]|\beval\s*\(/i },
];

/** Every prefix PowerShell accepts for -EncodedCommand, plus its documented alias -ec. */
const ENCODED_SWITCH = /(?:^|[\s"'])([-/](?:ec|e(?:n(?:c(?:o(?:d(?:e(?:d(?:c(?:o(?:m(?:m(?:a(?:n(?:d)?)?)?)?)?)?)?)?)?)?)?)?)?))\s+("?)([^\s"]+)\2/gi;

const EXCERPT_LENGTH = 80;

export function inspectPayload(text: string): PayloadInspection {
  const indicators = indicatorsIn(text, false);
  const encodedCommands = findEncodedCommands(text);
  for (const command of encodedCommands) {
    indicators.push({ id: 'encoded-powershell', evidence: `${command.flag} ${shorten(command.argument, 24)}`, decoded: false });
    if (command.decoded !== null) indicators.push(...indicatorsIn(command.decoded, true));
  }
  return { indicators, encodedCommands };
}

function indicatorsIn(text: string, decoded: boolean): Indicator[] {
  const found: Indicator[] = [];
  for (const pattern of PATTERNS) {
    const match = pattern.regex.exec(text);
    if (match) found.push({ id: pattern.id, evidence: shorten(match[0].replace(/^[\s;|(&{'"]+/, '').trim(), 60), decoded });
  }
  return found;
}

/** -EncodedCommand arguments, only where PowerShell is what runs (cmd.exe /e means something else). */
export function findEncodedCommands(text: string): EncodedCommand[] {
  if (!/\b(?:powershell|pwsh)(?:\.exe)?\b/i.test(text)) return [];
  const commands: EncodedCommand[] = [];
  for (const match of text.matchAll(ENCODED_SWITCH)) {
    const flag = match[1]!;
    const argument = match[3]!;
    commands.push({ flag, argument, decoded: decodeUtf16Base64(argument) });
  }
  return commands;
}

/** Decodes base64 of UTF-16LE text (what -EncodedCommand takes); null when it is not that. */
export function decodeUtf16Base64(argument: string): string | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(argument) || argument.length < 4) return null;
  const bytes = Buffer.from(argument, 'base64');
  if (bytes.length < 2) return null;
  const text = bytes.subarray(0, bytes.length - (bytes.length % 2)).toString('utf16le');
  // Scripts are mostly ASCII; binary read as UTF-16 is mostly not.
  let ascii = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if ((code >= 0x20 && code <= 0x7e) || code === 0x09 || code === 0x0a || code === 0x0d) ascii += 1;
  }
  return ascii / Math.max(text.length, 1) >= 0.8 ? text : null;
}

/** A one-line excerpt safe to put in a reason: control characters shown as spaces. */
export function excerpt(text: string, length = EXCERPT_LENGTH): string {
  return shorten(text.replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/\s{2,}/g, ' ').trim(), length);
}

function shorten(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
