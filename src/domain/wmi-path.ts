/**
 * WMI namespaces and object paths as they appear in collections and event logs:
 *   root\subscription, ROOT\Subscription, root/cimv2, //./root/subscription, \\HOST\root\cimv2
 *   __EventFilter.Name="BotFilter82"
 *   \\.\root\subscription:CommandLineEventConsumer.Name="Evil \"quoted\" name"
 */

/** A namespace already in normal form (plain lower-case segments): every step below leaves it as it is. */
const NORMAL_NAMESPACE = /^[a-z0-9_]+(?:\\[a-z0-9_]+)*$/;

/** `root/CimV2`, `\\.\ROOT\cimv2` and `//./root/cimv2` all become `root\cimv2`. */
export function normalizeNamespace(value: string): string {
  // The analyzer and the allowlist ask again for namespaces they normalized already, host after host.
  if (NORMAL_NAMESPACE.test(value)) return value;
  let ns = value.trim().replace(/\//g, '\\');
  ns = ns.replace(/^\\\\[^\\]+\\/, '');
  ns = ns.replace(/^\\+/, '').replace(/\\+$/, '').replace(/\\{2,}/g, '\\');
  return ns.toLowerCase();
}

export interface ObjectPath {
  /** Normalized namespace, or null when the path is relative (same namespace as the referencing object). */
  namespace: string | null;
  className: string;
  /** Key property values, e.g. { Name: 'BotFilter82' }. */
  keys: Record<string, string>;
}

/**
 * Parses a WMI object path. Returns null when the text is not a path (callers report that as a
 * dangling reference rather than guessing).
 */
export function parseObjectPath(text: string): ObjectPath | null {
  const value = text.trim();
  let rest = value;
  let namespace: string | null = null;
  const colon = findNamespaceSeparator(value);
  if (colon >= 0) {
    namespace = normalizeNamespace(value.slice(0, colon));
    rest = value.slice(colon + 1);
  }
  const dot = rest.indexOf('.');
  const className = (dot >= 0 ? rest.slice(0, dot) : rest).trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(className)) return null;
  const keys: Record<string, string> = {};
  if (dot < 0) return { namespace, className, keys };
  const keyText = rest.slice(dot + 1);
  let i = 0;
  while (i < keyText.length) {
    const eq = keyText.indexOf('=', i);
    if (eq < 0) return null;
    const name = keyText.slice(i, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return null;
    i = eq + 1;
    const quote = keyText[i];
    let raw = '';
    if (quote === '"' || quote === "'") {
      i += 1;
      let closed = false;
      while (i < keyText.length) {
        const ch = keyText[i]!;
        if (ch === '\\' && i + 1 < keyText.length) {
          raw += keyText[i + 1];
          i += 2;
          continue;
        }
        if (ch === quote) {
          closed = true;
          i += 1;
          break;
        }
        raw += ch;
        i += 1;
      }
      if (!closed) return null;
    } else {
      const comma = keyText.indexOf(',', i);
      raw = (comma < 0 ? keyText.slice(i) : keyText.slice(i, comma)).trim();
      i = comma < 0 ? keyText.length : comma;
    }
    keys[name] = raw;
    while (i < keyText.length && /\s/.test(keyText[i]!)) i += 1;
    if (i < keyText.length) {
      if (keyText[i] !== ',') return null;
      i += 1;
    }
  }
  return { namespace, className, keys };
}

/** The `:` that ends a namespace prefix, ignoring any inside quoted key values. */
function findNamespaceSeparator(value: string): number {
  const firstQuote = value.search(/["']/);
  const head = firstQuote < 0 ? value : value.slice(0, firstQuote);
  return head.indexOf(':');
}

/** Renders a relative path the way WMI does: Class.Name="value" with `\` and `"` escaped. */
export function formatObjectPath(className: string, name: string, namespace?: string): string {
  const escaped = name.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const relative = `${className}.Name="${escaped}"`;
  return namespace ? `\\\\.\\${namespace}:${relative}` : relative;
}
