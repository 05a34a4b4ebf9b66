/**
 * Every operator's PBX line, registered through the gateway's one user agent: what the browser side asks (the state
 * to show an operator's tabs) and what the call layer asks (the line of an operator for an outgoing INVITE's digest,
 * the operator behind the Request-URI user of an INVITE the PBX sends to our Contact).
 *
 * A `line-state` event goes out when what an operator would be shown changes, not on every refresh or retry.
 */
import { cryptoRandom, systemClock, TypedEmitter, type DnsResolver, type TransportAddress } from '@switchboard/sip';
import { nodeDnsResolver } from '@switchboard/sip/node';
import type { LineState } from '@switchboard/protocol';
import type { LineConfig, PbxLineConfig } from '../config/types.js';
import { LineRegistration, LineRegistrationError, type LineRegistrationOptions } from './line-registration.js';
import { pbxServersFor, type PbxServers } from './pbx-servers.js';

export type LineRegistrationsEvents = {
  'line-state': { readonly operatorId: string; readonly state: LineState };
};

/** What every line's registration is given, and the lines; local lines are skipped: they have no account elsewhere. */
export interface LineRegistrationsOptions extends Omit<LineRegistrationOptions, 'line' | 'servers'> {
  readonly lines: readonly LineConfig[];
  /** Where PBXs' servers are looked up (RFC 3263); default: the system's name servers. */
  readonly resolver?: DnsResolver;
}

export class LineRegistrations extends TypedEmitter<LineRegistrationsEvents> {
  private readonly byOperator = new Map<string, LineRegistration>();
  /** `pbx name \0 user` → operator id. */
  private readonly byUser = new Map<string, string>();
  /** user → operator ids at any PBX, for a Request-URI that does not say which PBX it came from. */
  private readonly usersAnywhere = new Map<string, string[]>();
  private readonly shown = new Map<string, string>();
  /** By PBX name: one look-up serves every line of a PBX. */
  private readonly servers = new Map<string, PbxServers>();
  private started = false;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: LineRegistrationsOptions) {
    super();
    const log = options.logger.child({ component: 'lines' });
    const resolver = options.resolver ?? nodeDnsResolver();
    for (const line of options.lines) {
      if (line.mode !== 'pbx') continue;
      if (this.byOperator.has(line.operatorId)) throw new LineRegistrationError('invalid-config', `operator ${line.operatorId} has two lines`);
      const key = userKey(line.pbx.name, line.user);
      const taken = this.byUser.get(key);
      // Our Contact carries the line's user: two operators with one account would be indistinguishable to incoming calls.
      if (taken !== undefined) throw new LineRegistrationError('invalid-config', `operators ${taken} and ${line.operatorId} share the account ${line.user} at PBX ${line.pbx.name}`);
      let servers = this.servers.get(line.pbx.name);
      if (servers === undefined) {
        try {
          servers = pbxServersFor(line.pbx, { resolver, transports: options.ua.protocols, clock: options.clock ?? systemClock, random: options.idRandom ?? cryptoRandom });
        } catch (error) {
          throw new LineRegistrationError('invalid-config', `PBX ${line.pbx.name}: ${error instanceof Error ? error.message : String(error)}`);
        }
        this.servers.set(line.pbx.name, servers);
      }
      const registration = new LineRegistration({ ...options, line, servers });
      this.byOperator.set(line.operatorId, registration);
      this.byUser.set(key, line.operatorId);
      const anywhere = this.usersAnywhere.get(line.user) ?? [];
      anywhere.push(line.operatorId);
      this.usersAnywhere.set(line.user, anywhere);
      registration.on('state', ({ line: state }) => this.publish(line.operatorId, state));
    }
    for (const [user, operators] of this.usersAnywhere) {
      if (operators.length > 1) log.warn({ user, operators }, 'one SIP user at several PBXs: incoming calls to it are told apart by the PBX they come from');
    }
  }

  /** Registers every line. Listeners attached before this see each line's first state. */
  start(): void {
    if (this.started) throw new LineRegistrationError('invalid-state', 'the lines were already started');
    this.started = true;
    for (const [operatorId, registration] of this.byOperator) {
      registration.start();
      this.publish(operatorId, registration.lineState);
    }
  }

  /** What the operator's tabs should show; `undefined` for an operator without a PBX line. */
  stateOf(operatorId: string): LineState | undefined {
    return this.byOperator.get(operatorId)?.lineState;
  }

  /** The operator's PBX line (PBX settings and credentials, for the digest of an outgoing INVITE). */
  lineFor(operatorId: string): PbxLineConfig | undefined {
    return this.byOperator.get(operatorId)?.line;
  }

  /** The operator an INVITE from `pbxName` to our Contact with this Request-URI user is for. */
  operatorForUser(pbxName: string, user: string): string | undefined {
    return this.byUser.get(userKey(pbxName, user));
  }

  /** Every line whose account has this user, at any PBX: the caller tells them apart by where the INVITE came from. */
  linesForUser(user: string): PbxLineConfig[] {
    return (this.usersAnywhere.get(user) ?? []).map((operatorId) => this.lineFor(operatorId)!);
  }

  /** The server holding the binding of the operator's line: where the line's calls go. */
  serverOf(operatorId: string): TransportAddress | undefined {
    return this.byOperator.get(operatorId)?.server;
  }

  /** Whether `host` is an address DNS gave for this PBX's servers. */
  isPbxServer(pbxName: string, host: string): boolean {
    return this.servers.get(pbxName)?.isServer(host) ?? false;
  }

  /** The registration of one operator's line, for diagnostics and tests. */
  registrationOf(operatorId: string): LineRegistration | undefined {
    return this.byOperator.get(operatorId);
  }

  /** Unregisters every line (best effort, in parallel); idempotent. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      // Set before the lines stop: their last change ("Line stopped") is for nobody once the gateway shuts down.
      this.closed = true;
      this.closing = Promise.all([...this.byOperator.values()].map((registration) => registration.stop())).then(() => undefined);
    }
    return this.closing;
  }

  private publish(operatorId: string, state: LineState): void {
    if (!this.started || this.closed) return;
    const text = JSON.stringify([state.state, state.reason ?? null, state.sipStatus ?? null]);
    if (this.shown.get(operatorId) === text) return;
    this.shown.set(operatorId, text);
    this.emit('line-state', { operatorId, state });
  }
}

function userKey(pbxName: string, user: string): string {
  return `${pbxName}\u0000${user}`;
}
