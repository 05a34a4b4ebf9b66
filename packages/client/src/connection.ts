/**
 * The session with the gateway, across sockets: login with `hello`, keep-alive pings, token refresh, requests
 * matched to their replies, and reconnecting after the socket is lost.
 *
 *   disconnected ──connect()──► connecting ──welcome──► connected
 *        ▲                          │                      │
 *        │ refused, superseded,     │ lost before welcome  │ closed (transient), ping unanswered
 *        │ disconnect()             ▼                      ▼
 *        └────────────────────  reconnecting ◄─────────────┘
 *                                   │ ▲
 *                     welcome ──────┘ └── retry after a backoff delay (stays reconnecting until welcomed)
 *
 * Every socket gets its own pending-request table and handlers that check they still belong to the current
 * socket, so a late event from a socket already given up on changes nothing.
 */
import type {
  ClientMessage,
  CloseReason,
  IceServer,
  RequestOf,
  RequestType,
  ResultOf,
  ServerEvent,
  Welcome,
} from '@switchboard/protocol';
import { backoffDelay, reconnectPlan, type BackoffOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import { ClientError, ConnectionError } from './errors.js';
import { parseServerFrame } from './frames.js';
import { CLOSE_REASONS, PROTOCOL_VERSION, WEBSOCKET_SUBPROTOCOL } from './generated/server-checks.js';
import { PendingRequests } from './pending.js';
import type { Platform } from './platform.js';
import { CLIENT_NAME, CLIENT_VERSION } from './version.js';

/**
 * Requests the gateway answers only once the far end has: a hold waits for a re-INVITE's answer (a collision costs a
 * few seconds, a silent far end up to 8 s before it is cancelled), digits go one SIP INFO at a time. The gateway
 * bounds each of them; the usual request timeout would give up first.
 */
const FAR_END_REQUESTS: ReadonlySet<RequestType> = new Set<RequestType>(['call.hold', 'call.resume', 'call.dtmf', 'call.transfer']);
const FAR_END_TIMEOUT_MS = 45_000;

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

const TRANSITIONS: Record<ConnectionState, readonly ConnectionState[]> = {
  disconnected: ['connecting'],
  connecting: ['connected', 'reconnecting', 'disconnected'],
  connected: ['reconnecting', 'disconnected'],
  reconnecting: ['connected', 'disconnected'],
};

/** Parameters of a request: everything but the `type` and `id` the connection fills in. */
export type RequestParams<T extends RequestType> = Omit<RequestOf<T>, 'type' | 'id'>;

export interface ConnectionEvents {
  /** `reason` names the close reason when the gateway closed the session. */
  state: { state: ConnectionState; reason?: CloseReason };
  /** Every checked event except `auth.expiring`, which the connection answers itself. */
  event: ServerEvent;
  /** Fresh ICE servers (TURN credentials) from a token refresh. */
  'ice-servers': IceServer[];
  error: ClientError;
}

export interface ConnectionOptions {
  url: string;
  getToken: () => Promise<string> | string;
  instance: string;
  platform: Platform;
  requestTimeoutMs: number;
  /** `false`: never reconnect on its own. */
  reconnect: BackoffOptions | false;
}

const ABNORMAL_CLOSURE = 1006;
const MIN_PING_INTERVAL_MS = 1_000;

interface Waiter {
  resolve: (welcome: Welcome) => void;
  reject: (error: ClientError) => void;
  promise: Promise<Welcome>;
}

function waiter(): Waiter {
  let resolve!: Waiter['resolve'];
  let reject!: Waiter['reject'];
  const promise = new Promise<Welcome>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // connect() callers get the rejection; nobody else has to handle it.
  promise.catch(() => {});
  return { resolve, reject, promise };
}

export class Connection extends Emitter<ConnectionEvents> {
  state: ConnectionState = 'disconnected';
  /** The last welcome; kept while reconnecting, cleared once disconnected. */
  welcome: Welcome | undefined;
  private socket: WebSocket | undefined;
  private pending: PendingRequests | undefined;
  /** Bumped whenever attempts under way must be abandoned (disconnect, stop). */
  private generation = 0;
  private attempt = 0;
  private freshTokenTried = false;
  private retryTimer: unknown;
  private pingTimer: unknown;
  private waiting: Waiter | undefined;

  constructor(private readonly options: ConnectionOptions) {
    super();
  }

  connect(): Promise<Welcome> {
    if (this.state === 'connected' && this.welcome) return Promise.resolve(this.welcome);
    this.waiting ??= waiter();
    if (this.state === 'disconnected') {
      this.transition('connecting');
      void this.open();
    }
    return this.waiting.promise;
  }

  disconnect(): void {
    if (this.state === 'disconnected') return;
    const socket = this.socket;
    this.forgetSocket(() => new ClientError('disconnected', 'the phone was disconnected'));
    try {
      socket?.close(1000);
    } catch {
      // Closing a socket that is already closing; nothing left to do.
    }
    this.stop(new ClientError('disconnected', 'the phone was disconnected'));
  }

  request<T extends RequestType>(type: T, params: RequestParams<T>): Promise<ResultOf<T>> {
    if (this.state !== 'connected' || !this.socket || !this.pending) {
      return Promise.reject(new ClientError('not-connected', `cannot send ${type}: not connected`));
    }
    return this.send(this.socket, this.pending, type, params);
  }

  private send<T extends RequestType>(socket: WebSocket, pending: PendingRequests, type: T, params: RequestParams<T>): Promise<ResultOf<T>> {
    const { id, reply } = pending.open<ResultOf<T>>(type, FAR_END_REQUESTS.has(type) ? FAR_END_TIMEOUT_MS : undefined);
    try {
      socket.send(JSON.stringify({ ...params, type, id } as ClientMessage));
    } catch {
      // The socket is closing: its close event rejects the request (or the timeout does).
    }
    return reply;
  }

  private async token(): Promise<string> {
    let token: unknown;
    try {
      token = await this.options.getToken();
    } catch (cause) {
      throw new ClientError('token-unavailable', 'getToken() failed', { cause });
    }
    if (typeof token !== 'string' || token === '') throw new ClientError('token-unavailable', 'getToken() returned no token');
    return token;
  }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    let token: string;
    try {
      token = await this.token();
    } catch (error) {
      if (generation !== this.generation) return;
      this.emit('error', error as ClientError);
      this.retry(ABNORMAL_CLOSURE);
      return;
    }
    if (generation !== this.generation) return;
    let socket: WebSocket;
    try {
      socket = new this.options.platform.WebSocket(this.options.url, WEBSOCKET_SUBPROTOCOL);
    } catch (cause) {
      // A malformed URL or a scheme the page may not open: retrying cannot help.
      this.stop(new ConnectionError('connection-lost', `cannot open a WebSocket to ${this.options.url}`, undefined, { cause }));
      return;
    }
    const pending = new PendingRequests(this.options.platform.timers, this.options.requestTimeoutMs);
    this.socket = socket;
    this.pending = pending;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      const { instance } = this.options;
      this.send(socket, pending, 'hello', { protocol: PROTOCOL_VERSION, token, client: { name: CLIENT_NAME, version: CLIENT_VERSION }, instance }).then(
        (welcome) => this.welcomed(socket, welcome),
        (error: ClientError) => {
          if (this.socket !== socket) return;
          // A refused hello that did not close the socket is a fault on one side or the other; retrying with
          // the same hello would be refused again. Silence is different: the network may come back.
          if (error.code === 'timeout') this.drop(socket);
          else this.stopWith(socket, error);
        },
      );
    };
    socket.onmessage = (event) => {
      if (this.socket === socket) this.receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.forgetSocket(() => new ClientError('connection-lost', 'the connection to the gateway closed'));
      this.retry(event.code);
    };
  }

  private welcomed(socket: WebSocket, welcome: Welcome): void {
    if (this.socket !== socket) return;
    this.welcome = welcome;
    this.attempt = 0;
    this.freshTokenTried = false;
    this.transition('connected');
    this.schedulePing(socket, Math.max(MIN_PING_INTERVAL_MS, welcome.pingIntervalMs));
    this.waiting?.resolve(welcome);
    this.waiting = undefined;
  }

  private receive(data: unknown): void {
    const parsed = parseServerFrame(data, (id) => this.pending?.typeOf(id));
    if (!parsed.ok) {
      this.emit('error', new ClientError('protocol-error', `dropped ${parsed.problem} from the gateway`));
      return;
    }
    const message = parsed.message;
    if ('type' in message) {
      if (this.state !== 'connected') this.emit('error', new ClientError('protocol-error', `dropped a ${message.type} event before welcome`));
      else if (message.type === 'auth.expiring') void this.refresh();
      else this.emit('event', message);
    } else if (message.id === null && !message.ok) {
      this.emit('error', new ClientError(message.error.code, `the gateway could not read a request: ${message.error.message}`));
    } else if (!this.pending?.settle(message)) {
      this.emit('error', new ClientError('protocol-error', `dropped a reply to no pending request (${message.id})`));
    }
  }

  /** Fixed-rate pings; one left unanswered means the network is gone even though the socket has not noticed. */
  private schedulePing(socket: WebSocket, intervalMs: number): void {
    this.pingTimer = this.options.platform.timers.setTimeout(() => {
      if (this.socket !== socket) return;
      this.request('ping', {}).catch((error: ClientError) => {
        if (error.code === 'timeout') this.drop(socket);
      });
      this.schedulePing(socket, intervalMs);
    }, intervalMs);
  }

  private async refresh(): Promise<void> {
    try {
      const result = await this.request('auth.refresh', { token: await this.token() });
      this.emit('ice-servers', result.iceServers);
    } catch (error) {
      // The session lives on until the old token expires; the gateway then closes with token-expired, and the
      // reconnect asks for a fresh token once more.
      this.emit('error', error instanceof ClientError ? error : new ClientError('token-unavailable', 'token refresh failed', { cause: error }));
    }
  }

  /** Gives up on a socket the client judged dead, without waiting for the browser to agree. */
  private drop(socket: WebSocket): void {
    if (this.socket !== socket) return;
    this.forgetSocket(() => new ClientError('connection-lost', 'the gateway stopped answering'));
    try {
      socket.close(1000);
    } catch {
      // Already closing.
    }
    this.retry(ABNORMAL_CLOSURE);
  }

  private forgetSocket(reason: () => ClientError): void {
    this.socket = undefined;
    this.options.platform.timers.clearTimeout(this.pingTimer);
    this.pending?.rejectAll(reason);
    this.pending = undefined;
  }

  private retry(code: number): void {
    const reason = CLOSE_REASONS[code]?.[0];
    const plan = reconnectPlan(reason, code, this.freshTokenTried);
    const reconnect = this.options.reconnect;
    if (plan.action === 'stop' || reconnect === false) {
      const message = reason ? `the gateway closed the session: ${reason}` : `the connection closed (code ${code})`;
      this.stop(new ConnectionError(reason ?? 'connection-lost', message, code), reason);
      return;
    }
    let delay = 0;
    if (plan.action === 'fresh-token') this.freshTokenTried = true;
    else delay = backoffDelay(this.attempt++, this.options.platform.random, reconnect);
    this.transition('reconnecting', reason);
    const generation = this.generation;
    this.retryTimer = this.options.platform.timers.setTimeout(() => {
      if (generation === this.generation) void this.open();
    }, delay);
  }

  private stopWith(socket: WebSocket, error: ClientError): void {
    this.forgetSocket(() => error);
    try {
      socket.close(1000);
    } catch {
      // Already closing.
    }
    this.stop(error);
  }

  private stop(error: ClientError, reason?: CloseReason): void {
    this.generation++;
    this.options.platform.timers.clearTimeout(this.retryTimer);
    this.welcome = undefined;
    this.transition('disconnected', reason);
    this.waiting?.reject(error);
    this.waiting = undefined;
  }

  private transition(to: ConnectionState, reason?: CloseReason): void {
    if (to === this.state) return;
    if (!TRANSITIONS[this.state].includes(to)) throw new ClientError('invalid-state', `connection: no transition ${this.state} → ${to}`);
    this.state = to;
    this.emit('state', reason === undefined ? { state: to } : { state: to, reason });
  }
}
