/**
 * The gateway's own registrar (RFC 3261 §10.3) for SIP phones: desk phones and softphones over UDP or TCP, web
 * phones over WebSocket (RFC 7118). A phone's address-of-record user is the account's user name, whatever the host
 * of its To URI; bindings go to the location service, where the call layer finds them.
 *
 * Order of the checks, and why:
 * 1. What can be judged without knowing who asks: the To URI must be a SIP AOR with a user (400), Contacts must be
 *    SIP URIs, at most as many as a user may have, `*` only alone and with Expires 0 (400).
 * 2. Digest authentication, always before anything that depends on the account: no credentials, an unknown user
 *    and a wrong password all get the same fresh 401 challenge (an unknown user is checked against a random
 *    password, so even the time taken does not tell them apart), so user names cannot be enumerated.
 * 3. Authorization: an authenticated phone registers its own AOR only; another account's AOR is 403, an AOR that
 *    is no account 404 (only an authenticated phone ever learns which names exist).
 * 4. Lifetimes: shorter than the minimum is 423 with Min-Expires, longer is cut to the maximum.
 * 5. The location update, all or nothing: 500 for a REGISTER older than one already applied, 503 when full.
 *
 * Challenges offer MD5 only by default, as Kamailio and Asterisk do: baresip 1.0 (libre) refuses a 401 in which
 * any challenge names an algorithm it lacks, and JsSIP 3, SIP.js 0.21 and sipp 3.6 read only the first challenge and
 * give up unless it is MD5. SHA-256 (RFC 8760) can be offered with `algorithms` for fleets that all support it.
 */
import {
  bytesToHex, cryptoRandom, digestHa1, digestHashOf, digestHexLength, DigestServer, formatNameAddr, NO_PARAMS, systemClock, unescapeUriPart,
  type Clock, type DigestAlgorithm, type DigestHashName, type DigestVerifyResult, type HeaderParams, type IncomingRequest, type NameAddr,
  type Random, type ResponseHeader, type SipRequest, type TransportProtocol,
} from '@switchboard/sip';
import { nodeDigestHasher } from '@switchboard/sip/node';
import type { Logger } from 'pino';
import type { RegistrarConfig } from '../config/types.js';
import type { SipListener } from '../sip-listener.js';
import { LocationService, type Binding, type ContactChange } from './location-service.js';
import { respondWhileOpen } from './respond-while-open.js';

export interface RegistrarOptions {
  readonly config: RegistrarConfig;
  readonly logger: Logger;
  readonly clock?: Clock | undefined;
  readonly random?: Random | undefined;
  /** Default: a new one on the same clock. */
  readonly location?: LocationService | undefined;
  /** Digest algorithms offered, one challenge each, in order of preference. Default MD5 only (see above). */
  readonly algorithms?: readonly DigestAlgorithm[] | undefined;
  /** Nonce key; default random, so nonces from before a restart are answered stale and clients retry at once. */
  readonly nonceSecret?: Uint8Array | undefined;
}

/** Lifetime for a Contact when neither it nor the request gives one (RFC 3261 §10.3 step 7). */
const DEFAULT_EXPIRES_SECONDS = 3600;
/** Longer claimed user names are cut in logs: they come off the network unauthenticated. */
const LOG_TEXT_MAX = 64;
const STREAM_PROTOCOLS: readonly TransportProtocol[] = ['tcp', 'tls', 'ws', 'wss'];

type Refusal = { readonly status: number; readonly reason: string; readonly headers?: [string, string][] };

export class Registrar {
  readonly location: LocationService;
  readonly realm: string;
  private readonly config: RegistrarConfig;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly digest: DigestServer;
  private readonly accounts: ReadonlyMap<string, RegistrarConfig['accounts'][number]['password']>;
  private readonly detach: (() => void)[] = [];

