import type { webApi } from '@slack/bolt';

/**
 * Which of the approver user groups a Slack user belongs to. Playbooks name a group by its Slack id
 * (S0123ABC) or by its handle (wmi-approvers, with or without @); handles are resolved with
 * usergroups.list, members read with usergroups.users.list. Both are cached briefly: membership
 * changes take effect within a minute, and one card's clicks do not cost one API call each. A
 * group that cannot be read counts as "not a member", never as "everyone".
 */
export const USERGROUP_CACHE_MS = 60_000;

const GROUP_ID = /^S[A-Z0-9]{2,20}$/;

export class UsergroupDirectory {
  private readonly members = new Map<string, { users: ReadonlySet<string>; until: number }>();
  private handles: { byHandle: ReadonlyMap<string, string>; until: number } | null = null;

  constructor(
    private readonly client: webApi.WebClient,
    private readonly ttlMs = USERGROUP_CACHE_MS,
    private readonly onLookupError: (group: string, error: unknown) => void = () => undefined,
  ) {}

  /** The configured group names (as given) that have `userId` as a member. */
  async groupsOf(userId: string, groups: readonly string[]): Promise<string[]> {
    const memberships = await Promise.all(
      groups.map(async (group) => {
        const id = await this.groupId(group);
        return id !== null && (await this.membersOf(id)).has(userId) ? group : null;
      }),
    );
    return memberships.filter((group): group is string => group !== null);
  }

  private async groupId(group: string): Promise<string | null> {
    if (GROUP_ID.test(group)) return group;
    const handle = group.replace(/^@/, '').toLowerCase();
    if (!this.handles || this.handles.until <= Date.now()) {
      try {
        const response = await this.client.usergroups.list({ include_disabled: false });
        const byHandle = new Map<string, string>();
        for (const entry of response.usergroups ?? []) {
          if (entry.id && entry.handle) byHandle.set(entry.handle.toLowerCase(), entry.id);
        }
        this.handles = { byHandle, until: Date.now() + this.ttlMs };
      } catch (error) {
        this.onLookupError(group, error);
        return null;
      }
    }
    return this.handles.byHandle.get(handle) ?? null;
  }

  private async membersOf(groupId: string): Promise<ReadonlySet<string>> {
    const cached = this.members.get(groupId);
    if (cached && cached.until > Date.now()) return cached.users;
    try {
      const response = await this.client.usergroups.users.list({ usergroup: groupId });
      const users = new Set(response.users ?? []);
      this.members.set(groupId, { users, until: Date.now() + this.ttlMs });
      return users;
    } catch (error) {
      this.onLookupError(groupId, error);
      return new Set();
    }
  }
}
