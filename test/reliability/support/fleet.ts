/** The simulated fleet of the hunt kill test: host names the test hunts and the worker process answers for. */
export function fleetHosts(size: number): string[] {
  return Array.from({ length: size }, (_, index) => `fleet-${String(index).padStart(4, '0')}`);
}