  constructor(options: RegistrarOptions) {
    this.config = options.config;
    this.realm = options.config.realm;
    this.log = options.logger.child({ component: 'registrar' });
    this.clock = options.clock ?? systemClock;
    const random = options.random ?? cryptoRandom;
    this.location = options.location ?? new LocationService({ clock: this.clock });
    this.accounts = new Map(options.config.accounts.map((account) => [account.user, account.password]));
    const algorithms = options.algorithms ?? ['MD5'];
    // H(user:realm:password) of every account, once: each REGISTER would otherwise hash the password again. An
    // unknown user gets a random HA1 no password has, computed and compared like any other, so neither the
    // answer nor the time taken tells which names exist.
    const ha1s = new Map<string, string>();
    const decoys = new Map<DigestHashName, string>();
    for (const hash of new Set(algorithms.map(digestHashOf))) {
      decoys.set(hash, bytesToHex(random.bytes(digestHexLength(hash) / 2)));
      for (const [user, password] of this.accounts) ha1s.set(`${hash}:${user}`, digestHa1(nodeDigestHasher, hash, user, this.realm, password.reveal()));
    }
    this.digest = new DigestServer({
      realm: options.config.realm,
      algorithms,
      secret: options.nonceSecret ?? random.bytes(32),
      clock: this.clock,
      random,
      hasher: nodeDigestHasher,
      lookup: (username, _realm, hash) => ({ ha1: ha1s.get(`${hash}:${username}`) ?? decoys.get(hash)! }),
    });
    this.detach.push(
      this.location.on('added', ({ binding }) =>
        this.log.info({ user: binding.user, contact: contactText(binding), source: sourceText(binding), expires: secondsLeft(binding, this.clock.now()) }, 'SIP phone registered'),
      ),
      // Every refresh lands here: the fields are formatted only when they would be written.
      this.location.on('updated', ({ binding }) =>
        this.log.isLevelEnabled('debug') && this.log.debug({ user: binding.user, contact: contactText(binding), source: sourceText(binding), expires: secondsLeft(binding, this.clock.now()) }, 'SIP registration refreshed'),
      ),
      this.location.on('removed', ({ binding, reason }) =>
        this.log.info({ user: binding.user, contact: contactText(binding), source: sourceText(binding), reason }, 'SIP phone unregistered'),
      ),
    );
  }

  /** Takes REGISTER on the listener, and drops WebSocket bindings whose connection closes. */
  attach(listener: Pick<SipListener, 'handlers' | 'ua'>): void {
    listener.handlers.REGISTER = (incoming) => this.handle(incoming);
    for (const protocol of STREAM_PROTOCOLS) {
      let transport;
      try {
        transport = listener.ua.transport(protocol);
      } catch {
        continue; // not listening on it
      }
      this.detach.push(
        transport.on('connection', ({ connectionId, state }) => {
          if (state === 'closed') this.location.connectionClosed(connectionId);
        }),
      );
    }
  }

  /** Answers one REGISTER (asynchronously: verifying credentials may wait for a lookup). */
  handle(incoming: IncomingRequest): void {
    this.process(incoming).catch((error: unknown) => {
      this.log.error({ err: error, source: incoming.source }, 'REGISTER handling failed');
      respondWhileOpen(incoming, 500, {}, this.log, 'the REGISTER');
    });
  }

  close(): void {
    for (const off of this.detach.splice(0)) off();
    this.location.close();
  }

  private async process(incoming: IncomingRequest): Promise<void> {
    const { request } = incoming;
    const aor = aorUserOf(request);
    if (aor === undefined) return refuse(incoming, { status: 400, reason: 'To Is Not A SIP AOR With A User' });
    const contacts = request.contacts;
    const shape = this.checkContacts(request, contacts);
    if (shape !== undefined) return refuse(incoming, shape);

    // REGISTER is served statelessly (see sip-listener.ts): a retransmission of an accepted one comes back here.
    const verdict = await this.digest.verify(request, { repeatable: true });
    if (!verdict.ok) return this.challenge(incoming, verdict);
    const user = verdict.username;
    if (aor !== unescapeUriPart(user)) {
      const known = this.accounts.has(aor);
      this.log.info({ user, aor: clip(aor), source: incoming.source }, known ? 'SIP registration for another account refused' : 'SIP registration for an unknown AOR refused');
      return refuse(incoming, known ? { status: 403, reason: 'Not Your Address Of Record' } : { status: 404, reason: 'Not Found' });
    }

    let changes: ContactChange[] | '*';
    if (contacts.length === 1 && contacts[0] === '*') changes = '*';
    else {
      const lifetimes = this.lifetimes(request, contacts as NameAddr[]);
      if ('status' in lifetimes) return refuse(incoming, lifetimes);
      changes = lifetimes;
    }
    let bindings: readonly Binding[];
    if (changes !== '*' && changes.length === 0) bindings = this.location.lookup(user);
    else {
      const result = this.location.update({
        user,
        callId: request.callId ?? '',
        cseq: request.cseq?.seq ?? 0,
        source: incoming.source,
        connectionId: incoming.connectionId,
        userAgent: request.get('User-Agent')?.slice(0, 200),
        contacts: changes,
      });
      if (!result.ok) {
        this.log.info({ user, source: incoming.source, reason: result.reason }, 'SIP registration not applied');
        if (result.reason === 'out-of-order') return refuse(incoming, { status: 500, reason: 'Out Of Order Registration' });
        if (result.reason === 'too-many') return refuse(incoming, { status: 400, reason: 'Too Many Contacts' });
        return refuse(incoming, { status: 503, reason: 'Registrar Full', headers: [['Retry-After', '60']] });
      }
      bindings = result.bindings;
    }
    const now = this.clock.now();
    const headers: ResponseHeader[] = bindings.map((binding) => ['contact', contactValue(binding, now)]);
    headers.push(['date', new Date(now)]);
    incoming.respond(200, { headers });
  }

