/**
 * Where a PBX's servers are: the URI of its first hop (outbound proxy, else registrar) located as RFC 3263 says
 * (NAPTR, then SRV, then A/AAAA; a numeric host is itself), shared by every line of that PBX. A look-up is shared
 * while it runs and its answer kept for a while, so a hundred lines starting or retrying together ask DNS once; a
 * failed look-up is kept for a shorter while, so lines retrying against a broken zone do not hammer the name server.
 *
 * The addresses found are also how the gateway tells this PBX's INVITEs from anyone else's when the PBX is configured
 * by name: a request from an address no look-up gave is not from the PBX.
 */
import { isNumericHost, locateSipServers, parseUri, SipError, type Clock, type DnsResolver, type Random, type TransportAddress, type TransportProtocol, type Uri } from '@switchboard/sip';
import type { PbxConfig } from '../config/types.js';

export interface PbxServersOptions {
  /** The first hop's URI: the outbound proxy when there is one, else the registrar. */
  readonly uri: Uri;
  readonly resolver: DnsResolver;
  /** Transports the gateway can send on: DNS records for others are skipped. */
  readonly transports: readonly TransportProtocol[];
  readonly clock: Clock;
  /** For the weighted choice among SRV records of equal priority. */
  readonly random: Random;
  /** How long an answer is used. Node's resolver reports no TTLs, so this stands in for them. Default 60 s. */
  readonly cacheMs?: number;
  /** How long a failed look-up is the answer. Default 5 s. */
  readonly failureCacheMs?: number;
  /**
   * How long lines wait for one look-up, all its queries together (up to 32, each bounded by the resolver's own
   * timeout and tries, except address look-ups through the system's resolver, which has none of ours). Default
   * 120 s: a name server that drops NAPTR queries, as many do, costs a full timeout-and-tries round before SRV. A
   * look-up given up keeps running, and the next one waits for it rather than starting another.
   */
  readonly deadlineMs?: number;
}

const DEFAULT_CACHE_MS = 60_000;
const DEFAULT_FAILURE_CACHE_MS = 5_000;
const DEFAULT_DEADLINE_MS = 120_000;
// Addresses remembered as this PBX's: a zone whose servers keep changing cannot grow the set without bound.
const MAX_KNOWN_ADDRESSES = 64;

interface Answer {
  readonly result: Promise<TransportAddress[]>;
  /** When the look-up ended; undefined while it runs. */
  settledAt: number | undefined;
  failed: boolean;
}

/** The servers of a PBX's first hop: its outbound proxy when it has one, else its registrar. Throws for an unreadable URI. */
export function pbxServersFor(pbx: PbxConfig, options: Omit<PbxServersOptions, 'uri'>): PbxServers {
  return new PbxServers({ ...options, uri: parseUri(pbx.outboundProxy ?? pbx.registrar) });
}

export class PbxServers {
  private readonly options: PbxServersOptions;
  private readonly cacheMs: number;
  private readonly failureCacheMs: number;
  private answer: Answer | undefined;
  /** The look-up itself, while it runs: a deadline ends the wait for it, not the look-up. */
  private running: Promise<TransportAddress[]> | undefined;
  private readonly known = new Set<string>();

  constructor(options: PbxServersOptions) {
    this.options = options;
    this.cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
    this.failureCacheMs = options.failureCacheMs ?? DEFAULT_FAILURE_CACHE_MS;
  }

  /** The servers to try, most preferred first; rejects with a `SipError` (code `dns`) when DNS names none. */
  locate(): Promise<TransportAddress[]> {
    const { clock } = this.options;
    const answer = this.answer;
    if (answer !== undefined) {
      if (answer.settledAt === undefined) return answer.result;
      const age = clock.now() - answer.settledAt;
      // A negative age is a clock that went back: the answer's age is unknown, so it is not used.
      if (age >= 0 && age < (answer.failed ? this.failureCacheMs : this.cacheMs)) return answer.result;
    }
    const result = this.lookUp();
    const fresh: Answer = { result, settledAt: undefined, failed: false };
    this.answer = fresh;
    result.then(
      (targets) => {
        fresh.settledAt = clock.now();
        void this.rememberAll(targets).catch(() => undefined);
      },
      () => {
        fresh.settledAt = clock.now();
        fresh.failed = true;
      },
    );
    return result;
  }

  /** Whether `host` (an IP address, IPv6 without brackets) is one a look-up of this PBX gave. */
  isServer(host: string): boolean {
    return this.known.has(host.toLowerCase());
  }

  /** The look-up, given up after the deadline: the lines waiting on it would otherwise wait for ever. */
  private lookUp(): Promise<TransportAddress[]> {
    const { clock, uri, resolver, transports, random } = this.options;
    const deadlineMs = this.options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    if (this.running === undefined) {
      const running = locateSipServers(uri, { resolver, transports, random });
      this.running = running;
      const done = () => {
        if (this.running === running) this.running = undefined;
      };
      running.then(done, done);
    }
    const running = this.running;
    return new Promise((resolve, reject) => {
      const timer = clock.setTimeout(() => reject(new SipError('dns', `looking up the PBX's servers took longer than ${deadlineMs / 1000} s`)), deadlineMs);
      running.then(
        (targets) => {
          clock.clearTimeout(timer);
          resolve(targets);
        },
        (error: unknown) => {
          clock.clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /**
   * TLS and WSS targets are names (their transport looks them up when it connects): their addresses are looked up
   * here too, so that requests from them are known as the PBX's.
   */
  private async rememberAll(targets: readonly TransportAddress[]): Promise<void> {
    const names = new Set<string>();
    for (const target of targets) {
      if (isNumericHost(target.host)) {
        this.remember(target.host);
        continue;
      }
      if (names.has(target.host)) continue;
      names.add(target.host);
      const addresses = await this.options.resolver.addresses(target.host).catch(() => [] as readonly string[]);
      for (const address of addresses.slice(0, 8)) this.remember(address);
    }
  }

  private remember(host: string): void {
    const key = host.toLowerCase();
    this.known.delete(key);
    this.known.add(key);
    if (this.known.size > MAX_KNOWN_ADDRESSES) this.known.delete(this.known.values().next().value!);
  }
}
