/**
 * Event logs name a host by its FQDN (HR001.shire.com) and collections often by its short name
 * (HR001); both describe the same machine. Hosts are matched on the first DNS label, case-folded;
 * IPv4 addresses are kept whole.
 */
export function hostMatchKey(host: string): string {
  const value = host.trim().toLowerCase();
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(value)) return value;
  const dot = value.indexOf('.');
  return dot < 0 ? value : value.slice(0, dot);
}
