/**
 * Equal strings held once. A fleet's findings repeat the same texts host after host (a consumer's
 * command, its query, the script that made it, the reasons worded from them), each read from its
 * own host's events; over a large input the copies, not the findings, are most of what is held.
 * The pool is bounded so hostile input with endless distinct texts cannot grow it.
 */
const MAX_POOLED = 100_000;
/** Shorter strings save little when shared, and the unique ones (times, ids, positions) would fill the pool. */
const MIN_POOLED_LENGTH = 32;

export type StringPool = Map<string, string>;

/** Replaces, in place, every string in a tree of plain objects and arrays by the pooled equal one. */
export function shareStrings<T>(value: T, pool: StringPool): T {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) value[i] = pooled(value[i], pool);
  } else if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = pooled(record[key], pool);
  }
  return value;
}

function pooled(value: unknown, pool: StringPool): unknown {
  if (typeof value !== 'string') return shareStrings(value, pool);
  if (value.length < MIN_POOLED_LENGTH) return value;
  const known = pool.get(value);
  if (known !== undefined) return known;
  if (pool.size < MAX_POOLED) pool.set(value, value);
  return value;
}
