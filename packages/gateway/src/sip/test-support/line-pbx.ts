/**
 * A PBX registrar for line registration tests: a user agent on an in-memory network (messages serialized and parsed
 * as on a wire, delivered on the microtask queue), digest-authenticating REGISTERs against one password. The network
 * can go silent towards the PBX, as a stopped or unplugged PBX does.
 */
import { nodeDigestHasher } from '@switchboard/sip/node';
import {
  DigestServer, ManualClock, SipError, TypedEmitter, UserAgent, formatAuth, parseMessage,
  type DnsResolver, type IncomingRequest, type Random, type SipMessage, type SipRequest, type SipTransport, type TransportAddress,
  type TransportEvents, type TransportProtocol,
} from '@switchboard/sip';
import { pino, type Logger } from 'pino';
import type { PbxConfig, PbxLineConfig } from '../../config/types.js';
import { Secret } from '../../config/secret.js';
import { pbxServersFor, type PbxServers } from '../pbx-servers.js';
import { MemoryZone } from './memory-zone.js';

export const PASSWORD = 'Xy7-secret-pw';
export const GATEWAY: TransportAddress = { protocol: 'udp', host: '127.0.0.1', port: 5060 };
export const PBX: TransportAddress = { protocol: 'udp', host: '127.0.0.2', port: 5060 };
export const PROXY: TransportAddress = { protocol: 'udp', host: '127.0.0.3', port: 5060 };

export interface Delivery {
  readonly from: TransportAddress;
  readonly to: TransportAddress;
  readonly text: string;
}

export class Network {
  private readonly endpoints = new Map<string, MemoryTransport>();
  readonly log: Delivery[] = [];
  /** Return false to drop a message. */
  filter: (delivery: Delivery) => boolean = () => true;
  /** Hosts whose "connections" are refused: sending to them fails, as TCP towards a stopped PBX does. */
  readonly refusing = new Set<string>();

  transport(address: TransportAddress): MemoryTransport {
    const transport = new MemoryTransport(this, address);
    this.endpoints.set(key(address), transport);
    return transport;
  }

  deliver(from: TransportAddress, to: TransportAddress, message: SipMessage): void {
    const delivery = { from, to, text: message.toString() };
    this.log.push(delivery);
    if (!this.filter(delivery)) return;
    const target = this.endpoints.get(key(to));
    // Like UDP towards a closed port: gone without a word.
    if (target === undefined) return;
    queueMicrotask(() => target.receive(from, delivery.text));
  }

  /** Requests of this method sent to `to` (all of them when omitted). */
  requests(method: string, to?: TransportAddress): Delivery[] {
    return this.log.filter((d) => d.text.startsWith(`${method} `) && (to === undefined || key(d.to) === key(to)));
  }
}

function key(address: TransportAddress): string {
  return `${address.protocol}:${address.host}:${address.port}`;
}

class MemoryTransport extends TypedEmitter<TransportEvents> implements SipTransport {
  readonly reliable = false;
  readonly protocol: TransportProtocol;

  constructor(private readonly network: Network, readonly local: TransportAddress) {
    super();
    this.protocol = local.protocol;
  }

  async send(message: SipMessage, destination: TransportAddress): Promise<void> {
    if (this.network.refusing.has(destination.host)) throw new SipError('transport', `cannot connect to ${destination.host}:${destination.port}: ECONNREFUSED`);
    this.network.deliver(this.local, destination, message);
  }

  receive(source: TransportAddress, text: string): void {
    this.emit('message', { message: parseMessage(text), source, connectionId: undefined });
  }

  async close(): Promise<void> {}
}

let counter = 0;
export const idRandom: Random = { bytes: (n) => Uint8Array.from({ length: n }, () => (counter = (counter * 31 + 7) % 251)) };

/** What the fake PBX answers to a REGISTER whose credentials are right, or instead of checking them. */
export type RegisterAnswer = (request: SipRequest) => { status: number; headers?: [string, string][] } | 'digest';

