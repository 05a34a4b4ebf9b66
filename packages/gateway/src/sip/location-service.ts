/**
 * Where each SIP phone registered to the gateway can be reached: the bindings of every address-of-record user
 * (RFC 3261 §10.3), held in memory. A binding keeps, besides its Contact, the flow the REGISTER arrived on (source
 * address, transport, connection): a phone behind NAT, or one on TCP or a WebSocket whose Contact names an
 * unreachable `xxx.invalid` host (RFC 7118), is only reachable back through that flow.
 *
 * A REGISTER's changes are applied all or nothing (§10.3 step 7), ordered by Call-ID and CSeq. Bounded per user
 * and in total; expired bindings are swept on a timer of the injected clock and never returned by `lookup`.
 */
import { SipError, TypedEmitter, uriEquals, type Clock, type HeaderParams, type TimerHandle, type TransportAddress, type Uri } from '@switchboard/sip';

export interface Binding {
  /** The address-of-record user (the account's user name). */
  readonly user: string;
  /** The Contact URI the phone registered. */
  readonly uri: Uri;
  /** Contact parameters other than `expires` (q, +sip.instance, reg-id, ...), echoed in the 200. */
  readonly params: HeaderParams;
  /** Where the REGISTER came from, over which transport. */
  readonly source: TransportAddress;
  /** The connection it came on (TCP, TLS, WS, WSS) while that connection is open; undefined over UDP or once closed. */
  readonly connectionId: string | undefined;
  /** Clock time (ms) after which the binding no longer exists. */
  readonly expiresAt: number;
  readonly callId: string;
  readonly cseq: number;
  /** RFC 5626 `+sip.instance` (unquoted: `<urn:uuid:…>`) and reg-id, kept for the call layer; bindings are matched by URI only (outbound is not offered). */
  readonly instanceId: string | undefined;
  readonly regId: number | undefined;
  readonly userAgent: string | undefined;
  /** When the binding was created, and last refreshed. */
  readonly registeredAt: number;
  readonly updatedAt: number;
}

/** One Contact of a REGISTER, its lifetime already decided by the registrar (0 removes it). */
export interface ContactChange {
  readonly uri: Uri;
  readonly params: HeaderParams;
  readonly expiresSeconds: number;
}

export interface RegisterUpdate {
  readonly user: string;
  readonly callId: string;
  readonly cseq: number;
  readonly source: TransportAddress;
  readonly connectionId: string | undefined;
  readonly userAgent?: string | undefined;
  /** The Contacts to add, refresh or remove, or `*` (with Expires 0): remove every binding of the user. */
  readonly contacts: readonly ContactChange[] | '*';
}

export type UpdateResult =
  | { readonly ok: true; readonly bindings: readonly Binding[] }
  | {
      readonly ok: false;
      /**
       * out-of-order: a binding has this Call-ID with a higher CSeq (§10.3 steps 6-7; an equal one is a retransmission);
       * too-many: more Contacts in one request than a user may have; full: the service holds its maximum.
       */
      readonly reason: 'out-of-order' | 'too-many' | 'full';
    };

export type RemovalReason =
  /** Expires 0, or `Contact: *`. */
  | 'unregistered'
  | 'expired'
  /** Pushed out by a newer binding of the same user beyond `maxBindingsPerUser`. */
  | 'evicted'
  /** Reachable only over its connection (WS/WSS), which closed. */
  | 'flow-closed';

export type LocationEvents = {
  added: { readonly binding: Binding };
  /** Refreshed by a REGISTER, or its connection closed (TCP/TLS: still reachable at its Contact). */
  updated: { readonly binding: Binding; readonly previous: Binding };
  removed: { readonly binding: Binding; readonly reason: RemovalReason };
};

export interface LocationServiceOptions {
  clock: Clock;
  /** Default 10. */
  maxBindingsPerUser?: number;
  /** Default 100 000. */
  maxBindings?: number;
  /** How often expired bindings are swept, ms. Default 30 000. */
  sweepIntervalMs?: number;
}

