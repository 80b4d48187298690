/**
 * A worker process for the hunt kill test: the real service in its worker role (queues, workers,
 * store, evidence, analysis) against a simulated fleet (test/app/fake-host.ts) of FLEET_SIZE hosts
 * named fleet-NNNN, each answering after FLEET_DELAY_MS, so the test can SIGKILL it mid-hunt.
 *
 *   node --import tsx test/reliability/support/fleet-worker.ts   (configuration from the environment)
 */
import { pino } from 'pino';
import { startService } from '../../../src/app/service.js';
import { loadConfig } from '../../../src/config/config.js';
import { FakeFleet } from '../../app/fake-host.js';
import { fleetHosts } from './fleet.js';

const fleet = new FakeFleet();
for (const host of fleetHosts(Number(process.env.FLEET_SIZE ?? 0))) fleet.addHost(host).script(host, { delayMs: Number(process.env.FLEET_DELAY_MS ?? 0) });
const config = loadConfig(process.env);
await startService(config, { serve: false, worker: true }, { executor: fleet, logger: pino({ level: 'info' }) });
