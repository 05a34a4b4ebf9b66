/**
 * Locating SIP servers (RFC 3263 §4): the ordered list of transport addresses a request to a SIP or SIPS URI may be
 * sent to, from the URI's transport parameter, port and host, and from DNS: NAPTR records naming the transports a
 * domain offers, SRV records (RFC 2782) naming its servers with priorities and weights, then A and AAAA records.
 *
 *   numeric host ........................... that address; transport from the URI, else UDP (SIP) or TLS (SIPS)
 *   port in the URI ........................ A/AAAA of the host; transport as above
 *   transport in the URI, no port .......... SRV for that transport, else A/AAAA at the default port
 *   neither ................................ NAPTR, then SRV for each transport this side has, else A/AAAA
 *
 * A client tries the targets in order, moving on when one gives no answer or a 503 (§4.3; `UserAgent.request`).
 * DNS is injected, so this file runs anywhere and is tested without a DNS server; `node/node-dns-resolver.ts`
 * is the Node one. TLS and WSS targets keep the server's name rather than an address: the certificate is checked
 * against the name, which an address would lose.
 */
import type { Random } from '../clock.js';
import { SipError } from '../errors.js';
import type { Uri } from '../message/uri.js';
import { defaultPort, TRANSPORT_BY_NAME, type TransportAddress, type TransportProtocol } from '../transport/transport.js';

export interface SrvRecord {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  /** The server's name; `.` (or empty) when the domain says there is no such service. */
  readonly name: string;
}

export interface NaptrRecord {
  readonly order: number;
  readonly preference: number;
  readonly flags: string;
  readonly service: string;
  readonly regexp: string;
  readonly replacement: string;
}

/**
 * DNS as the locator needs it. Each query resolves with no records when the name has none of that type (NXDOMAIN,
 * NODATA), and rejects when DNS itself fails (no answer, SERVFAIL, refused).
 */
export interface DnsResolver {
  naptr(name: string): Promise<readonly NaptrRecord[]>;
  srv(name: string): Promise<readonly SrvRecord[]>;
  /** IPv4 and IPv6 addresses of a name, in the order to try them. */
  addresses(name: string): Promise<readonly string[]>;
}

export interface LocateOptions {
  resolver: DnsResolver;
  /**
   * Transports this side can send on, in the order to try them when DNS leaves the choice (SRV records found for
   * several). Default: UDP, TCP, TLS, WS, WSS.
   */
  transports?: readonly TransportProtocol[];
  /** For the weighted choice among SRV records of equal priority. */
  random: Random;
}

// DNS answers are outside input: a domain cannot make the stack try more than this.
const MAX_RECORDS = 16;
const MAX_ADDRESSES_PER_NAME = 8;
export const MAX_TARGETS = 32;