export interface Harness {
  readonly network: Network;
  readonly clock: ManualClock;
  readonly ua: UserAgent;
  readonly pbxUa: UserAgent;
  /** Every pino line written, as text. */
  readonly logs: string[];
  readonly logger: Logger;
  /** Password the PBX expects. */
  password: string;
  /** Seconds granted in the 2xx (Contact expires and Expires header). */
  grant: number;
  answer: RegisterAnswer;
  /** Lets deliveries and the promises they settle run. */
  flush(): Promise<void>;
  /** Advances the clock in steps, flushing in between, so timers and the messages they send interleave. */
  advance(ms: number, step?: number): Promise<void>;
  silence(on: boolean): void;
  /** Another server of the same PBX (same accounts, same password) at `address`. */
  server(address: TransportAddress): UserAgent;
  /** Where `pbx`'s servers are, for the gateway's user agent: through `resolver`, or no DNS at all (IP addresses). */
  servers(pbx: PbxConfig, resolver?: DnsResolver): PbxServers;
  line(overrides?: Partial<PbxConfig>, lineOverrides?: Partial<PbxLineConfig>): PbxLineConfig;
}

export function harness(): Harness {
  const network = new Network();
  const clock = new ManualClock(1_000_000);
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const ua = new UserAgent({ transports: [network.transport(GATEWAY)], clock, random: idRandom });
  const pbxUa = new UserAgent({ transports: [network.transport(PBX)], clock, random: idRandom });
  const h: Harness = {
    network, clock, ua, pbxUa, logs, logger,
    password: PASSWORD,
    grant: 600,
    answer: () => 'digest',
    async flush() {
      for (let i = 0; i < 8; i++) {
        for (let j = 0; j < 20; j++) await Promise.resolve();
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    async advance(ms, step = 250) {
      for (let done = 0; done < ms; done += step) {
        clock.advance(Math.min(step, ms - done));
        await h.flush();
      }
    },
    silence(on) {
      network.filter = on ? (d) => d.to.host !== PBX.host && d.to.host !== PROXY.host : () => true;
    },
    server(address) {
      const other = new UserAgent({ transports: [network.transport(address)], clock, random: idRandom });
      other.on('request', (incoming) => void serve(h, digest, incoming));
      return other;
    },
    servers(pbx, resolver = new MemoryZone()) {
      return pbxServersFor(pbx, { resolver, transports: ua.protocols, clock, random: idRandom });
    },
    line(overrides = {}, lineOverrides = {}) {
      const pbx: PbxConfig = {
        name: 'main', registrar: `sip:${PBX.host}:${PBX.port};transport=udp`, outboundProxy: undefined, domain: 'pbx.example',
        realm: undefined, media: 'passthrough', dtmf: 'rfc4733', codecs: ['PCMU', 'telephone-event'], registerExpiresSeconds: 600, keepAliveSeconds: 15,
        ...overrides,
      };
      return { mode: 'pbx', operatorId: 'op-1', pbx, user: '1001', authUser: '1001', password: new Secret(PASSWORD, 'env LINE_PASSWORD'), ...lineOverrides };
    },
  };
  const digest = new DigestServer({
    realm: 'pbx.example', secret: new Uint8Array(32).fill(3), hasher: nodeDigestHasher, clock, random: idRandom,
    lookup: (user) => (user === '1001' ? h.password : undefined),
  });
  pbxUa.on('request', (incoming) => void serve(h, digest, incoming));
  return h;
}

async function serve(h: Harness, digest: DigestServer, incoming: IncomingRequest): Promise<void> {
  const { request } = incoming;
  if (request.method === 'OPTIONS') {
    incoming.respond(200);
    return;
  }
  if (request.method !== 'REGISTER') {
    incoming.respond(405);
    return;
  }
  const answer = h.answer(request);
  if (answer !== 'digest') {
    incoming.respond(answer.status, { headers: answer.headers ?? [] });
    return;
  }
  const result = await digest.verify(request, { header: 'authorization' });
  if (!result.ok) {
    incoming.respond(401, { headers: digest.challenge(request, { stale: result.stale }).map((value) => ['WWW-Authenticate', formatAuth(value)] as [string, string]) });
    return;
  }
  const granted = Math.min(request.parsed('expires') ?? 3600, h.grant);
  const contact = request.contacts[0];
  // An Expires header unlike the binding's own lifetime: the Contact's expires is what counts (RFC 3261 §10.2.4).
  const headers: [string, string][] = [['Expires', '3600']];
  if (granted > 0 && contact !== undefined && contact !== '*' && contact.uri.type === 'sip') {
    const ours = `sip:${contact.uri.user}@${contact.uri.host}:${contact.uri.port}`;
    headers.push(['Contact', '<sip:someone-else@192.0.2.9:5060>;expires=30'], ['Contact', `<${ours}>;expires=${granted}`]);
  }
  incoming.respond(200, { headers });
}