const DEFAULT_MAX_PER_USER = 10;
const DEFAULT_MAX_BINDINGS = 100_000;
const DEFAULT_SWEEP_MS = 30_000;

export class LocationService extends TypedEmitter<LocationEvents> {
  readonly maxBindingsPerUser: number;
  readonly maxBindings: number;
  private readonly clock: Clock;
  private readonly sweepIntervalMs: number;
  /** Each user's bindings, newest first. */
  private readonly byUser = new Map<string, Binding[]>();
  /** Users with a binding on each open connection, so a closed connection is handled without a full scan. */
  private readonly byConnection = new Map<string, Set<string>>();
  /** Users with a binding registered from each source address, so telling a phone's request from a stranger's needs no scan. */
  private readonly bySource = new Map<string, Set<string>>();
  private total = 0;
  private sweepTimer: TimerHandle | undefined;
  private closed = false;

  constructor(options: LocationServiceOptions) {
    super();
    this.clock = options.clock;
    this.maxBindingsPerUser = positiveInteger(options.maxBindingsPerUser ?? DEFAULT_MAX_PER_USER, 'maxBindingsPerUser');
    this.maxBindings = positiveInteger(options.maxBindings ?? DEFAULT_MAX_BINDINGS, 'maxBindings');
    this.sweepIntervalMs = positiveInteger(options.sweepIntervalMs ?? DEFAULT_SWEEP_MS, 'sweepIntervalMs');
    this.scheduleSweep();
  }

  /** Live bindings of `user`, most recently registered or refreshed first. */
  lookup(user: string): readonly Binding[] {
    this.expireUser(user, this.clock.now());
    return this.byUser.get(user) ?? [];
  }

  /** Whether a live binding was registered from this address (transport, host and port). */
  hasBindingFrom(source: TransportAddress): boolean {
    const users = this.bySource.get(sourceKey(source));
    if (users === undefined) return false;
    for (const user of [...users]) {
      if (this.lookup(user).some((binding) => sourceKey(binding.source) === sourceKey(source))) return true;
    }
    return false;
  }

  /** Live bindings in total. */
  get size(): number {
    return this.total;
  }

  /** Users with at least one binding (expired ones possibly included until the next sweep). */
  users(): IterableIterator<string> {
    return this.byUser.keys();
  }

  /** Applies one REGISTER's changes: all of them, or none when any is refused. */
  update(update: RegisterUpdate): UpdateResult {
    const now = this.clock.now();
    this.expireUser(update.user, now);
    const before = this.byUser.get(update.user) ?? [];
    if (update.contacts !== '*' && update.contacts.length > this.maxBindingsPerUser) return { ok: false, reason: 'too-many' };
    // The same Call-ID and CSeq again is the same request retransmitted (the registrar keeps no transaction to
    // absorb it): already applied, so it is answered with the bindings as they are rather than refused as old.
    if (before.some((binding) => binding.callId === update.callId && binding.cseq === update.cseq)) return { ok: true, bindings: before };

    const removed: { binding: Binding; reason: RemovalReason }[] = [];
    const added: Binding[] = [];
    const updated: { binding: Binding; previous: Binding }[] = [];
    let next: Binding[];
    if (update.contacts === '*') {
      // §10.3 step 6: a binding of this Call-ID goes only for a higher CSeq; the others go whatever their Call-ID.
      if (before.some((binding) => isNotNewer(binding, update))) return { ok: false, reason: 'out-of-order' };
      next = [];
      for (const binding of before) removed.push({ binding, reason: 'unregistered' });
    } else {
      next = before.slice();
      const touched = new Set<Binding>();
      for (const change of update.contacts) {
        const at = next.findIndex((binding) => uriEquals(binding.uri, change.uri));
        const existing = at === -1 ? undefined : next[at]!;
        // A URI listed twice in one request: the later entry wins, it is not out of order with itself.
        if (existing !== undefined && !touched.has(existing) && isNotNewer(existing, update)) return { ok: false, reason: 'out-of-order' };
        if (change.expiresSeconds === 0) {
          if (existing === undefined) continue;
          next.splice(at, 1);
          if (!touched.has(existing)) removed.push({ binding: existing, reason: 'unregistered' });
          else undoInRequest(added, updated, removed, existing);
          continue;
        }
        const binding = makeBinding(update, change, now, existing);
        if (existing !== undefined) next.splice(at, 1);
        next.unshift(binding);
        touched.add(binding);
        if (existing === undefined) added.push(binding);
        else if (touched.has(existing)) replaceIn(added, updated, existing, binding);
        else updated.push({ binding, previous: existing });
      }
      // Beyond the bound, the bindings least recently refreshed make way: a phone that changed address (NAT
      // rebinding, a new Wi-Fi) keeps registering instead of being locked out until its old bindings expire.
      while (next.length > this.maxBindingsPerUser) {
        const victim = next.pop()!;
        removed.push({ binding: victim, reason: 'evicted' });
      }
    }

    const grows = next.length - before.length;
    if (grows > 0 && this.total + grows > this.maxBindings) {
      this.sweep();
      if (this.total + grows > this.maxBindings) return { ok: false, reason: 'full' };
    }
    this.commit(update.user, before, next);
    for (const event of removed) this.emit('removed', event);
    for (const event of updated) this.emit('updated', event);
    for (const binding of added) this.emit('added', { binding });
    return { ok: true, bindings: next };
  }

