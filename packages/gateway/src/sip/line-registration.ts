/**
 * One operator's line at a PBX: the gateway REGISTERs the operator's account with the credentials it holds, keeps
 * the registration fresh, notices a PBX that went away, and registers again when it is back.
 *
 *            start()
 *   idle ───────────► registering ──── 2xx ────► registered ── refresh timer ──► refreshing
 *                      │   ▲    │                 │   ▲                            │
 *     no answer, 5xx,  │   │    │ refused         │   └─────────── 2xx ────────────┘
 *     unreachable      │   │    ▼ (auth, 404)     │                                │
 *                      │   │  failed ◄────────────┼─────────── refused ────────────┤
 *                      ▼   │ backoff timer        │ probe unanswered               │ no answer, 5xx
 *               unregistered ◄────────────────────┴────────────────────────────────┘
 *                      │  backoff timer, or a probe answered
 *                      └────────────────────────────────► registering
 *   any state ── stop() ──► stopped
 *
 * Where REGISTERs go comes from DNS (RFC 3263, through the PBX's `PbxServers`): each fresh registration, the first and
 * every retry, tries the servers in the order DNS gives, moving on from one that is silent for `probeTimeoutMs`,
 * unreachable or 503. The server that accepts the binding keeps it: refreshes, probes, the line's calls and the
 * unregistration go there, until it fails and a retry looks the servers up again (and so goes back to the most
 * preferred one that answers).
 *
 * Liveness comes from OPTIONS probes every `keepAliveSeconds`, sent whatever the state. A probe counts as unanswered
 * after `probeTimeoutMs` (default 5 s), not after the stack's Timer F: with the default 15 s keep-alive that puts
 * "PBX not responding" at most 20 s after the PBX went silent, inside the 30 s operators are promised, while 5 s
 * still spans four UDP transmissions (T1 doubling), so one lost datagram does not flap the line.
 *
 * Browsers see a `LineState`, not these states: a retry keeps showing the failure it retries until it has an
 * answer, so tabs get one event per change of what the operator can do, not one per attempt.
 */
import {
  DigestClient, SipError, TypedEmitter, cryptoRandom, parseUri, randomToken, systemClock, type Clock, type NameAddr, type Random, type SipRequest, type SipResponse, type SipUri, type TimerHandle,
  type TransportAddress, type Uri, type UserAgent,
} from '@switchboard/sip';
import { nodeDigestHasher } from '@switchboard/sip/node';
import type { LineState } from '@switchboard/protocol';
import type { Logger } from 'pino';
import type { PbxLineConfig } from '../config/types.js';
import { Exchange, type ExchangeOutcome } from './line-registration-exchange.js';
import { backoffDelay, DEFAULT_BACKOFF, grantedExpires, refreshDelay, retryAfterMs, type BackoffOptions } from './line-registration-timing.js';
import { outboundRoute } from './outbound-proxy.js';
import type { PbxServers } from './pbx-servers.js';

export type RegistrationState = 'idle' | 'registering' | 'registered' | 'refreshing' | 'unregistered' | 'failed' | 'stopped';

const TRANSITIONS: Readonly<Record<RegistrationState, readonly RegistrationState[]>> = {
  idle: ['registering', 'stopped'],
  registering: ['registered', 'unregistered', 'failed', 'stopped'],
  registered: ['refreshing', 'unregistered', 'stopped'],
  refreshing: ['registered', 'unregistered', 'failed', 'stopped'],
  unregistered: ['registering', 'stopped'],
  failed: ['registering', 'stopped'],
  stopped: [],
};

export type LineRegistrationErrorCode = 'invalid-state' | 'invalid-config';

export class LineRegistrationError extends Error {
  constructor(readonly code: LineRegistrationErrorCode, message: string) {
    super(message);
    this.name = 'LineRegistrationError';
  }
}

export interface LineStateChange {
  readonly from: RegistrationState;
  readonly to: RegistrationState;
  /** What browsers are shown; never carries credentials. */
  readonly line: LineState;
}

