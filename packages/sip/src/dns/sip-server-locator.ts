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
 * is the Node one. TLS and WSS targets keep the server's name rather than an address, and carry the URI's domain as
 * the name the certificate must hold (RFC 5922 §4).
 */
import type { Random } from '../clock.js';
import { SipError } from '../errors.js';
import type { Uri } from '../message/uri.js';
import { defaultPort, type TransportAddress, type TransportProtocol } from '../transport/transport.js';
import { sendableUri, targetHostOfUri, transportOfUri, unbracketed } from '../ua/next-hop.js';

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

// DNS answers are outside input: a domain cannot make one look-up ask more, or try more, than this. Records are
// ordered before they are cut, so a long answer cannot push the preferred servers out.
const MAX_RECORDS_READ = 256;
const MAX_RECORDS = 16;
const MAX_ADDRESSES_PER_NAME = 8;
const MAX_QUERIES = 32;
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

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6_GROUP = /^[0-9A-Fa-f]{1,4}$/;
// A host name as SRV and NAPTR may give one: letters, digits, '-', '_' and dots, at most 253 characters.
const HOST_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*$/;

/** An IPv4 address or an IPv6 reference (brackets stripped): no DNS needed. */
export function isNumericHost(host: string): boolean {
  return IPV4.test(host) || isIpv6(host);
}