  /**
   * A connection closed. Bindings that came over it and are reachable only through it (WebSocket, RFC 7118 §5) go;
   * over TCP or TLS the gateway can open a new connection to the Contact, so they stay without their connection.
   */
  connectionClosed(connectionId: string): void {
    const users = this.byConnection.get(connectionId);
    if (users === undefined) return;
    for (const user of [...users]) {
      const before = this.byUser.get(user) ?? [];
      const removed: Binding[] = [];
      const updated: { binding: Binding; previous: Binding }[] = [];
      const next: Binding[] = [];
      for (const binding of before) {
        if (binding.connectionId !== connectionId) next.push(binding);
        else if (binding.source.protocol === 'ws' || binding.source.protocol === 'wss') removed.push(binding);
        else {
          const detached = { ...binding, connectionId: undefined };
          next.push(detached);
          updated.push({ binding: detached, previous: binding });
        }
      }
      this.commit(user, before, next);
      for (const binding of removed) this.emit('removed', { binding, reason: 'flow-closed' });
      for (const event of updated) this.emit('updated', event);
    }
  }

  /** Removes every expired binding now (the timer does this regularly). */
  sweep(): void {
    const now = this.clock.now();
    for (const user of [...this.byUser.keys()]) this.expireUser(user, now);
  }

