import { CodedError, ErrorCode } from '../../errors.js';

/**
 * Hunt IDs as the hunting playbook writes them: TH-WMI-YYYYMMDD-NNN, a per-day (UTC) sequence of at
 * least three digits. Allocating the sequence atomically is the caller's job (a file in the CLI, Redis
 * in the service); these only format and parse.
 */
const HUNT_ID = /^TH-WMI-(\d{4})(\d{2})(\d{2})-(\d{3,})$/;

export interface HuntIdParts {
  /** YYYYMMDD, UTC */
  day: string;
  sequence: number;
}

/** The UTC day of a time as YYYYMMDD. */
export function huntDay(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new CodedError(ErrorCode.BadInput, 'hunt day of an invalid date');
  return at.toISOString().slice(0, 10).replace(/-/g, '');
}

export function formatHuntId(day: string, sequence: number): string {
  if (!/^\d{8}$/.test(day) || !isRealDay(day)) throw new CodedError(ErrorCode.BadInput, `hunt id day must be a real YYYYMMDD date, got "${day}"`);
  if (!Number.isSafeInteger(sequence) || sequence < 1) {
    throw new CodedError(ErrorCode.BadInput, `hunt id sequence must be a positive integer, got ${sequence}`);
  }
  return `TH-WMI-${day}-${String(sequence).padStart(3, '0')}`;
}

export function parseHuntId(text: string): HuntIdParts {
  const match = HUNT_ID.exec(text);
  if (!match || !isRealDay(`${match[1]}${match[2]}${match[3]}`) || Number(match[4]) < 1) {
    throw new CodedError(ErrorCode.BadInput, `not a hunt id: ${JSON.stringify(text.slice(0, 40))} (expected TH-WMI-YYYYMMDD-NNN)`, { field: 'huntId' });
  }
  return { day: `${match[1]}${match[2]}${match[3]}`, sequence: Number(match[4]) };
}

export function isHuntId(text: string): boolean {
  try {
    parseHuntId(text);
    return true;
  } catch {
    return false;
  }
}

function isRealDay(day: string): boolean {
  const year = Number(day.slice(0, 4));
  const month = Number(day.slice(4, 6));
  const date = Number(day.slice(6, 8));
  const at = new Date(Date.UTC(year, month - 1, date));
  return at.getUTCFullYear() === year && at.getUTCMonth() === month - 1 && at.getUTCDate() === date;
}