const ALL: readonly TransportProtocol[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

/** NAPTR services (RFC 3263 §4.1, RFC 7118 §6 for WebSocket) and the transports they name. */
const NAPTR_SERVICES: Readonly<Record<string, TransportProtocol>> = {
  'SIP+D2U': 'udp', 'SIP+D2T': 'tcp', 'SIPS+D2T': 'tls', 'SIP+D2W': 'ws', 'SIPS+D2W': 'wss',
};

/** The SRV owner name of a transport: `_sip._udp`, `_sips._tcp`, `_sip._ws` ... */
function srvPrefix(protocol: TransportProtocol): string {
  switch (protocol) {
    case 'udp': return '_sip._udp';
    case 'tcp': return '_sip._tcp';
    case 'tls': return '_sips._tcp';
    case 'ws': return '_sip._ws';
    case 'wss': return '_sips._ws';
  }
}

function secureOf(protocol: TransportProtocol): boolean {
  return protocol === 'tls' || protocol === 'wss';
}

const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/** An IPv4 address or an IPv6 reference (brackets stripped or not): no DNS needed. */
export function isNumericHost(host: string): boolean {
  return IPV4.test(host) || host.includes(':');
}

/**
 * The targets for `uri`, most preferred first, at most MAX_TARGETS. Rejects with a `SipError` of code `dns` when
 * DNS gives none (its `cause` is the last DNS failure, if any), and of code `invalid-argument` for a URI that is not
 * SIP or SIPS or names a transport the stack does not have.
 */
export async function locateSipServers(uri: Uri, options: LocateOptions): Promise<TransportAddress[]> {
  if (uri.type !== 'sip') throw new SipError('invalid-argument', `cannot send to a ${uri.scheme}: URI`);
  const secure = uri.scheme === 'sips';
  const written = uri.params.get('maddr') ?? uri.host;
  const host = written.startsWith('[') ? written.slice(1, -1) : written;
  const param = uri.params.get('transport')?.toLowerCase();
  let given: TransportProtocol | undefined;
  if (param !== undefined) {
    given = TRANSPORT_BY_NAME[param];
    if (given === undefined) throw new SipError('invalid-argument', `unsupported transport ${param}`);
    // A SIPS URI is reached over TLS whatever else it names (RFC 3261 §26.2.2).
    if (secure && !secureOf(given)) given = given === 'ws' ? 'wss' : 'tls';
  }
  const fallback = given ?? (secure ? 'tls' : 'udp');
  if (isNumericHost(host)) return [{ protocol: fallback, host, port: uri.port ?? defaultPort(fallback) }];

  const search = new Search(options);
  if (uri.port !== undefined) {
    await search.addHost(fallback, host, uri.port);
    return search.result(host);
  }
  if (given === undefined) {
    const offered = await search.naptr(host, secure);
    for (const [protocol, name] of offered) await search.addSrv(protocol, name);
    if (offered.length === 0) {
      // No usable NAPTR: ask SRV for each transport this side has (SIPS URIs only over TLS, §4.1).
      for (const protocol of search.transports) {
        if (secure ? protocol === 'tls' : protocol === 'udp' || protocol === 'tcp') await search.addSrv(protocol, `${srvPrefix(protocol)}.${host}`);
      }
    }
  } else await search.addSrv(given, `${srvPrefix(given)}.${host}`);
  // No SRV record at all, not even a "." saying there is no service: the host itself, at the default port (§4.2).
  if (!search.srvAnswered) await search.addHost(fallback, host, defaultPort(fallback));
  return search.result(host);
}

/** One lookup's state: the targets found so far, and what DNS said along the way. */
class Search {
  readonly transports: readonly TransportProtocol[];
  private readonly resolver: DnsResolver;
  private readonly random: Random;
  private readonly targets: TransportAddress[] = [];
  private readonly seen = new Set<string>();
  srvAnswered = false;
  private failure: unknown;

  constructor(options: LocateOptions) {
    this.resolver = options.resolver;
    this.random = options.random;
    this.transports = options.transports ?? ALL;
  }

  /** Transports and SRV names the domain's NAPTR records offer, in their order and preference. */
  async naptr(host: string, secure: boolean): Promise<[TransportProtocol, string][]> {
    const records = await this.query(() => this.resolver.naptr(host));
    return records
      .slice(0, MAX_RECORDS)
      .filter((r) => r.flags.toLowerCase() === 's' && r.replacement !== '' && r.replacement !== '.')
      .map((r) => ({ r, protocol: NAPTR_SERVICES[r.service.toUpperCase()] }))
      .filter((x): x is { r: NaptrRecord; protocol: TransportProtocol } =>
        x.protocol !== undefined && this.transports.includes(x.protocol) && (!secure || secureOf(x.protocol)))
      .sort((a, b) => a.r.order - b.r.order || a.r.preference - b.r.preference)
      .map(({ r, protocol }) => [protocol, r.replacement.replace(/\.$/, '')]);
  }

  async addSrv(protocol: TransportProtocol, name: string): Promise<void> {
    const records = (await this.query(() => this.resolver.srv(name))).slice(0, MAX_RECORDS);
    if (records.length > 0) this.srvAnswered = true;
    for (const record of orderSrv(records.filter((r) => r.name !== '' && r.name !== '.'), this.random)) {
      await this.addHost(protocol, record.name.replace(/\.$/, ''), record.port);
    }
  }

  async addHost(protocol: TransportProtocol, name: string, port: number): Promise<void> {
    if (this.targets.length >= MAX_TARGETS) return;
    // TLS and WSS keep the name, for the certificate check; the transport looks it up when it connects.
    const hosts = secureOf(protocol) || isNumericHost(name) ? [name] : (await this.query(() => this.resolver.addresses(name))).slice(0, MAX_ADDRESSES_PER_NAME);
    for (const host of hosts) {
      const key = `${protocol} ${host} ${port}`;
      if (this.seen.has(key) || this.targets.length >= MAX_TARGETS) continue;
      this.seen.add(key);
      this.targets.push({ protocol, host, port });
    }
  }

  result(host: string): TransportAddress[] {
    if (this.targets.length > 0) return this.targets;
    const why = this.failure instanceof Error ? `: ${this.failure.message}` : '';
    throw new SipError('dns', `no SIP server found for ${host}${why}`, { cause: this.failure });
  }

  /** A failed query counts as no records (the next step may still find a server), its error kept for the report. */
  private async query<T>(run: () => Promise<readonly T[]>): Promise<readonly T[]> {
    try {
      return await run();
    } catch (error) {
      this.failure = error;
      return [];
    }
  }
}

/**
 * RFC 2782's order: by priority, lowest first; within a priority, each next record drawn with a chance proportional
 * to its weight, records of weight 0 having a small chance only (they are placed first, where a draw of 0 finds them).
 */
export function orderSrv(records: readonly SrvRecord[], random: Random): SrvRecord[] {
  const ordered: SrvRecord[] = [];
  const priorities = [...new Set(records.map((r) => r.priority))].sort((a, b) => a - b);
  for (const priority of priorities) {
    const left = records.filter((r) => r.priority === priority).sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
    while (left.length > 0) {
      const total = left.reduce((sum, r) => sum + r.weight, 0);
      const draw = Math.floor(unit(random) * (total + 1));
      let running = 0;
      let pick = left.length - 1;
      for (let i = 0; i < left.length; i++) {
        running += left[i]!.weight;
        if (running >= draw) {
          pick = i;
          break;
        }
      }
      ordered.push(left.splice(pick, 1)[0]!);
    }
  }
  return ordered;
}

/** A number in [0, 1) from four random bytes. */
function unit(random: Random): number {
  const b = random.bytes(4);
  return (((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!) / 2 ** 32;
}
