import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSlackClient } from '../../src/slack/slack-app.js';
import { UsergroupDirectory } from '../../src/slack/usergroup-directory.js';
import { FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { FAKE_BOT_TOKEN } from './harness.js';

describe('approver group membership', () => {
  let fake: FakeSlack;

  beforeAll(async () => {
    fake = await startFakeSlack();
  });
  afterAll(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    fake.reset();
    fake.usergroupMembers.clear();
    fake.usergroupHandles.clear();
    fake.usergroupMembers.set('SAPPROVERS', ['UALICE', 'UBOB']);
    fake.usergroupMembers.set('SOTHER', ['UCAROL']);
    fake.usergroupHandles.set('wmi-approvers', 'SAPPROVERS');
  });

  function directory(ttlMs = 60_000, errors: string[] = []): UsergroupDirectory {
    const client = createSlackClient({ botToken: FAKE_BOT_TOKEN, apiUrl: fake.apiUrl }, { retryConfig: { retries: 0 } });
    return new UsergroupDirectory(client, ttlMs, (group) => errors.push(group));
  }

  it('returns the configured names of the groups the user is in, by id or by handle', async () => {
    const groups = directory();
    expect(await groups.groupsOf('UALICE', ['wmi-approvers', 'SOTHER'])).toEqual(['wmi-approvers']);
    expect(await groups.groupsOf('UCAROL', ['@WMI-Approvers', 'SOTHER'])).toEqual(['SOTHER']);
    expect(await groups.groupsOf('UMALLORY', ['wmi-approvers', 'SOTHER'])).toEqual([]);
  });

  it('caches membership briefly: one lookup per group within the TTL', async () => {
    const groups = directory();
    await groups.groupsOf('UALICE', ['SAPPROVERS']);
    await groups.groupsOf('UBOB', ['SAPPROVERS']);
    expect(fake.callsOf('usergroups.users.list')).toHaveLength(1);
  });

  it('reads membership again after the TTL, so removed members lose approval rights', async () => {
    const groups = directory(1);
    expect(await groups.groupsOf('UBOB', ['SAPPROVERS'])).toEqual(['SAPPROVERS']);
    fake.usergroupMembers.set('SAPPROVERS', ['UALICE']);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await groups.groupsOf('UBOB', ['SAPPROVERS'])).toEqual([]);
  });

  it('counts a group it cannot read, or an unknown handle, as not a member', async () => {
    const errors: string[] = [];
    const groups = directory(60_000, errors);
    expect(await groups.groupsOf('UALICE', ['SMISSING', 'no-such-handle'])).toEqual([]);
    expect(errors).toEqual(['SMISSING']);
  });
});
