/**
 * The host page's phone: one connection to the gateway and the calls it carries. The connection owns the
 * session (login, pings, refresh, reconnects); each call owns its state and media; the phone routes events
 * between them and opens the microphone.
 */
import type { CloseReason, IceCandidate, IceServer, LineState, ServerEvent, Welcome } from '@switchboard/protocol';
import { PhoneCall, type Call, type CallHost } from './call.js';
import { Connection, type ConnectionState, type RequestParams } from './connection.js';
import type { BackoffOptions } from './backoff.js';
import { Emitter, type Listener } from './emitter.js';
import { ClientError, microphoneError, type MicrophoneErrorKind } from './errors.js';
import { CallMedia } from './media.js';
import { browserPlatform, hiddenAudioElement, tabInstance, type Platform, type PlatformOverrides } from './platform.js';

export interface PhoneOptions extends PlatformOverrides {
  /** The gateway's WebSocket endpoint, e.g. `wss://gw.example.com/ws`. No credentials in it: they go in `hello`. */
  url: string;
  /** A fresh login token from the CRM; called on connect, before every reconnect and when the token is about to expire. */
  getToken: () => Promise<string> | string;
  /** Stable per tab across reloads; a newer session with the same value replaces the older. Default: kept in sessionStorage. */
  instance?: string;
  /** Where remote audio plays. Default: a hidden autoplaying `<audio>` the SDK adds to the page. */
  audioElement?: HTMLAudioElement;
  /** How long to wait for ICE candidates before sending an SDP; later ones trickle. Default 1000 ms. */
  iceGatheringTimeoutMs?: number;
  /** How long a request waits for its reply. Default 10 s. */
  requestTimeoutMs?: number;
  /** Reconnect delays, or `false` to never reconnect on its own. */
  reconnect?: BackoffOptions | false;
}

export interface Operator {
  id: string;
  name: string;
  extension: string;
}

export interface MediaErrorEvent {
  kind: MicrophoneErrorKind;
  message: string;
  /** The call being answered; absent when placing a call. */
  callId?: string;
}

export interface PhoneEvents {
  /** `reason` names the close reason when the gateway closed the session. */
  connection: { state: ConnectionState; reason?: CloseReason };
  incoming: Call;
  line: LineState;
  'media-error': MediaErrorEvent;
  /** Problems that reject no promise: dropped frames, a failed token refresh, blocked audio playback. */
  error: ClientError;
}

export interface CallOptions {
  /** An opaque CRM reference stored with the call record and repeated in webhooks. */
  context?: string;
}

export class Phone {
  private readonly events = new Emitter<PhoneEvents>();
  private readonly connection: Connection;
  private readonly platform: Platform;
  private readonly active = new Map<string, PhoneCall>();
  private iceServers: IceServer[] = [];
  private audio: HTMLAudioElement | undefined;
  private readonly host: CallHost;