  /** Stops the sweep timer; the bindings stay readable. */
  close(): void {
    this.closed = true;
    if (this.sweepTimer !== undefined) this.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private scheduleSweep(): void {
    if (this.closed) return;
    this.sweepTimer = this.clock.setTimeout(() => {
      this.sweep();
      this.scheduleSweep();
    }, this.sweepIntervalMs);
  }

  private expireUser(user: string, now: number): void {
    const before = this.byUser.get(user);
    if (before === undefined) return;
    // Refreshing moves a binding to the front, but lifetimes differ, so the expired ones can be anywhere.
    if (!before.some((binding) => binding.expiresAt <= now)) return;
    const next = before.filter((binding) => binding.expiresAt > now);
    this.commit(user, before, next);
    for (const binding of before) if (binding.expiresAt <= now) this.emit('removed', { binding, reason: 'expired' });
  }

  private commit(user: string, before: readonly Binding[], next: Binding[]): void {
    this.total += next.length - before.length;
    if (next.length === 0) this.byUser.delete(user);
    else this.byUser.set(user, next);
    reindex(this.byConnection, (binding) => binding.connectionId, user, before, next);
    reindex(this.bySource, (binding) => sourceKey(binding.source), user, before, next);
  }
}

function sourceKey(source: TransportAddress): string {
  return `${source.protocol}:${source.host}:${source.port}`;
}

/** Keeps an index of key → users in step with one user's bindings going from `before` to `next`. */
function reindex(
  index: Map<string, Set<string>>,
  keyOf: (binding: Binding) => string | undefined,
  user: string,
  before: readonly Binding[],
  next: readonly Binding[],
): void {
  const kept = new Set<string>();
  for (const binding of next) {
    const key = keyOf(binding);
    if (key === undefined) continue;
    kept.add(key);
    let users = index.get(key);
    if (users === undefined) index.set(key, (users = new Set()));
    users.add(user);
  }
  for (const binding of before) {
    const key = keyOf(binding);
    if (key === undefined || kept.has(key)) continue;
    const users = index.get(key);
    users?.delete(user);
    if (users?.size === 0) index.delete(key);
  }
}

/** Where a request to a binding goes: over its connection while open, else back to where it registered from. */
export interface BindingTarget {
  readonly destination: TransportAddress;
  readonly connectionId: string | undefined;
}

/**
 * How to reach a binding: its open connection; over UDP its source address (the NAT binding its REGISTERs come
 * through, as RFC 3581 answers go); over TCP or TLS without a connection, the Contact's own address. Undefined
 * when nothing can reach it (a WebSocket phone whose connection closed, a Contact that is not a SIP URI).
 */
export function bindingTarget(binding: Binding): BindingTarget | undefined {
  if (binding.connectionId !== undefined || binding.source.protocol === 'udp') {
    return { destination: binding.source, connectionId: binding.connectionId };
  }
  const uri = binding.uri;
  const protocol = binding.source.protocol;
  if (uri.type !== 'sip' || protocol === 'ws' || protocol === 'wss' || uri.host.toLowerCase().endsWith('.invalid')) return undefined;
  const host = uri.host.startsWith('[') ? uri.host.slice(1, -1) : uri.host;
  return { destination: { protocol, host, port: uri.port ?? (protocol === 'tls' ? 5061 : 5060) }, connectionId: undefined };
}

function isNotNewer(binding: Binding, update: RegisterUpdate): boolean {
  return binding.callId === update.callId && update.cseq <= binding.cseq;
}

function makeBinding(update: RegisterUpdate, change: ContactChange, now: number, existing: Binding | undefined): Binding {
  const instance = change.params.get('+sip.instance');
  const regId = change.params.get('reg-id');
  return {
    user: update.user,
    uri: change.uri,
    params: change.params,
    source: update.source,
    connectionId: update.connectionId,
    expiresAt: now + change.expiresSeconds * 1000,
    callId: update.callId,
    cseq: update.cseq,
    instanceId: instance === null || instance === undefined ? undefined : instance.replace(/^"(.*)"$/, '$1'),
    regId: regId === null || regId === undefined || !/^[0-9]{1,10}$/.test(regId) ? undefined : Number(regId),
    userAgent: update.userAgent,
    registeredAt: existing?.registeredAt ?? now,
    updatedAt: now,
  };
}

/** A binding this request added or refreshed, then removed: an addition that never happened, or a removal. */
function undoInRequest(
  added: Binding[],
  updated: { binding: Binding; previous: Binding }[],
  removed: { binding: Binding; reason: RemovalReason }[],
  binding: Binding,
): void {
  const at = added.indexOf(binding);
  if (at !== -1) {
    added.splice(at, 1);
    return;
  }
  const refreshed = updated.findIndex((event) => event.binding === binding);
  if (refreshed === -1) return;
  removed.push({ binding: updated[refreshed]!.previous, reason: 'unregistered' });
  updated.splice(refreshed, 1);
}

/** A binding added earlier in the same request and replaced later in it is still one addition. */
function replaceIn(added: Binding[], updated: { binding: Binding; previous: Binding }[], old: Binding, binding: Binding): void {
  const at = added.indexOf(old);
  if (at !== -1) {
    added[at] = binding;
    return;
  }
  const entry = updated.find((event) => event.binding === old);
  if (entry !== undefined) entry.binding = binding;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new SipError('invalid-argument', `${name} must be a positive integer, got ${value}`);
  return value;
}
