import { canonicalJson, type CanonicalValue } from '../canonical-json.js';
import { stringProperty, type WmiObject } from '../wmi-object.js';

/**
 * The human-readable fields of a finding (Consumer Type, Consumer Action, Binding, User Context),
 * and the text the payload rules read.
 */
export const STANDARD_CONSUMER_CLASSES: ReadonlySet<string> = new Set([
  'activescripteventconsumer',
  'commandlineeventconsumer',
  'logfileeventconsumer',
  'nteventlogeventconsumer',
  'smtpeventconsumer',
]);

/** ActiveScript, CommandLine, NTEventLog, LogFile, SMTP; any other class by its full name. */
export function consumerType(consumer: WmiObject): string {
  const lower = consumer.className.toLowerCase();
  return STANDARD_CONSUMER_CLASSES.has(lower) ? consumer.className.replace(/EventConsumer$/i, '') : consumer.className;
}

/** The text a consumer runs or writes: what the payload rules inspect. */
export function payloadText(consumer: WmiObject): string {
  const parts: string[] = [];
  const push = (name: string) => {
    const value = stringProperty(consumer, name);
    if (value) parts.push(value);
  };
  switch (consumer.className.toLowerCase()) {
    case 'commandlineeventconsumer':
      push('ExecutablePath');
      push('CommandLineTemplate');
      break;
    case 'activescripteventconsumer':
      push('ScriptFileName');
      push('ScriptText');
      break;
    case 'logfileeventconsumer':
      push('FileName');
      push('Text');
      break;
    default:
      for (const [name, value] of Object.entries(consumer.properties)) {
        if (name !== 'Name' && typeof value === 'string' && value) parts.push(value);
      }
  }
  return parts.join('\n');
}

/** The Consumer Action line: the command, the script, or what the consumer writes or sends. */
export function consumerAction(consumer: WmiObject): string | null {
  const get = (name: string) => stringProperty(consumer, name);
  switch (consumer.className.toLowerCase()) {
    case 'commandlineeventconsumer': {
      const executable = get('ExecutablePath');
      const template = get('CommandLineTemplate');
      if (executable && template) return `${template} (ExecutablePath: ${executable})`;
      return template ?? executable;
    }
    case 'activescripteventconsumer': {
      const engine = get('ScriptingEngine') ?? 'script';
      const text = get('ScriptText');
      const file = get('ScriptFileName');
      if (text) return `${engine}: ${text}`;
      return file ? `${engine} file ${file}` : null;
    }
    case 'nteventlogeventconsumer':
      return `writes event ${String(consumer.properties.EventID ?? 0)} from source "${get('SourceName') ?? ''}" to the event log`;
    case 'logfileeventconsumer':
      return `appends "${get('Text') ?? ''}" to ${get('FileName') ?? '(no file)'}`;
    case 'smtpeventconsumer':
      return `mails "${get('Subject') ?? ''}" to ${get('ToLine') ?? '(nobody)'} via ${get('SMTPServer') ?? '(no server)'}`;
    default: {
      const rest: Record<string, CanonicalValue> = {};
      for (const [name, value] of Object.entries(consumer.properties)) if (name !== 'Name') rest[name] = value;
      return Object.keys(rest).length > 0 ? canonicalJson(rest) : null;
    }
  }
}

/** The Binding line: the binding's own Filter and Consumer paths, as written. */
export function bindingText(binding: WmiObject): string {
  return `${stringProperty(binding, 'Filter') ?? '(no Filter)'} -> ${stringProperty(binding, 'Consumer') ?? '(no Consumer)'}`;
}

const WELL_KNOWN_SIDS: Readonly<Record<string, string>> = {
  'S-1-5-18': 'NT AUTHORITY\\SYSTEM',
  'S-1-5-19': 'NT AUTHORITY\\LOCAL SERVICE',
  'S-1-5-20': 'NT AUTHORITY\\NETWORK SERVICE',
  'S-1-5-32-544': 'BUILTIN\\Administrators',
};

/**
 * Who created the objects (permanent consumers always run as SYSTEM; the creator is the context that
 * matters): the resolved account, a well-known SID by name, the raw SID, or the user events logged.
 */
export function userContextOf(objects: WmiObject[]): string | null {
  for (const object of objects) if (object.creatorAccount) return object.creatorAccount;
  for (const object of objects) {
    if (object.creatorSid) return WELL_KNOWN_SIDS[object.creatorSid.toUpperCase()] ?? object.creatorSid;
  }
  for (const object of objects) if (object.loggedUser) return object.loggedUser;
  return null;
}
