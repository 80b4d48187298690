import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { CodedError, ErrorCode } from '../../src/errors.js';

const minimal = { REDIS_URL: 'redis://127.0.0.1:6379/0', EXECUTOR_TRANSPORT: 'local' };
const slack = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 's'.repeat(32) };

function configError(env: Record<string, string>): CodedError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof CodedError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw');
}

async function groupsFile(text: string, name = 'groups.yaml'): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'wmi-groups-')), name);
  await writeFile(file, text);
  return file;
}

describe('SLACK_API_URL', () => {
  it('points the Slack client at another Web API base, always ending in a slash', () => {
    expect(loadConfig({ ...minimal, ...slack, SLACK_API_URL: 'http://127.0.0.1:3999/api' }).slack?.apiUrl).toBe('http://127.0.0.1:3999/api/');
    expect(loadConfig({ ...minimal, ...slack }).slack).not.toHaveProperty('apiUrl');
  });

  it('refuses a value that is not an http(s) URL', () => {
    expect(configError({ ...minimal, ...slack, SLACK_API_URL: 'ftp://example.invalid/api/' }).message).toMatch(/SLACK_API_URL: must be an http\(s\) URL/);
  });
});

describe('HOST_GROUPS_FILE', () => {
  it('reads a YAML map of group to hosts', async () => {
    const file = await groupsFile('finance:\n  - fin-ws01\n  - fin-ws02.corp.example\nlab: [127.0.0.1]\n');
    expect(loadConfig({ ...minimal, HOST_GROUPS_FILE: file }).hostGroups).toEqual({ finance: ['fin-ws01', 'fin-ws02.corp.example'], lab: ['127.0.0.1'] });
  });

  it('reads the same map written as JSON', async () => {
    const file = await groupsFile('{"dc": ["dc01", "dc02"]}', 'groups.json');
    expect(loadConfig({ ...minimal, HOST_GROUPS_FILE: file }).hostGroups).toEqual({ dc: ['dc01', 'dc02'] });
  });

  it('has no groups when the variable is not set', () => {
    expect(loadConfig(minimal).hostGroups).toEqual({});
  });

  it('names the group and entry of an invalid host, and an empty group', async () => {
    const file = await groupsFile('finance: ["fin-ws01", "bad host; rm -rf /"]\nempty: []\n');
    const error = configError({ ...minimal, HOST_GROUPS_FILE: file });
    expect(error.code).toBe(ErrorCode.Config);
    expect(error.message).toMatch(/HOST_GROUPS_FILE \(finance\.1\): not a valid host name/);
    expect(error.message).toMatch(/HOST_GROUPS_FILE \(empty\): a group needs at least one host/);
  });

  it('refuses a bad group name, a document that is not a map, unparsable text and a missing file', async () => {
    expect(configError({ ...minimal, HOST_GROUPS_FILE: await groupsFile('"bad group": [host01]\n') }).message).toMatch(/HOST_GROUPS_FILE \(bad group\): group names/);
    expect(configError({ ...minimal, HOST_GROUPS_FILE: await groupsFile('- host01\n- host02\n') }).message).toMatch(/HOST_GROUPS_FILE: must be a map of group name to a list of host names/);
    expect(configError({ ...minimal, HOST_GROUPS_FILE: await groupsFile('finance: [fin-ws01\n') }).message).toMatch(/HOST_GROUPS_FILE: is not valid YAML or JSON/);
    expect(configError({ ...minimal, HOST_GROUPS_FILE: '/nonexistent/groups.yaml' }).message).toMatch(/HOST_GROUPS_FILE: cannot read the file \(ENOENT\)/);
  });
});
