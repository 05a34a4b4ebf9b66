import { assertPrivateNetns } from './netns.js';
import { freePort, LOOPBACK } from './ports.js';
import { startProcess, type ManagedProcess } from './processes.js';

/** Records of a zone served by dnsmasq, in its own option syntax (one option per record). */
export interface DnsZone {
  /** Names under this domain are answered here only: a name without records gets NXDOMAIN, never a forward. */
  domain: string;
  /** name → IPv4 addresses. */
  hosts?: Record<string, string[]>;
  srv?: { name: string; target: string; port: number; priority: number; weight: number }[];
  /** An SRV record of target "." (RFC 2782: the service is decidedly not available). */
  noService?: string[];
  naptr?: { name: string; order: number; preference: number; service: string; replacement: string }[];
}

export interface DnsServer {
  /** `127.0.0.1:port`, for `nodeDnsResolver({ servers })`. */
  readonly address: string;
  readonly process: ManagedProcess;
}

/** A name server for `zone` on loopback (UDP and TCP), for tests of RFC 3263 server location against real DNS. */
export async function startDnsmasq(suite: string, zone: DnsZone): Promise<DnsServer> {
  assertPrivateNetns();
  const port = await freePort();
  const args = [
    '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--no-poll', '--user=root',
    `--listen-address=${LOOPBACK}`, '--bind-interfaces', `--port=${port}`, '--log-queries', '--log-facility=-',
    `--local=/${zone.domain}/`,
    ...Object.entries(zone.hosts ?? {}).map(([name, addresses]) => `--host-record=${name},${addresses.join(',')}`),
    ...(zone.srv ?? []).map((r) => `--srv-host=${r.name},${r.target},${r.port},${r.priority},${r.weight}`),
    ...(zone.noService ?? []).map((name) => `--srv-host=${name}`),
    ...(zone.naptr ?? []).map((r) => `--naptr-record=${r.name},${r.order},${r.preference},S,${r.service},,${r.replacement}`),
  ];
  const process = await startProcess({ suite, component: 'dnsmasq', command: 'dnsmasq', args, ready: { udpPort: port } });
  return { address: `${LOOPBACK}:${port}`, process };
}
