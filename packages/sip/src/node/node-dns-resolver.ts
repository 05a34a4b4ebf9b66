/**
 * The `DnsResolver` of `locateSipServers` on Node's DNS client (c-ares): NAPTR and SRV from the system's name servers
 * or the ones given; addresses from the same servers when given, else from the system's resolver (`getaddrinfo`,
 * which also reads /etc/hosts), as the transports look names up.
 */
import { lookup, Resolver } from 'node:dns/promises';
import type { DnsResolver, NaptrRecord, SrvRecord } from '../dns/sip-server-locator.js';
import { SipError } from '../errors.js';

export interface NodeDnsResolverOptions {
  /** Name servers (`'127.0.0.1'`, `'[::1]:5353'` ...); default: the system's. */
  servers?: readonly string[];
  /** Milliseconds per query attempt (default 2,000). */
  timeoutMs?: number;
  /** Attempts per query (default 2). */
  tries?: number;
  /** Address families looked up, in order (default IPv4 then IPv6). */
  families?: readonly (4 | 6)[];
}

/** What the name server says when a name has no records of a type: an answer, not a failure. */
const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA']);

export function nodeDnsResolver(options: NodeDnsResolverOptions = {}): DnsResolver {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 2_000, tries: options.tries ?? 2 });
  if (options.servers !== undefined) resolver.setServers([...options.servers]);
  const families = options.families ?? [4, 6];
  const ask = async <T>(type: string, name: string, query: () => Promise<T[]>): Promise<T[]> => {
    try {
      return await query();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== undefined && NO_RECORDS.has(code)) return [];
      throw new SipError('dns', `${type} lookup of ${name} failed${code === undefined ? '' : ` (${code})`}`, { cause: error });
    }
  };
  return {
    naptr: (name) => ask('NAPTR', name, () => resolver.resolveNaptr(name)) as Promise<NaptrRecord[]>,
    srv: (name) => ask('SRV', name, () => resolver.resolveSrv(name)) as Promise<SrvRecord[]>,
    async addresses(name) {
      if (options.servers === undefined) {
        const found = await ask('address', name, () => lookup(name, { all: true }));
        return families.flatMap((family) => found.filter((a) => a.family === family).map((a) => a.address));
      }
      // Each family on its own: a name server that fails AAAA queries still gives the A records.
      const found = await Promise.allSettled(families.map((family) =>
        ask(family === 4 ? 'A' : 'AAAA', name, () => (family === 4 ? resolver.resolve4(name) : resolver.resolve6(name)))));
      const addresses = found.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
      const failed = found.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      // No address and a failed query: the failure is the answer, not "this name has no address".
      if (addresses.length === 0 && failed !== undefined) throw failed.reason;
      return addresses;
    },
  };
}
