import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

const HOW_TO_RUN = 'run e2e tests through npm test / scripts/run-tests.mjs';

/** Names of every interface in this network namespace, up or down (/proc/net/dev is per namespace; /sys is not). */
export function namespaceInterfaces(): string[] {
  const text = readFileSync('/proc/net/dev', 'utf8');
  return text
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0]?.trim() ?? '')
    .filter((name) => name !== '')
    .sort();
}

/**
 * Throws unless this process sits in a network namespace whose only interface is an up `lo`. Peers bind fixed
 * loopback ports and sipp floods them; on a shared network they would collide with other runs and services.
 */
export function assertPrivateNetns(): void {
  let names: string[];
  try {
    names = namespaceInterfaces();
  } catch (err) {
    throw new Error(`cannot list network interfaces (${(err as Error).message}); ${HOW_TO_RUN}`);
  }
  if (names.length !== 1 || names[0] !== 'lo') {
    throw new Error(
      `e2e tests need a private network namespace with only a loopback interface, found: ${names.join(', ') || 'none'}; ${HOW_TO_RUN}`,
    );
  }
  // libuv lists only interfaces that are up, so a missing `lo` here means `ip link set lo up` was not done.
  const lo = networkInterfaces()['lo'] ?? [];
  if (!lo.some((a) => a.address === '127.0.0.1')) {
    throw new Error(`the loopback interface of this network namespace is down; ${HOW_TO_RUN}`);
  }
}
