import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { createPowerShellHostExecutor } from '../../src/powershell/powershell-host-executor.js';
import type { TransportConfig } from '../../src/transport/transport-config.js';
import { pwshPath, requireService } from '../support/services.js';

const env = process.env;
const labReady = Boolean(env.WMI_LAB_SSH_HOST && env.WMI_LAB_SSH_PORT && env.WMI_LAB_SSH_USER && env.WMI_LAB_SSH_KEY && env.WMI_LAB_REPO);
const available =
  requireService('pwsh', pwshPath() !== null, 'put pwsh on PATH') &&
  requireService('SSH lab host', labReady, 'run `bash test/lab/setup.sh <dir>` as root and export its output');

interface LabInstance {
  namespace: string;
  className: string;
  properties: Record<string, unknown>;
}
const labInstances = (): LabInstance[] => JSON.parse(readFileSync(env.WMI_LAB_REPO!, 'utf8')).instances;

describe.skipIf(!available)('collect, remove and restore over real SSH remoting against the lab host', () => {
  const ssh = (overrides: Partial<Extract<TransportConfig, { kind: 'ssh' }>> = {}): TransportConfig => ({
    kind: 'ssh',
    userName: env.WMI_LAB_SSH_USER!,
    keyFile: env.WMI_LAB_SSH_KEY!,
    port: Number(env.WMI_LAB_SSH_PORT),
    connectTimeoutSeconds: 10,
    ...(env.WMI_LAB_SSH_KNOWN_HOSTS ? { knownHostsFile: env.WMI_LAB_SSH_KNOWN_HOSTS } : {}),
    ...overrides,
  });
  const { executor, close } = createPowerShellHostExecutor({ transportFor: () => ssh(), poolSize: 1 });
  const signal = new AbortController().signal;
  afterAll(() => close());

  it('collects every namespace, records the denied one, and a removal then a restore show in the lab repository', async () => {
    const collection = await executor.collect({ host: env.WMI_LAB_SSH_HOST!, lookbackHours: 1, maxEvents: 10 }, signal);
    expect(collection.namespaces.map((ns) => ns.toLowerCase())).toEqual(expect.arrayContaining(['root', 'root\\subscription', 'root\\cimv2\\labnested']));
    expect(collection.errors).toContainEqual(expect.objectContaining({ namespace: 'root\\LabLocked', code: 'access-denied' }));
    expect(collection.filters.some((filter) => filter.namespace === 'root\\cimv2\\LabNested')).toBe(true);

    const hostile = collection.consumers.find((consumer) => String(consumer.properties.Name).startsWith("Lab'"));
    expect(hostile).toBeDefined();
    const target = { kind: 'consumer' as const, namespace: hostile!.namespace, className: hostile!.className, key: String(hostile!.properties.Name), contentHash: hostile!.contentHash };
    const request = { host: env.WMI_LAB_SSH_HOST!, approvalId: 'APR-lab-1', targets: [target] };
    const { backup } = await executor.backup(request, signal);
    expect(labInstances().some((instance) => instance.properties.Name === target.key)).toBe(true);
    const removal = await executor.remove({ ...request, backup }, signal);
    expect(removal.results[0]).toMatchObject({ status: 'removed' });
    expect(removal.verified).toBe(true);
    expect(labInstances().some((instance) => instance.properties.Name === target.key)).toBe(false);

    const again = await executor.remove({ ...request, backup }, signal);
    expect(again.results[0]).toMatchObject({ status: 'removed-earlier' });

    const restore = await executor.restore({ host: env.WMI_LAB_SSH_HOST!, backup: removal.backup }, signal);
    expect(restore.results[0]).toMatchObject({ status: 'restored' });
    expect(restore.verified).toBe(true);
    expect(labInstances().some((instance) => instance.properties.Name === target.key)).toBe(true);
  }, 180_000);

  it('removes nothing when the approved hash no longer matches', async () => {
    const before = labInstances().length;
    const result = await executor.backup(
      { host: env.WMI_LAB_SSH_HOST!, approvalId: 'APR-lab-2', targets: [{ kind: 'filter', namespace: 'root\\subscription', className: '__EventFilter', key: 'LabFilter', contentHash: '0'.repeat(64) }] },
      signal,
    );
    expect(result.backup.objects).toEqual([]);
    expect(result.results[0]).toMatchObject({ status: 'skipped-changed' });
    expect(labInstances().length).toBe(before);
  }, 120_000);

  it('maps a refused key to authentication failed and a closed port to host unreachable', async () => {
    const wrongUser = createPowerShellHostExecutor({ transportFor: () => ssh({ userName: 'nobody' }), poolSize: 1 });
    const closedPort = createPowerShellHostExecutor({ transportFor: () => ssh({ port: 1 }), poolSize: 1 });
    try {
      await expect(wrongUser.executor.collect({ host: env.WMI_LAB_SSH_HOST!, lookbackHours: 0, maxEvents: 0 }, signal)).rejects.toMatchObject({ code: ErrorCode.AuthenticationFailed });
      await expect(closedPort.executor.collect({ host: env.WMI_LAB_SSH_HOST!, lookbackHours: 0, maxEvents: 0 }, signal)).rejects.toMatchObject({ code: ErrorCode.HostUnreachable });
    } finally {
      await wrongUser.close();
      await closedPort.close();
    }
  }, 120_000);
});