  constructor(private readonly options: PhoneOptions) {
    this.platform = browserPlatform(options);
    this.audio = options.audioElement;
    this.connection = new Connection({
      url: options.url,
      getToken: options.getToken,
      instance: options.instance ?? tabInstance(),
      platform: this.platform,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      reconnect: options.reconnect ?? {},
    });
    this.host = {
      request: (type, params) => this.connection.request(type, params),
      openMedia: (callId) => this.openMedia(callId),
      report: (error) => this.events.emit('error', error),
      ended: (call) => this.active.delete(call.id),
    };
    this.connection.on('state', (change) => this.connectionChanged(change));
    this.connection.on('event', (event) => this.dispatch(event));
    this.connection.on('error', (error) => this.events.emit('error', error));
    this.connection.on('ice-servers', (servers) => {
      this.iceServers = servers;
      for (const call of this.active.values()) call.peerMedia?.setIceServers(servers);
    });
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  get operator(): Operator | undefined {
    return this.connection.welcome?.operator;
  }

  /** Calls in progress, oldest first. */
  get calls(): Call[] {
    return [...this.active.values()];
  }

  on<K extends keyof PhoneEvents>(name: K, listener: Listener<PhoneEvents[K]>): () => void {
    return this.events.on(name, listener);
  }

  off<K extends keyof PhoneEvents>(name: K, listener: Listener<PhoneEvents[K]>): void {
    this.events.off(name, listener);
  }

  /** Resolves once welcomed, through any reconnects; rejects when the gateway refuses (`code` = the close reason). */
  async connect(): Promise<Operator> {
    return (await this.connection.connect()).operator;
  }

  /** Ends this tab's outgoing and answered calls, closes the session, and stops reconnecting. */
  disconnect(): void {
    for (const call of this.active.values()) {
      // An incoming call still ringing stays for the operator's other tabs to answer.
      if (call.direction === 'outbound' || call.state === 'active') call.hangup().catch(() => {});
    }
    this.connection.disconnect();
  }

  /** Opens the microphone, sends the offer, and resolves once the gateway has given the call its id. */
  async call(target: string, options: CallOptions = {}): Promise<Call> {
    if (this.connection.state !== 'connected') throw new ClientError('not-connected', 'cannot place a call: not connected');
    const media = await this.openMedia(undefined);
    const early: (IceCandidate | null)[] = [];
    media.onTrickle = (candidate) => early.push(candidate);
    let callId: string;
    try {
      const sdp = await media.createOffer();
      const params: RequestParams<'call.start'> = { target, sdp };
      if (options.context !== undefined) params.context = options.context;
      ({ callId } = await this.connection.request('call.start', params));
    } catch (error) {
      media.close();
      throw error;
    }
    // No await from here on: the gateway's events about this call may be next in line.
    const call = new PhoneCall(this.host, { id: callId, direction: 'outbound', remote: { number: target }, media });
    this.active.set(callId, call);
    for (const candidate of early) media.onTrickle(candidate);
    return call;
  }

  private async openMedia(callId: string | undefined): Promise<CallMedia> {
    try {
      return await CallMedia.open({
        platform: this.platform,
        iceServers: this.iceServers,
        iceGatheringTimeoutMs: this.options.iceGatheringTimeoutMs ?? 1_000,
        audioElement: () => (this.audio ??= hiddenAudioElement()),
        report: this.host.report,
      });
    } catch (error) {
      if (error instanceof ClientError) throw error;
      const failure = microphoneError(error);
      const event: MediaErrorEvent = { kind: failure.kind, message: failure.message };
      if (callId !== undefined) event.callId = callId;
      this.events.emit('media-error', event);
      throw failure;
    }
  }

  private connectionChanged(change: PhoneEvents['connection']): void {
    const welcome = this.connection.welcome;
    if (change.state === 'connected' && welcome) {
      this.iceServers = welcome.iceServers;
      this.events.emit('line', welcome.line);
    } else {
      // The media went with the socket: the gateway cannot reach this tab's peer connections any more.
      for (const call of [...this.active.values()]) call.end({ cause: 'connection-lost' });
    }
    this.events.emit('connection', change);
    if (change.state === 'connected' && welcome) this.endOrphans(welcome);
  }

  /** Calls this tab carried before a reconnect lost their media with the old socket; end them for the far end too. */
  private endOrphans(welcome: Welcome): void {
    for (const summary of welcome.calls) {
      if (!summary.here) continue;
      const type = summary.state === 'active' ? 'call.hangup' : 'call.cancel';
      this.connection.request(type, { callId: summary.callId }).catch(() => {});
    }
  }

  private dispatch(event: ServerEvent): void {
    switch (event.type) {
      case 'line.state': {
        const line: LineState = { state: event.state };
        if (event.reason !== undefined) line.reason = event.reason;
        if (event.sipStatus !== undefined) line.sipStatus = event.sipStatus;
        this.events.emit('line', line);
        break;
      }
      case 'call.incoming': {
        if (this.active.has(event.callId)) break;
        const call = new PhoneCall(this.host, {
          id: event.callId,
          direction: 'inbound',
          remote: event.from,
          offer: event.sdp,
          ...(event.contact === undefined ? {} : { contact: event.contact }),
        });
        this.active.set(call.id, call);
        this.events.emit('incoming', call);
        break;
      }
      case 'auth.expiring':
        break;
      default:
        this.active.get(event.callId)?.handle(event);
    }
  }
}

export function createPhone(options: PhoneOptions): Phone {
  return new Phone(options);
}
