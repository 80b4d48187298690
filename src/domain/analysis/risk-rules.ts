import type { Reason, RiskLevel } from '../finding.js';
import { stringProperty, type WmiObject } from '../wmi-object.js';
import { consumerType, STANDARD_CONSUMER_CLASSES } from './describe.js';
import { excerpt, type Indicator, type IndicatorId, type PayloadInspection } from './payload.js';
import type { Trigger, TriggerKind } from './triggers.js';

/**
 * The risk model as a table: each rule has a stable id, the level it raises a finding to, and a
 * function that says why it applies (or null). A finding's level is the highest of its reasons.
 * Critical is kept for combinations: code-running consumers with encoded or downloaded payloads, or
 * armed on start-up / logon / process-start with a LOLBin, script host, PowerShell or a user-writable path.
 */
export interface RuleContext {
  kind: 'subscription' | 'dangling-binding' | 'orphan-filter' | 'orphan-consumer' | 'timer';
  filter: WmiObject | null;
  consumer: WmiObject | null;
  binding: WmiObject | null;
  timers: WmiObject[];
  inspection: PayloadInspection;
  triggers: Trigger[];
  /** Missing objects of a dangling binding, described. */
  missing: string[];
}

export interface RiskRule {
  id: string;
  level: RiskLevel | ((context: RuleContext) => RiskLevel);
  /** Why the rule applies to this finding, or null when it does not. */
  explain: (context: RuleContext) => string | null;
}

const CODE_CONSUMERS = new Set(['commandlineeventconsumer', 'activescripteventconsumer']);
const OBFUSCATION_OR_DOWNLOAD: IndicatorId[] = [
  'encoded-powershell',
  'base64-decode',
  'invoke-expression',
  'download',
  'bitsadmin',
  'certutil',
  'script-download-object',
];
const AUTOSTART_TRIGGERS: TriggerKind[] = ['startup', 'logon', 'process-start'];
const LAUNCHERS: IndicatorId[] = ['lolbin', 'powershell', 'user-writable-path', 'script-exec-object'];
const SCRIPT_EXTENSIONS = /\.(?:bat|cmd|vbs|vbe|js|jse|wsf|wsh|ps1|hta|exe|dll|scr|lnk)$/i;

function consumerClass(context: RuleContext): string | null {
  return context.consumer ? context.consumer.className.toLowerCase() : null;
}

function runsCode(context: RuleContext): boolean {
  const cls = consumerClass(context);
  return cls !== null && CODE_CONSUMERS.has(cls);
}

/** A consumer bound to an existing filter runs when the filter fires; anything else only waits. */
function armed(context: RuleContext): boolean {
  return context.kind === 'subscription';
}

function armedLevel(whenArmed: RiskLevel, otherwise: RiskLevel) {
  return (context: RuleContext): RiskLevel => (armed(context) ? whenArmed : otherwise);
}

function indicator(context: RuleContext, id: IndicatorId): Indicator | undefined {
  return context.inspection.indicators.find((found) => found.id === id);
}

function where(found: Indicator): string {
  return found.decoded ? ' inside the decoded -EncodedCommand' : '';
}

function consumerLabel(context: RuleContext): string {
  const consumer = context.consumer;
  return consumer ? `${consumer.className} "${stringProperty(consumer, 'Name') ?? ''}"` : 'the consumer';
}

function indicatorRule(id: IndicatorId, level: RiskLevel, what: string): RiskRule {
  return {
    id: `payload.${id}`,
    level,
    explain: (context) => {
      const found = indicator(context, id);
      return found ? `${consumerLabel(context)} ${what}${where(found)}: "${found.evidence}"` : null;
    },
  };
}

function triggerRule(kind: TriggerKind): RiskRule {
  return {
    id: `trigger.${kind}`,
    level: 'Medium',
    explain: (context) => {
      const trigger = context.triggers.find((t) => t.kind === kind);
      return trigger && context.filter ? `filter "${stringProperty(context.filter, 'Name') ?? ''}" ${trigger.description}` : null;
    },
  };
}

