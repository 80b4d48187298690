import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { parseTransportConfig, remoteInvocationFor } from '../../src/transport/transport-config.js';

describe('transport configs', () => {
  it('builds an ssh invocation for a validated host name', () => {
    const config = parseTransportConfig({ kind: 'ssh', userName: 'svc', keyFile: '/keys/id', port: 2222 });
    expect(remoteInvocationFor(config, 'host01.corp')).toEqual({ kind: 'ssh', hostName: 'host01.corp', userName: 'svc', keyFilePath: '/keys/id', port: 2222, connectTimeoutSeconds: 15 });
  });

  it('refuses a host name that could carry code, before anything runs', () => {
    const config = parseTransportConfig({ kind: 'local' });
    expect(() => remoteInvocationFor(config, "h; $(calc)")).toThrow(expect.objectContaining({ code: ErrorCode.InvalidHostName }));
  });

  it('requires a password reference for a WinRM user and never takes the password itself', () => {
    expect(() => parseTransportConfig({ kind: 'winrm', userName: 'CORP\\svc' })).toThrow(expect.objectContaining({ code: ErrorCode.Config }));
    expect(() => parseTransportConfig({ kind: 'winrm', userName: 'CORP\\svc', password: 'x' })).toThrow(expect.objectContaining({ code: ErrorCode.Config }));
    const config = parseTransportConfig({ kind: 'winrm', userName: 'CORP\\svc', passwordEnv: 'WMI_PW', configurationName: 'WmiHunter', authentication: 'Kerberos' });
    expect(remoteInvocationFor(config, 'host01')).toEqual({ kind: 'winrm', computerName: 'host01', useSsl: true, authentication: 'Kerberos', configurationName: 'WmiHunter', userName: 'CORP\\svc', passwordEnv: 'WMI_PW' });
  });

  it('rejects a user name or configuration name with shell or PowerShell syntax', () => {
    expect(() => parseTransportConfig({ kind: 'ssh', userName: "a'b", keyFile: '/k' })).toThrow(expect.objectContaining({ code: ErrorCode.Config }));
    expect(() => parseTransportConfig({ kind: 'winrm', configurationName: 'x;y' })).toThrow(expect.objectContaining({ code: ErrorCode.Config }));
  });
});
