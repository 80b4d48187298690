import { CodedError, ErrorCode } from '../errors.js';

/**
 * Host names are checked before anything is queued or run: a DNS name (labels of letters, digits and
 * hyphens), a NetBIOS-style name, or an IPv4 address. Nothing else (no spaces, quotes, `$`, `;`, `\`,
 * backticks, unicode look-alikes) can reach a transport.
 */
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export const MAX_HOST_NAME_LENGTH = 253;

export function isValidHostName(value: string): boolean {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_HOST_NAME_LENGTH) return false;
  return IPV4.test(value) || HOST_NAME.test(value);
}

export function assertValidHostName(value: unknown): string {
  if (typeof value !== 'string' || !isValidHostName(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
    throw new CodedError(
      ErrorCode.InvalidHostName,
      `invalid host name ${shown}: use a DNS name (letters, digits, hyphens, dots) or an IPv4 address`,
      { field: 'host' },
    );
  }
  return value;
}

/** The form used to compare hosts across sources: lower case, short name and FQDN kept apart by callers. */
export function hostKey(value: string): string {
  return value.trim().toLowerCase();
}