function encodedCommandMessage(context: RuleContext): string | null {
  const [command] = context.inspection.encodedCommands;
  if (!command) return null;
  const runner = context.consumer ? consumerType(context.consumer) : 'the';
  const inside =
    command.decoded === null
      ? `its argument "${excerpt(command.argument, 40)}" is not base64 of UTF-16 text`
      : `decoded: "${excerpt(command.decoded)}"`;
  return `${runner} consumer runs PowerShell with ${command.flag} (hidden code); ${inside}`;
}

export const RISK_RULES: readonly RiskRule[] = [
  {
    id: 'combo.code-with-obfuscation-or-download',
    level: armedLevel('Critical', 'High'),
    explain: (context) => {
      if (!runsCode(context)) return null;
      const found = OBFUSCATION_OR_DOWNLOAD.map((id) => indicator(context, id)).filter((f): f is Indicator => f !== undefined);
      if (found.length === 0) return null;
      return `${consumerLabel(context)} runs code that is encoded, decoded at run time or downloaded (${found.map((f) => f.id).join(', ')})`;
    },
  },
  {
    id: 'combo.autostart-launcher',
    level: 'Critical',
    explain: (context) => {
      if (!runsCode(context) || !armed(context)) return null;
      const trigger = context.triggers.find((t) => AUTOSTART_TRIGGERS.includes(t.kind));
      const launcher = LAUNCHERS.map((id) => indicator(context, id)).find((f) => f !== undefined);
      if (!trigger || !launcher) return null;
      return `${consumerLabel(context)} ${trigger.description} and launches "${launcher.evidence}" (${launcher.id})`;
    },
  },
  {
    id: 'consumer.commandline',
    level: armedLevel('High', 'Medium'),
    explain: (context) => {
      if (consumerClass(context) !== 'commandlineeventconsumer' || !context.consumer) return null;
      const command = stringProperty(context.consumer, 'CommandLineTemplate') ?? stringProperty(context.consumer, 'ExecutablePath') ?? '';
      return armed(context)
        ? `CommandLineEventConsumer runs "${excerpt(command)}" as SYSTEM whenever its filter fires`
        : `CommandLineEventConsumer holds the command "${excerpt(command)}" (not armed: no working binding)`;
    },
  },
  {
    id: 'consumer.active-script',
    level: armedLevel('High', 'Medium'),
    explain: (context) => {
      if (consumerClass(context) !== 'activescripteventconsumer' || !context.consumer) return null;
      const engine = stringProperty(context.consumer, 'ScriptingEngine') ?? 'script';
      const file = stringProperty(context.consumer, 'ScriptFileName');
      const text = stringProperty(context.consumer, 'ScriptText');
      const what = text ? `${engine} code "${excerpt(text)}"` : `${engine} file ${file ?? '(none)'}`;
      return armed(context)
        ? `ActiveScriptEventConsumer runs ${what} in scrcons.exe as SYSTEM whenever its filter fires`
        : `ActiveScriptEventConsumer holds ${what} (not armed: no working binding)`;
    },
  },
  {
    id: 'consumer.non-standard-class',
    level: 'Medium',
    explain: (context) => {
      const cls = consumerClass(context);
      if (cls === null || STANDARD_CONSUMER_CLASSES.has(cls)) return null;
      return `consumer class ${context.consumer!.className} is not one of the five standard consumer classes: the provider registered for it runs whatever it implements`;
    },
  },
  {
    id: 'consumer.logfile-writes-executable',
    level: 'High',
    explain: (context) => {
      if (consumerClass(context) !== 'logfileeventconsumer' || !context.consumer) return null;
      const file = stringProperty(context.consumer, 'FileName') ?? '';
      const startup = /\\start menu\\programs\\startup\\/i.test(file);
      if (!SCRIPT_EXTENSIONS.test(file.trim()) && !startup) return null;
      return `LogFileEventConsumer writes to ${file}, a file Windows can run${startup ? ' (a Startup folder)' : ''}`;
    },
  },
  {
    id: 'payload.encoded-powershell',
    level: 'High',
    explain: encodedCommandMessage,
  },
  indicatorRule('base64-decode', 'High', 'decodes base64 at run time (FromBase64String)'),
  indicatorRule('invoke-expression', 'High', 'evaluates a string as code (IEX / Invoke-Expression)'),
  indicatorRule('download', 'High', 'fetches from the network'),
  indicatorRule('bitsadmin', 'High', 'downloads with bitsadmin'),
  indicatorRule('certutil', 'High', 'downloads or decodes with certutil'),
  indicatorRule('lolbin', 'High', 'starts a LOLBin or script host'),
  indicatorRule('user-writable-path', 'High', 'runs from or writes to a user-writable path'),
  indicatorRule('script-exec-object', 'High', 'creates a COM object that runs programs'),
  indicatorRule('script-download-object', 'High', 'creates a COM object that fetches or writes binary data'),
  indicatorRule('powershell', 'Medium', 'starts PowerShell'),
  indicatorRule('hidden-window', 'Medium', 'hides its window'),
  indicatorRule('shell', 'Medium', 'starts cmd.exe'),
  indicatorRule('script-file-object', 'Medium', 'reads or writes files (Scripting.FileSystemObject)'),
  indicatorRule('script-eval', 'Medium', 'evaluates generated code (Execute / Eval)'),
  triggerRule('startup'),
  triggerRule('logon'),
  triggerRule('process-start'),
  triggerRule('timer'),
  {
    id: 'namespace.outside-subscription',
    level: 'Medium',
    explain: (context) => {
      const outside = [context.binding, context.filter, context.consumer]
        .filter((o): o is WmiObject => o !== null)
        .map((o) => o.namespace)
        .filter((ns, index, all) => ns !== 'root\\subscription' && all.indexOf(ns) === index);
      return outside.length > 0 ? `lives in ${outside.join(', ')}, outside root\\subscription where most tools look` : null;
    },
  },
  {
    id: 'binding.cross-namespace',
    level: 'Medium',
    explain: (context) => {
      const binding = context.binding;
      if (!binding) return null;
      const elsewhere = [context.filter, context.consumer].filter((o): o is WmiObject => o !== null && o.namespace !== binding.namespace);
      if (elsewhere.length === 0) return null;
      return `binding in ${binding.namespace} points into another namespace (${elsewhere.map((o) => `${o.kind} in ${o.namespace}`).join(', ')})`;
    },
  },
  {
    id: 'orphan.filter',
    level: 'Low',
    explain: (context) => (context.kind === 'orphan-filter' ? 'filter has no binding: it triggers nothing until something binds it' : null),
  },
  {
    id: 'orphan.consumer',
    level: 'Low',
    explain: (context) => (context.kind === 'orphan-consumer' ? 'consumer has no binding: it runs only once something binds it' : null),
  },
  {
    id: 'binding.dangling',
    level: 'Medium',
    explain: (context) =>
      context.kind === 'dangling-binding' ? `binding points at a missing ${context.missing.join(' and a missing ')} (half-removed or tampered subscription)` : null,
  },
  {
    id: 'timer.unused',
    level: 'Low',
    explain: (context) => (context.kind === 'timer' ? 'timer instruction that no filter waits for' : null),
  },
];

/** Evaluates the table; the reasons come out in table order. */
export function evaluateRules(context: RuleContext, rules: readonly RiskRule[] = RISK_RULES): Reason[] {
  const reasons: Reason[] = [];
  for (const rule of rules) {
    const message = rule.explain(context);
    if (message === null) continue;
    const level = typeof rule.level === 'function' ? rule.level(context) : rule.level;
    reasons.push({ rule: rule.id, level, message });
  }
  return reasons;
}