export type LineRegistrationEvents = {
  state: LineStateChange;
};

export interface LineRegistrationOptions {
  readonly ua: UserAgent;
  readonly line: PbxLineConfig;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Uniform in [0, 1): backoff and refresh jitter. */
  readonly random?: () => number;
  /** Tags, Call-ID and digest cnonces. */
  readonly idRandom?: Random;
  readonly backoff?: Partial<BackoffOptions>;
  /** How long an OPTIONS probe may go unanswered before the PBX counts as gone. Default 5 s. */
  readonly probeTimeoutMs?: number;
  /** How long `stop()` waits for the PBX to confirm the unregistration. Default 3 s. */
  readonly stopTimeoutMs?: number;
  /** Host (and port) for our Contact when the listener's own address is not one the PBX can reach (0.0.0.0, NAT). */
  readonly contactAddress?: { readonly host: string; readonly port?: number };
  /** Where the PBX's servers are, shared by its lines (`pbxServersFor(line.pbx, ...)`). */
  readonly servers: PbxServers;
}

interface Failure {
  readonly kind: 'failed' | 'unregistered';
  /** For the operator's tabs. */
  readonly reason: string;
  readonly sipStatus: number | undefined;
  /** No answer at all: a probe answer is then the signal to try again. */
  readonly silent: boolean;
  readonly retryAfterMs?: number;
  /** For the log only: socket errors name addresses and ports that browsers have no use for. */
  readonly detail?: string;
}

const NOT_RESPONDING = 'PBX not responding';
const UNREACHABLE = 'PBX unreachable';
const NOT_FOUND = 'PBX not found in DNS';
const DEFAULT_PROBE_TIMEOUT_MS = 5_000;
const DEFAULT_STOP_TIMEOUT_MS = 3_000;
// Min-Expires beyond a day is a registrar bug, not a policy worth following.
const MAX_EXPIRES_SECONDS = 86_400;

export class LineRegistration extends TypedEmitter<LineRegistrationEvents> {
  readonly line: PbxLineConfig;
  /** The address of record, `sip:user@domain`. */
  readonly aor: Uri;
  private readonly ua: UserAgent;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly digest: DigestClient;
  private readonly backoff: BackoffOptions;
  private readonly probeTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly registrar: Uri;
  private readonly route: NameAddr | undefined;
  /** What probes ask: the first hop itself, so an answer proves that hop is alive. */
  private readonly probeTarget: Uri;
  private readonly servers: PbxServers;
  private readonly contactAddress: { readonly host: string; readonly port?: number } | undefined;
  /** The servers of this registration attempt, in the order to try them, and the one being tried or holding our binding. */
  private targets: readonly TransportAddress[] = [];
  private targetIndex = 0;
  private ownContact: NameAddr;
  private readonly callId: string;
  private current: RegistrationState = 'idle';
  private view: LineState = { state: 'unregistered', reason: 'Not registered yet' };
  private nextCSeq = 1;
  private expires: number;
  private failures = 0;
  private exchange: Exchange | undefined;
  /** The look-up in flight: a stop or a newer attempt makes its answer nobody's. */
  private locating: object | undefined;
  private probe: Exchange | undefined;
  private retryTimer: TimerHandle | undefined;
  private refreshTimer: TimerHandle | undefined;
  private probeTimer: TimerHandle | undefined;
  /** Whether the last failure was silence (no answer, unreachable): a probe answer then means "try now". */
  private waitingForPbx = false;