/** RFC 4291 §2.2: eight groups of up to four hex digits, or fewer around one "::"; the last two may be an IPv4 address. */
function isIpv6(host: string): boolean {
  if (!host.includes(':')) return false;
  const halves = host.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  let count = groups.length;
  if (groups.length > 0 && groups[groups.length - 1]!.includes('.')) {
    if (!IPV4.test(groups.pop()!)) return false;
    count += 1;
  }
  if (!groups.every((group) => IPV6_GROUP.test(group))) return false;
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** A name from a record, without its final dot, or undefined when it is not a host name. */
function recordName(name: string): string | undefined {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  return bare.length > 0 && bare.length <= 253 && HOST_NAME.test(bare) ? bare : undefined;
}

/**
 * The targets for `uri`, most preferred first, at most MAX_TARGETS. Rejects with a `SipError` of code `dns` when
 * DNS gives none (its `cause` is the last DNS failure, if any), and of code `invalid-argument` for a URI that is not
 * SIP or SIPS or names a transport the stack does not have.
 *
 * A failed NAPTR query counts as no NAPTR records (many name servers mishandle the type); a failed SRV query does
 * not count as no SRV records: the host's own address is a guess made only when DNS said there are none.
 */
export async function locateSipServers(uri: Uri, options: LocateOptions): Promise<TransportAddress[]> {
  const sip = sendableUri(uri);
  const secure = sip.scheme === 'sips';
  const transports = options.transports ?? ALL;
  if (transports.length === 0) throw new SipError('invalid-argument', 'no transport to locate servers for');
  const host = targetHostOfUri(sip);
  const given = transportOfUri(sip);
  // What a URI without a transport means: UDP for SIP and TLS for SIPS (§4.1), or this side's nearest to that.
  // A side with secure transports only reaches a SIP URI over them too.
  const usable = secure || !transports.some((p) => !secureOf(p)) ? transports.filter(secureOf) : transports.filter((p) => !secureOf(p));
  const preferred = secure ? 'tls' : 'udp';
  const fallback = given ?? (usable.includes(preferred) ? preferred : usable[0] ?? preferred);
  // RFC 5922 §4: a TLS server is checked against the domain the request is for, not a name DNS handed out; for SIP
  // URIs that reach TLS (a transport parameter, a SIPS+D2T record) as much as for SIPS.
  const domain = unbracketed(sip.host);
  const serverName = isNumericHost(domain) ? undefined : recordName(domain)?.toLowerCase();
  if (isNumericHost(host)) return [target(fallback, host, sip.port ?? defaultPort(fallback), serverName)];
  const name = recordName(host);
  if (name === undefined) throw new SipError('invalid-argument', `not a host name: ${JSON.stringify(host.slice(0, 80))}`);

  const search = new Search(options.resolver, options.random, serverName);
  if (sip.port !== undefined) {
    await search.addHost(fallback, name, sip.port);
    return search.result(name);
  }
  if (given === undefined) {
    const offered = await search.naptr(name, secure, transports);
    for (const [protocol, srvName] of offered) await search.addSrv(protocol, srvName);
    if (offered.length === 0) {
      // No usable NAPTR: ask SRV for each transport this side has, "_sip" for SIP URIs and "_sips" for SIPS (§4.1).
      for (const protocol of usable) await search.addSrv(protocol, `${srvPrefix(protocol)}.${name}`);
    }
  } else await search.addSrv(given, `${srvPrefix(given)}.${name}`);
  // DNS said there is no SRV record at all (not even a "." saying there is no service): the host itself (§4.2).
  if (search.srvAbsent) await search.addHost(fallback, name, defaultPort(fallback));
  return search.result(name);
}

function target(protocol: TransportProtocol, host: string, port: number, serverName: string | undefined): TransportAddress {
  return secureOf(protocol) && serverName !== undefined && serverName !== host.toLowerCase() ? { protocol, host, port, serverName } : { protocol, host, port };
}

/** One look-up's state: the targets found so far, the queries asked (each name once), and what DNS said. */
class Search {
  private readonly targets: TransportAddress[] = [];
  private readonly seen = new Set<string>();
  private readonly asked = new Map<string, Promise<readonly unknown[]>>();
  private srvAnswered = false;
  private srvFailed = false;
  private failure: unknown;

  constructor(
    private readonly resolver: DnsResolver,
    private readonly random: Random,
    private readonly serverName: string | undefined,
  ) {}

  get srvAbsent(): boolean {
    return !this.srvAnswered && !this.srvFailed;
  }

  /** Transports and SRV names the domain's NAPTR records offer, in their order and preference. */
  async naptr(host: string, secure: boolean, transports: readonly TransportProtocol[]): Promise<[TransportProtocol, string][]> {
    const records = (await this.query('NAPTR', host, () => this.resolver.naptr(host))).records as readonly NaptrRecord[];
    const offered: [TransportProtocol, string][] = [];
    const kept = records
      .slice(0, MAX_RECORDS_READ)
      .filter((r) => r.flags.toLowerCase() === 's')
      .sort((a, b) => a.order - b.order || a.preference - b.preference);
    for (const r of kept) {
      const protocol = NAPTR_SERVICES[r.service.toUpperCase()];
      const name = recordName(r.replacement);
      if (protocol === undefined || name === undefined || !transports.includes(protocol) || (secure && !secureOf(protocol))) continue;
      if (offered.some(([p, n]) => p === protocol && n === name)) continue;
      offered.push([protocol, name]);
      if (offered.length === MAX_RECORDS) break;
    }
    return offered;
  }

  async addSrv(protocol: TransportProtocol, name: string): Promise<void> {
    const { records, failed } = await this.query('SRV', name, () => this.resolver.srv(name));
    if (failed) this.srvFailed = true;
    if (records.length > 0) this.srvAnswered = true;
    const servers = (records as readonly SrvRecord[])
      .slice(0, MAX_RECORDS_READ)
      .map((r) => ({ ...r, name: recordName(r.name) ?? '' }))
      .filter((r) => r.port > 0 && r.name !== '');
    for (const record of orderSrv(servers, this.random).slice(0, MAX_RECORDS)) await this.addHost(protocol, record.name, record.port);
  }

  async addHost(protocol: TransportProtocol, name: string, port: number): Promise<void> {
    if (this.targets.length >= MAX_TARGETS) return;
    // TLS and WSS keep the name: the transport looks it up when it connects, and a WebSocket's Host names it.
    const hosts = secureOf(protocol) || isNumericHost(name)
      ? [name]
      : ((await this.query('address', name, () => this.resolver.addresses(name))).records as readonly string[]).slice(0, MAX_ADDRESSES_PER_NAME);
    for (const host of hosts) {
      const key = `${protocol} ${host} ${port}`;
      if (this.seen.has(key) || this.targets.length >= MAX_TARGETS) continue;
      this.seen.add(key);
      this.targets.push(target(protocol, host, port, this.serverName));
    }
  }

  result(host: string): TransportAddress[] {
    if (this.targets.length > 0) return this.targets;
    const why = this.failure instanceof Error ? `: ${this.failure.message}` : '';
    throw new SipError('dns', `no SIP server found for ${host}${why}`, { cause: this.failure });
  }

  /**
   * Each name and type asked once; past MAX_QUERIES nothing more is asked. A failed query gives no records (the
   * next step may still find a server) and is kept for the report.
   */
  private async query(type: string, name: string, run: () => Promise<readonly unknown[]>): Promise<{ records: readonly unknown[]; failed: boolean }> {
    const key = `${type} ${name.toLowerCase()}`;
    let pending = this.asked.get(key);
    if (pending === undefined) {
      if (this.asked.size >= MAX_QUERIES) {
        this.failure ??= new SipError('dns', `more than ${MAX_QUERIES} DNS queries needed`);
        return { records: [], failed: true };
      }
      pending = run();
      this.asked.set(key, pending);
    }
    try {
      return { records: await pending, failed: false };
    } catch (error) {
      this.failure = error;
      return { records: [], failed: true };
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
