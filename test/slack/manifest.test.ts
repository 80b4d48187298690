import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const manifestPath = fileURLToPath(new URL('../../slack/manifest.yaml', import.meta.url));

interface Manifest {
  features: {
    slash_commands: Array<{ command: string; url: string; should_escape: boolean }>;
    bot_user: { display_name: string };
    app_home: { messages_tab_enabled: boolean; messages_tab_read_only_enabled: boolean };
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    event_subscriptions: { request_url: string; bot_events: string[] };
    interactivity: { is_enabled: boolean; request_url: string };
    socket_mode_enabled: boolean;
  };
}

describe('the Slack app manifest', () => {
  const manifest = parse(readFileSync(manifestPath, 'utf8')) as Manifest;

  it('declares the /wmi command without escaping, so host names arrive as typed', () => {
    expect(manifest.features.slash_commands.map((command) => command.command)).toEqual(['/wmi']);
    expect(manifest.features.slash_commands[0]!.should_escape).toBe(false);
  });

  it('asks for exactly the scopes the app uses', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(
      ['app_mentions:read', 'channels:history', 'chat:write', 'commands', 'files:read', 'files:write', 'im:history', 'usergroups:read'].sort(),
    );
  });

  it('subscribes to app mentions and to messages (uploads in a DM or a hunt thread), and turns on interactivity for the approval buttons', () => {
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(['app_mention', 'message.im', 'message.channels']);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
  });

  it('lets responders write to the app in a direct message, where uploads are taken', () => {
    expect(manifest.features.app_home).toMatchObject({ messages_tab_enabled: true, messages_tab_read_only_enabled: false });
  });

  it('ships in Socket Mode and points every HTTP request URL at the one Bolt endpoint', () => {
    expect(manifest.settings.socket_mode_enabled).toBe(true);
    const urls = [manifest.features.slash_commands[0]!.url, manifest.settings.event_subscriptions.request_url, manifest.settings.interactivity.request_url];
    expect(new Set(urls.map((url) => new URL(url).pathname))).toEqual(new Set(['/slack/events']));
    for (const url of urls) expect(new URL(url).hostname.endsWith('.invalid')).toBe(true);
  });
});