  constructor(options: LineRegistrationOptions) {
    super();
    const { line } = options;
    this.line = line;
    this.ua = options.ua;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? (() => unitFromBytes(cryptoRandom));
    const idRandom = options.idRandom ?? cryptoRandom;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.probeTimeoutMs = options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    this.stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    this.expires = line.pbx.registerExpiresSeconds;
    this.log = options.logger.child({ component: 'line', operatorId: line.operatorId, pbx: line.pbx.name, user: line.user });
    try {
      this.registrar = parseUri(line.pbx.registrar);
      this.aor = parseUri(`sip:${line.user}@${line.pbx.domain}`);
      const proxy = line.pbx.outboundProxy === undefined ? undefined : parseUri(line.pbx.outboundProxy);
      this.route = outboundRoute(proxy);
      this.probeTarget = proxy ?? this.registrar;
      this.contactAddress = options.contactAddress;
      this.ownContact = contactFor(this.ua, line.user, this.ua.protocols[0]!, this.contactAddress);
    } catch (error) {
      throw new LineRegistrationError('invalid-config', `line of operator ${line.operatorId}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.servers = options.servers;
    const host = this.ownContact.uri.type === 'sip' ? this.ownContact.uri.host : '';
    if (host === '0.0.0.0' || host === '[::]') this.log.warn({ host }, 'the SIP listener has no specific address: calls from the PBX cannot reach this Contact (set contactAddress)');
    const realm = line.pbx.realm;
    const credentials = { username: line.authUser, password: line.password.reveal() };
    this.digest = new DigestClient({
      credentials: (challenged) => (realm === undefined || challenged === realm ? credentials : undefined),
      hasher: nodeDigestHasher,
      random: idRandom,
    });
    // One Call-ID for the line's lifetime, as RFC 3261 §10.2 asks, so the registrar sees refreshes of one binding.
    this.callId = randomToken(idRandom, 24);
  }

  get state(): RegistrationState {
    return this.current;
  }

  /** What the operator's tabs are shown. */
  get lineState(): LineState {
    return this.view;
  }

  /** Our Contact as last registered (or as it will be): INVITEs for this line arrive with this URI (its user is the line's user). */
  get contact(): NameAddr {
    return this.ownContact;
  }

  /** The server holding the line's binding, where its calls go; undefined while the line is not registered. */
  get server(): TransportAddress | undefined {
    return this.current === 'registered' || this.current === 'refreshing' ? this.targets[this.targetIndex] : undefined;
  }

  /** Where requests of this line go now: the server being tried or holding the binding, else the most preferred one. */
  private get destination(): TransportAddress | undefined {
    return this.targets[this.targetIndex];
  }

  start(): void {
    if (this.current !== 'idle') throw new LineRegistrationError('invalid-state', `the line is ${this.current}, not idle`);
    this.view = { state: 'unregistered', reason: 'Registering' };
    this.register();
    this.scheduleProbe();
  }

  /** Unregisters (Expires: 0) when a binding may exist, best effort and bounded by `stopTimeoutMs`; clears every timer. */
  async stop(): Promise<void> {
    if (this.current === 'stopped') return;
    const bound = this.current === 'registered' || this.current === 'refreshing';
    const server = this.server;
    this.exchange?.abandon();
    this.probe?.abandon();
    this.exchange = undefined;
    this.probe = undefined;
    this.locating = undefined;
    this.clearTimers();
    this.transition('stopped', { state: 'unregistered', reason: 'Line stopped' });
    if (!bound || server === undefined) return;
    const request = this.buildRegister(0);
    let exchange: Exchange;
    try {
      exchange = new Exchange(this.ua, request, server, { clock: this.clock, digest: this.digest, deadlineMs: this.stopTimeoutMs });
    } catch (error) {
      this.log.warn({ err: error }, 'unregistration not sent');
      return;
    }
    const outcome = await exchange.done;
    if (outcome.kind === 'response' && outcome.response.status < 300) this.log.info('line unregistered');
    else this.log.warn({ outcome: describeOutcome(outcome) }, 'unregistration not confirmed');
  }

  private register(): void {
    if (this.current === 'registered') {
      // A refresh stays with the server that holds the binding: moving would leave a second binding behind.
      this.transition('refreshing');
      this.sendRegister();
      return;
    }
    this.transition('registering');
    const token = {};
    this.locating = token;
    this.servers.locate().then(
      (targets) => {
        if (this.locating !== token || this.current !== 'registering') return;
        this.locating = undefined;
        this.targets = targets;
        this.targetIndex = 0;
        this.sendRegister();
      },
      (error: unknown) => {
        if (this.locating !== token || this.current !== 'registering') return;
        this.locating = undefined;
        // A URI the locator cannot use at all will not get better by asking DNS again soon.
        const unusable = error instanceof SipError && error.code === 'invalid-argument';
        this.onFailure(unusable
          ? { kind: 'failed', reason: 'PBX address not usable', sipStatus: undefined, silent: false, detail: message(error) }
          : { kind: 'unregistered', reason: NOT_FOUND, sipStatus: undefined, silent: false, detail: message(error) });
      },
    );
  }

  /** A REGISTER to the current target; while registering, a silent, unreachable or overloaded one gives way to the next. */
  private sendRegister(): void {
    const destination = this.destination!;
    const failover = this.current === 'registering';
    let exchange: Exchange;
    try {
      // No transport for the server's protocol (DNS named one this gateway does not listen on) is an unreachable server.
      this.ownContact = contactFor(this.ua, this.line.user, destination.protocol, this.contactAddress);
      const request = this.buildRegister(this.expires);
      // A fresh registration bounds each server's silence itself (probes only watch a server that holds the
      // binding); a server that answers at all, if only with 100 Trying, is given the transaction's own time.
      const deadline = failover ? { deadlineMs: this.probeTimeoutMs, deadlineUntilAnswer: true } : {};
      exchange = new Exchange(this.ua, request, destination, { clock: this.clock, digest: this.digest, ...deadline });
    } catch (error) {
      this.onRegisterOutcome({ kind: 'unreachable', detail: message(error) });
      return;
    }
    this.exchange = exchange;
    void exchange.done.then((outcome) => {
      this.nextCSeq = Math.max(this.nextCSeq, exchange.cseq + 1);
      if (this.exchange !== exchange || outcome.kind === 'abandoned') return;
      this.exchange = undefined;
      this.onRegisterOutcome(outcome);
    });
  }

  /** RFC 3263 §4.3: no answer, no connection or a 503 sends the request to the next server. */
  private failOver(outcome: Exclude<ExchangeOutcome, { kind: 'abandoned' }>): boolean {
    if (this.current !== 'registering' || this.targetIndex + 1 >= this.targets.length) return false;
    const moveOn = outcome.kind !== 'response' || outcome.response.status === 503;
    if (!moveOn) return false;
    this.log.info({ server: describeAddress(this.destination!), outcome: describeOutcome(outcome), next: describeAddress(this.targets[this.targetIndex + 1]!) }, 'PBX server did not take the registration; trying the next');
    this.targetIndex += 1;
    this.sendRegister();
    return true;
  }

  private buildRegister(expires: number): SipRequest {
    const request = this.ua.createRequest('REGISTER', this.registrar, { from: this.aor, contact: this.contact, callId: this.callId, cseq: this.nextCSeq++ });
    if (this.route !== undefined) request.prepend('Route', this.route);
    request.append('Expires', expires);
    return request;
  }

  private onRegisterOutcome(outcome: Exclude<ExchangeOutcome, { kind: 'abandoned' }>): void {
    if (this.failOver(outcome)) return;
    if (outcome.kind === 'no-answer') {
      this.onFailure({ kind: 'unregistered', reason: NOT_RESPONDING, sipStatus: undefined, silent: true });
      return;
    }
    if (outcome.kind === 'unreachable') {
      this.onFailure({ kind: 'unregistered', reason: UNREACHABLE, sipStatus: undefined, silent: true, detail: outcome.detail });
      return;
    }
    const { response, authFailure } = outcome;
    if (response.status >= 200 && response.status < 300) {
      this.onRegistered(response);
      return;
    }
    if (response.status === 423) {
      const minimum = response.parsed('min-expires');
      // RFC 3261 §10.2.8: ask again at least as long as the registrar's minimum, right away.
      if (minimum !== undefined && minimum > this.expires && minimum <= MAX_EXPIRES_SECONDS) {
        this.log.info({ minExpires: minimum }, 'registrar asks for a longer registration');
        this.expires = minimum;
        this.sendRegister();
        return;
      }
    }
    this.onFailure(classify(response, authFailure, this.line.pbx.realm));
  }

  private onRegistered(response: SipResponse): void {
    const granted = grantedExpires(response, this.contact.uri, this.expires);
    if (granted === undefined || granted === 0) {
      this.onFailure({ kind: 'unregistered', reason: 'the registrar did not keep our binding', sipStatus: response.status, silent: false });
      return;
    }
    this.failures = 0;
    this.waitingForPbx = false;
    const was = this.current;
    this.transition('registered', { state: 'registered' });
    const delay = refreshDelay(granted, this.random());
    if (was === 'registering') this.log.info({ expires: granted, refreshInMs: delay }, 'line registered');
    else this.log.debug({ expires: granted, refreshInMs: delay }, 'registration refreshed');
    this.refreshTimer = this.clock.setTimeout(() => {
      this.refreshTimer = undefined;
      if (this.current === 'registered') this.register();
    }, delay);
  }

  private onFailure(failure: Failure): void {
    this.failures += 1;
    this.waitingForPbx = failure.silent;
    this.clearRegisterTimers();
    const line: LineState = { state: failure.kind, reason: failure.reason, ...(failure.sipStatus === undefined ? {} : { sipStatus: failure.sipStatus }) };
    this.transition(failure.kind, line);
    const delay = Math.max(backoffDelay(this.failures, this.random(), this.backoff, failure.kind === 'failed'), failure.retryAfterMs ?? 0);
    this.log.warn({ reason: failure.reason, detail: failure.detail, sipStatus: failure.sipStatus, failures: this.failures, retryInMs: delay }, 'line registration failed');
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.current === 'unregistered' || this.current === 'failed') this.register();
    }, delay);
  }

  private scheduleProbe(): void {
    this.probeTimer = this.clock.setTimeout(() => {
      this.probeTimer = undefined;
      this.sendProbe();
    }, this.line.pbx.keepAliveSeconds * 1000);
  }

  private sendProbe(): void {
    if (this.current === 'stopped') return;
    const destination = this.destination;
    // Nothing located yet (DNS failing): the next registration attempt asks again; there is nothing to probe.
    if (destination === undefined) {
      this.scheduleProbe();
      return;
    }
    const request = this.ua.createRequest('OPTIONS', this.probeTarget, { from: this.aor, to: this.probeTarget });
    let probe: Exchange;
    try {
      probe = new Exchange(this.ua, request, destination, { clock: this.clock, deadlineMs: this.probeTimeoutMs });
    } catch (error) {
      this.log.warn({ err: error }, 'keep-alive probe not sent');
      this.scheduleProbe();
      return;
    }
    this.probe = probe;
    void probe.done.then((outcome) => {
      if (this.probe !== probe || outcome.kind === 'abandoned') return;
      this.probe = undefined;
      this.onProbeOutcome(outcome);
      if (this.current !== 'stopped') this.scheduleProbe();
    });
  }

  private onProbeOutcome(outcome: Exclude<ExchangeOutcome, { kind: 'abandoned' }>): void {
    if (outcome.kind === 'response') {
      // Any answer, even a 4xx to an OPTIONS it will not serve, shows the PBX is there.
      if (this.current === 'unregistered' && this.waitingForPbx) {
        this.log.info('PBX answers again; registering');
        this.clearRegisterTimers();
        this.register();
      }
      return;
    }
    this.log.debug({ outcome: describeOutcome(outcome) }, 'keep-alive probe unanswered');
    // A fresh registration has a deadline per server and moves on by itself; a probe may even have gone to a server
    // it has already left.
    if (this.current !== 'registered' && this.current !== 'refreshing') return;
    // The REGISTER in flight went to the same silent PBX: waiting out its Timer F would only delay the news.
    this.exchange?.abandon();
    this.exchange = undefined;
    const reason = outcome.kind === 'no-answer' ? NOT_RESPONDING : UNREACHABLE;
    this.onFailure({ kind: 'unregistered', reason, sipStatus: undefined, silent: true, detail: outcome.detail });
  }

  private transition(to: RegistrationState, line?: LineState): void {
    const from = this.current;
    if (!TRANSITIONS[from].includes(to)) throw new LineRegistrationError('invalid-state', `line of operator ${this.line.operatorId}: no transition from ${from} to ${to}`);
    this.current = to;
    if (line !== undefined) this.view = line;
    this.emit('state', { from, to, line: this.view });
  }

  private clearRegisterTimers(): void {
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    if (this.refreshTimer !== undefined) this.clock.clearTimeout(this.refreshTimer);
    this.retryTimer = undefined;
    this.refreshTimer = undefined;
  }

  private clearTimers(): void {
    this.clearRegisterTimers();
    if (this.probeTimer !== undefined) this.clock.clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }
}

/** What a final non-2xx answer to our REGISTER means for the line. */
function classify(response: SipResponse, authFailure: string | undefined, realm: string | undefined): Failure {
  const status = response.status;
  const phrase = `${status} ${response.reason}`;
  if (status === 401 || status === 407) {
    const reason = authFailure === 'no-credentials' && realm !== undefined
      ? `PBX asked for credentials of another realm than "${realm}" (${phrase})`
      : authFailure === 'unsupported' ? `PBX asked for an authentication this gateway does not support (${phrase})`
      : `PBX refused the line's credentials (${phrase})`;
    return { kind: 'failed', reason, sipStatus: status, silent: false };
  }
  if (status === 403) return { kind: 'failed', reason: `PBX refused the registration (${phrase})`, sipStatus: status, silent: false };
  if (status === 404) return { kind: 'failed', reason: `PBX does not know this user (${phrase})`, sipStatus: status, silent: false };
  // Timeouts and overload reported by the PBX or a proxy on the way: worth retrying as is.
  if (status === 408 || status === 480 || (status >= 500 && status < 600)) {
    const retry = retryAfterMs(response);
    return { kind: 'unregistered', reason: `PBX answered ${phrase}`, sipStatus: status, silent: false, ...(retry === undefined ? {} : { retryAfterMs: retry }) };
  }
  return { kind: 'failed', reason: `PBX refused the registration (${phrase})`, sipStatus: status, silent: false };
}

function contactFor(ua: UserAgent, user: string, protocol: TransportAddress['protocol'], address: { host: string; port?: number } | undefined): NameAddr {
  const own = ua.contact(user, protocol);
  if (address === undefined) return own;
  if (own.uri.type !== 'sip') throw new SipError('invalid-argument', 'the user agent gave a non-SIP Contact');
  const host = address.host.includes(':') && !address.host.startsWith('[') ? `[${address.host}]` : address.host;
  const uri: SipUri = { ...own.uri, host, port: address.port ?? own.uri.port };
  return { ...own, uri };
}

function describeOutcome(outcome: ExchangeOutcome): string {
  switch (outcome.kind) {
    case 'response':
      return `${outcome.response.status} ${outcome.response.reason}`;
    case 'no-answer':
    case 'unreachable':
      return outcome.detail;
    case 'abandoned':
      return 'abandoned';
  }
}

function describeAddress(address: TransportAddress): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${address.protocol}:${host}:${address.port}`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function unitFromBytes(random: Random): number {
  const bytes = random.bytes(4);
  return (((bytes[0]! << 24) >>> 0) + (bytes[1]! << 16) + (bytes[2]! << 8) + bytes[3]!) / 2 ** 32;
}
