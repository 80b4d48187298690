import type { EventRecord } from '../event-record.js';
import { accountName, MACHINE_ACCOUNT_LOGON, nonEmpty } from './event-fields.js';
import { isFamilyEvent } from './relevant-events.js';

/**
 * The account name Security 4688 logged next to each subject SID, so a finding whose user is a raw
 * SID can name the account. A SID names the same account on every host of a domain, so one book
 * serves a whole input even when its hosts are traced in parts; the last event read wins.
 */
export class SidAccounts {
  private readonly names = new Map<string, string>();

  learn(event: EventRecord): void {
    if (!isFamilyEvent(event, 'security', 4688) || this.names.size >= 100_000) return;
    const data = event.data;
    const subject = accountName(data.SubjectDomainName, data.SubjectUserName);
    const subjectIsMachine = (data.SubjectLogonId ?? '').toLowerCase() === MACHINE_ACCOUNT_LOGON;
    const subjectSid = nonEmpty(data.SubjectUserSid);
    if (subjectSid && subject && !subjectIsMachine) this.names.set(subjectSid.toUpperCase(), subject);
  }

  nameOf(sid: string): string | null {
    return this.names.get(sid.toUpperCase()) ?? null;
  }
}
