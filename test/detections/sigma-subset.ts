/**
 * A small evaluator for the subset of Sigma the project's rules use, so the tests can run the rules'
 * detection logic against recorded events. It supports field matchers (equals, `contains`,
 * `startswith`, `endswith`, `all`), value lists, `*`/`?` wildcards with Sigma's backslash escaping,
 * selections as maps (AND) or lists of maps (OR), and conditions with `and`, `or`, `not`,
 * parentheses, `1 of x*`, `all of x*` and `them`. Anything else throws, so a rule that grows past
 * this subset fails its test instead of silently matching nothing.
 */
export type SigmaEvent = Readonly<Record<string, string | number | undefined>>;
type Matcher = (event: SigmaEvent) => boolean;

const SUPPORTED_MODIFIERS = new Set(['contains', 'startswith', 'endswith', 'all']);

export function compileDetection(detection: Record<string, unknown>): Matcher {
  const { condition, ...selections } = detection;
  if (typeof condition !== 'string') throw new Error('detection.condition must be one string');
  const compiled = new Map<string, Matcher>();
  for (const [name, definition] of Object.entries(selections)) compiled.set(name, compileSelection(name, definition));
  return compileCondition(condition, compiled);
}

function compileSelection(name: string, definition: unknown): Matcher {
  if (Array.isArray(definition)) {
    const alternatives = definition.map((item, index) => compileFieldMap(`${name}[${index}]`, item));
    return (event) => alternatives.some((matches) => matches(event));
  }
  return compileFieldMap(name, definition);
}

function compileFieldMap(name: string, definition: unknown): Matcher {
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) {
    throw new Error(`selection ${name} must be a map of field matchers (keyword lists are not in the supported subset)`);
  }
  const fields = Object.entries(definition as Record<string, unknown>).map(([key, value]) => compileField(name, key, value));
  return (event) => fields.every((matches) => matches(event));
}

function compileField(selection: string, key: string, value: unknown): Matcher {
  const [field, ...modifiers] = key.split('|');
  if (!field) throw new Error(`selection ${selection} has an empty field name`);
  for (const modifier of modifiers) {
    if (!SUPPORTED_MODIFIERS.has(modifier)) throw new Error(`selection ${selection}: modifier "${modifier}" is not in the supported subset`);
  }
  const position = modifiers.find((modifier) => modifier !== 'all') ?? 'equals';
  const values = (Array.isArray(value) ? value : [value]).map((item) => {
    if (typeof item !== 'string' && typeof item !== 'number') throw new Error(`selection ${selection}: ${key} values must be strings or numbers`);
    return valuePattern(String(item), position);
  });
  const requireAll = modifiers.includes('all');
  return (event) => {
    const actual = event[field];
    if (actual === undefined) return false;
    const text = String(actual);
    return requireAll ? values.every((pattern) => pattern.test(text)) : values.some((pattern) => pattern.test(text));
  };
}

/** Sigma strings: case-insensitive; `*` and `?` are wildcards; `\` escapes only `*`, `?` and `\`. */
function valuePattern(value: string, position: string): RegExp {
  let body = '';
  for (let index = 0; index < value.length; index += 1) {
    const char = value[index] as string;
    const next = value[index + 1];
    if (char === '\\' && (next === '*' || next === '?' || next === '\\')) {
      body += escapeRegExp(next);
      index += 1;
    } else if (char === '*') body += '.*';
    else if (char === '?') body += '.';
    else body += escapeRegExp(char);
  }
  const prefix = position === 'contains' || position === 'endswith' ? '' : '^';
  const suffix = position === 'contains' || position === 'startswith' ? '' : '$';
  return new RegExp(`${prefix}${body}${suffix}`, 'is');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function compileCondition(condition: string, selections: ReadonlyMap<string, Matcher>): Matcher {
  const tokens = condition.match(/\(|\)|[^\s()]+/g) ?? [];
  let position = 0;
  const peek = () => tokens[position]?.toLowerCase();
  const take = () => {
    const token = tokens[position];
    if (token === undefined) throw new Error(`condition "${condition}" ends too early`);
    position += 1;
    return token;
  };

  const group = (quantifier: string, pattern: string): Matcher => {
    const names = [...selections.keys()].filter((name) =>
      pattern === 'them' ? true : new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`).test(name),
    );
    if (names.length === 0) throw new Error(`condition "${condition}": "${pattern}" names no selection`);
    const members = names.map((name) => selections.get(name) as Matcher);
    if (quantifier === 'all') return (event) => members.every((matches) => matches(event));
    if (quantifier === '1') return (event) => members.some((matches) => matches(event));
    throw new Error(`condition "${condition}": "${quantifier} of" is not in the supported subset`);
  };

  const primary = (): Matcher => {
    const token = take();
    if (token === '(') {
      const inner = disjunction();
      if (take() !== ')') throw new Error(`condition "${condition}": missing )`);
      return inner;
    }
    if (peek() === 'of') {
      take();
      return group(token.toLowerCase(), take());
    }
    const selection = selections.get(token);
    if (!selection) throw new Error(`condition "${condition}" names unknown selection "${token}"`);
    return selection;
  };
  const negation = (): Matcher => {
    if (peek() === 'not') {
      take();
      const inner = negation();
      return (event) => !inner(event);
    }
    return primary();
  };
  const conjunction = (): Matcher => {
    let left = negation();
    while (peek() === 'and') {
      take();
      const a = left;
      const b = negation();
      left = (event) => a(event) && b(event);
    }
    return left;
  };
  const disjunction = (): Matcher => {
    let left = conjunction();
    while (peek() === 'or') {
      take();
      const a = left;
      const b = conjunction();
      left = (event) => a(event) || b(event);
    }
    return left;
  };

  const matcher = disjunction();
  if (position !== tokens.length) throw new Error(`condition "${condition}": unexpected "${tokens[position]}"`);
  return matcher;
}

/** Which recorded events a rule's logsource applies to (the Sysmon and WMI-Activity mappings only). */
export function logsourceApplies(logsource: Record<string, unknown>, event: SigmaEvent): boolean {
  const channel = String(event.Channel ?? '').toLowerCase();
  const eventId = Number(event.EventID);
  if (logsource.product !== 'windows') return false;
  if (logsource.category === 'wmi_event') return channel === 'microsoft-windows-sysmon/operational' && [19, 20, 21].includes(eventId);
  if (logsource.category === 'process_creation') return channel === 'microsoft-windows-sysmon/operational' && eventId === 1;
  if (logsource.service === 'wmi') return channel === 'microsoft-windows-wmi-activity/operational';
  throw new Error(`logsource ${JSON.stringify(logsource)} is not in the supported subset`);
}
