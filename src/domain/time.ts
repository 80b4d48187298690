/**
 * Times in reports and event records are ISO 8601 UTC with milliseconds: 2019-05-11T17:08:36.123Z.
 * Windows writes 100-ns precision (7 fractional digits) and exports vary; this keeps milliseconds.
 */
const ISO_LIKE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses an ISO-like timestamp. A value without a zone is taken as UTC only when `assumeUtc` is
 * true (System/TimeCreated/@SystemTime, Sysmon UtcTime); otherwise it returns null rather than guess.
 */
export function toUtcIso(text: string | null | undefined, assumeUtc = true): string | null {
  if (!text) return null;
  const match = ISO_LIKE.exec(text.trim());
  if (!match) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = match;
  if (!zone && !assumeUtc) return null;
  const ms = Number(((frac ?? '') + '000').slice(0, 3));
  let epoch = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.replace(/[+-:]/g, '');
    epoch -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  if (Number.isNaN(epoch)) return null;
  return new Date(epoch).toISOString();
}

export function epochMs(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const value = Date.parse(iso);
  return Number.isNaN(value) ? null : value;
}