  /** What is wrong with the Contacts regardless of who sends them, or undefined. */
  private checkContacts(request: SipRequest, contacts: readonly (NameAddr | '*')[]): Refusal | undefined {
    if (contacts.length > this.location.maxBindingsPerUser) return { status: 400, reason: 'Too Many Contacts' };
    if (contacts.includes('*')) {
      // §10.3 step 6: `*` only alone, and only to remove everything.
      if (contacts.length > 1 || request.parsed('expires') !== 0) return { status: 400, reason: 'Invalid Wildcard Contact' };
      return undefined;
    }
    for (const contact of contacts as NameAddr[]) {
      if (contact.uri.type !== 'sip') return { status: 400, reason: 'Contact Is Not A SIP URI' };
    }
    return undefined;
  }

  /** Each Contact with its lifetime (its own `expires`, else the Expires header, else the default), or 423. */
  private lifetimes(request: SipRequest, contacts: readonly NameAddr[]): ContactChange[] | Refusal {
    const { minExpiresSeconds: min, maxExpiresSeconds: max } = this.config;
    const header = request.parsed('expires');
    const fallback = header ?? Math.min(Math.max(DEFAULT_EXPIRES_SECONDS, min), max);
    const changes: ContactChange[] = [];
    for (const contact of contacts) {
      const seconds = deltaSeconds(contact.params.get('expires')) ?? fallback;
      if (seconds !== 0 && seconds < min) return { status: 423, reason: 'Interval Too Brief', headers: [['Min-Expires', String(min)]] };
      changes.push({ uri: contact.uri, params: withoutExpires(contact.params), expiresSeconds: Math.min(seconds, max) });
    }
    return changes;
  }

  private challenge(incoming: IncomingRequest, verdict: Exclude<DigestVerifyResult, { ok: true }>): void {
    const claimed = verdict.username;
    // A first REGISTER without credentials is the normal start of every registration; the others may be guessing.
    const routine = verdict.reason === 'missing' || verdict.stale;
    if (!routine || this.log.isLevelEnabled('debug')) {
      const details = { user: claimed === undefined ? undefined : clip(claimed), reason: verdict.reason, source: incoming.source };
      if (routine) this.log.debug(details, 'SIP registration challenged');
      else this.log.info({ ...details, account: claimed !== undefined && this.accounts.has(claimed) ? 'known' : 'unknown' }, 'SIP registration credentials refused');
    }
    const values = this.digest.challenge(incoming.request, { stale: verdict.stale });
    incoming.respond(401, { headers: values.map((value): ResponseHeader => ['www-authenticate', value]) });
  }
}

function refuse(incoming: IncomingRequest, refusal: Refusal): void {
  incoming.respond(refusal.status, { reason: refusal.reason, headers: refusal.headers ?? [] });
}

/** The AOR's user part, unescaped: only sip/sips URIs with a user name an account. */
function aorUserOf(request: SipRequest): string | undefined {
  const uri = request.to?.uri;
  if (uri === undefined || uri.type !== 'sip' || uri.user === undefined || uri.user === '') return undefined;
  return unescapeUriPart(uri.user);
}

/** A Contact's `expires` as delta-seconds; undefined when absent or malformed (then the request's value applies). */
function deltaSeconds(value: string | null | undefined): number | undefined {
  if (value === undefined || value === null || !/^[0-9]{1,10}$/.test(value)) return undefined;
  return Number(value);
}

function withoutExpires(params: HeaderParams): HeaderParams {
  if (!params.has('expires')) return params;
  const copy = new Map(params);
  copy.delete('expires');
  return copy.size === 0 ? NO_PARAMS : copy;
}

function secondsLeft(binding: Binding, now: number): number {
  return Math.max(0, Math.ceil((binding.expiresAt - now) / 1000));
}

function contactValue(binding: Binding, now: number): NameAddr {
  const params = new Map(binding.params);
  params.set('expires', String(secondsLeft(binding, now)));
  return { displayName: undefined, uri: binding.uri, params };
}

function contactText(binding: Binding): string {
  return formatNameAddr({ displayName: undefined, uri: binding.uri, params: NO_PARAMS }).slice(1, -1);
}

function sourceText(binding: Binding): string {
  const { protocol, host, port } = binding.source;
  return `${protocol}:${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function clip(text: string): string {
  return text.length > LOG_TEXT_MAX ? `${text.slice(0, LOG_TEXT_MAX)}…` : text;
}
