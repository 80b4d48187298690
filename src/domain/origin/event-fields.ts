/** How logged event fields read: `-` and blanks are no value; an account is DOMAIN\user. */

/** The logon id of the machine account (SYSTEM) in Security events. */
export const MACHINE_ACCOUNT_LOGON = '0x3e7';

export function nonEmpty(value: string | undefined): string | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  return trimmed === '' || trimmed === '-' ? null : trimmed;
}

export function accountName(domain: string | undefined, user: string | undefined): string | null {
  const name = nonEmpty(user);
  if (name === null) return null;
  const realm = nonEmpty(domain);
  return realm ? `${realm}\\${name}` : name;
}
