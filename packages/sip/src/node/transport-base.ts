/**
 * What the Node transports share: options and their defaults, address normalisation, and event delivery that
 * never lets a throwing listener unwind into a socket callback (where it would become an uncaught exception).
 */
import { isIP, type Server } from 'node:net';
import { SipError } from '../errors.js';
import type { FramerLimits } from '../framing/stream-framer.js';
import { cryptoRandom } from '../clock.js';
import { FlowKeepAlive, keepAliveTimes, type FlowKeepAliveOptions, type PongExpectation } from '../transport/flow-keep-alive.js';
import type { TransportAddress, TransportEvents, TransportProtocol } from '../transport/transport.js';
import { TypedEmitter } from '../typed-emitter.js';

export interface TransportTlsOptions {
  /** PEM private key and certificate this side presents (server certificate; client certificate if asked). */
  key: string | Uint8Array;
  cert: string | Uint8Array;
  /** Trusted CAs for verifying peers; the system store when absent. */
  ca?: string | Uint8Array | (string | Uint8Array)[];
  /** Verify the server's certificate on outgoing connections. Default true. */
  rejectUnauthorized?: boolean;
  /** Name to verify (and send as SNI) on outgoing connections instead of the destination host. */
  servername?: string;
}

export interface TransportOptions {
  protocol: TransportProtocol;
  /** Address to bind: an IPv4 or IPv6 literal ('0.0.0.0', '::', '127.0.0.1', '::1'). */
  host: string;
  /** Port to bind; 0 picks a free one (read it back from `local`). */
  port: number;
  /** Required for 'tls' and 'wss'. */
  tls?: TransportTlsOptions;
  /** Size limits for incoming messages. */
  limits?: Partial<FramerLimits>;
  /** Connections open at once, inbound and outbound together (streams). Default 1024. */
  maxConnections?: number;
  /**
   * A connection with no traffic either way for this long is closed, ms. Default 300000. Keep-alives this side sends,
   * and the answers to them, are not traffic: they keep a flow in use alive, not an unused one open.
   */
  idleTimeout?: number;
  /**
   * Keep-alives on connections this side opens (TCP, TLS: CRLF pings; WS, WSS: WebSocket pings), RFC 5626 §4.4.1:
   * a ping every 80-100 % of `intervalMs` (default 120000), and a connection whose ping has no answer within
   * `pongTimeoutMs` (default 10000) is closed. `false` sends none. Pings from the peer are answered either way.
   */
  keepAlive?: FlowKeepAliveOptions | false;
  /** Limit for opening a connection, TLS and WebSocket handshakes included, ms. Default 10000. */
  connectTimeout?: number;
  /** Bytes queued unsent on one connection beyond which `send` rejects (a peer that stopped reading). Default 1 MiB. */
  maxWriteBuffer?: number;
  /** WebSocket: the path served, and requested on outgoing connections. Default '/'. */
  path?: string;
  /**
   * UDP: the socket's receive buffer, bytes (SO_RCVBUF; the kernel caps it at net.core.rmem_max). Default 2 MiB:
   * the usual 208 KiB holds a few hundred datagrams, which a burst of phones re-registering after an outage, or
   * a pause of the event loop at a few thousand requests a second, overflows, and every datagram dropped costs
   * its sender a retransmission 500 ms later.
   */
  receiveBufferBytes?: number;
}

export const DEFAULT_UDP_RECEIVE_BUFFER_BYTES = 2 * 1024 * 1024;

export const DEFAULT_MAX_CONNECTIONS = 1024;
export const DEFAULT_IDLE_TIMEOUT = 300_000;
export const DEFAULT_CONNECT_TIMEOUT = 10_000;
export const DEFAULT_MAX_WRITE_BUFFER = 1 << 20;

/** Keep-alive answer (RFC 5626 §4.4.1). */
export const CRLF = new Uint8Array([13, 10]);
/** Keep-alive ping over TCP and TLS (RFC 5626 §4.4.1). */
export const CRLF_CRLF = new Uint8Array([13, 10, 13, 10]);

export abstract class NodeTransport extends TypedEmitter<TransportEvents> {
  abstract readonly protocol: TransportProtocol;
  abstract readonly reliable: boolean;
  protected closing = false;
  protected localAddress: TransportAddress;

  protected constructor(protocol: TransportProtocol, host: string) {
    super();
    this.localAddress = { protocol, host, port: 0 };
  }

  get local(): TransportAddress {
    return this.localAddress;
  }

  /** Emits; a listener that throws is reported as an `error` event instead of escaping into Node's callbacks. */
  protected deliver<K extends keyof TransportEvents & string>(event: K, payload: TransportEvents[K]): void {
    try {
      this.emit(event, payload);
    } catch (error) {
      if (event === 'error') return;
      try {
        this.emit('error', { error: new SipError('transport', `a '${event}' listener threw`, { cause: error }) });
      } catch {
        // An error listener that throws has nowhere left to report to.
      }
    }
  }

  /**
   * Starts the keep-alives of a connection this side opened (RFC 5626 §4.4.1): `ping` sends one; when one goes
   * unanswered the failure is reported and `close` ends the connection. Answers go to `answered`.
   */
  protected startKeepAlive(
    times: Required<FlowKeepAliveOptions>, expectPong: PongExpectation, connectionId: string, remote: TransportAddress,
    ping: () => void, close: () => void,
  ): FlowKeepAlive {
    const keepAlive = new FlowKeepAlive(times, expectPong, cryptoRandom, {
      ping,
      failed: () => {
        this.deliver('keep-alive', { connectionId, remote, outcome: 'no-pong' });
        close();
      },
    });
    keepAlive.start();
    return keepAlive;
  }

  /** A pong came on a connection: reported when it answers the ping `keepAlive` awaited, which it then returns true for. */
  protected answered(keepAlive: FlowKeepAlive | undefined, connectionId: string, remote: TransportAddress): boolean {
    if (keepAlive?.pong() !== true) return false;
    this.deliver('keep-alive', { connectionId, remote, outcome: 'pong' });
    return true;
  }

  protected assertOpen(): void {
    if (this.closing) throw new SipError('transport', `${this.protocol} transport is closed`);
  }
}

/** Host as reported in addresses: no brackets, IPv4-mapped IPv6 ('::ffff:1.2.3.4') as plain IPv4, lower case. */
export function normalizeHost(host: string): string {
  let h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  h = h.toLowerCase();
  if (h.startsWith('::ffff:') && isIP(h.slice(7)) === 4) h = h.slice(7);
  return h;
}

/** Key under which connections to one remote address are found again. */
export function addressKey(host: string, port: number): string {
  return `${normalizeHost(host)}|${port}`;
}

export function checkDestination(destination: TransportAddress): void {
  const { port, host } = destination;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SipError('transport', `invalid destination port ${port}`);
  if (typeof host !== 'string' || host.length === 0) throw new SipError('transport', 'destination without a host');
}

export function transportError(message: string, cause?: unknown): SipError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new SipError('transport', message + detail, cause === undefined ? {} : { cause });
}

/** A plain Uint8Array view: Buffer's own slice() shares memory, and the parser relies on slice() copying. */
export function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  const buffer = Array.isArray(data) ? Buffer.concat(data) : data;
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

let nextInstance = 1;

/** Connection ids unique across every transport in the process: `tcp-2-15`. */
export function connectionIdFactory(protocol: TransportProtocol): () => string {
  const instance = nextInstance++;
  let seq = 0;
  return () => `${protocol}-${instance}-${++seq}`;
}

export function resolvedOptions(options: TransportOptions): Required<Omit<TransportOptions, 'tls' | 'limits' | 'keepAlive'>> & Pick<TransportOptions, 'tls' | 'limits'> & { keepAlive: Required<FlowKeepAliveOptions> | false } {
  return {
    ...options,
    keepAlive: options.keepAlive === false ? false : keepAliveTimes(options.keepAlive),
    maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    idleTimeout: options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT,
    connectTimeout: options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT,
    maxWriteBuffer: options.maxWriteBuffer ?? DEFAULT_MAX_WRITE_BUFFER,
    path: options.path ?? '/',
    receiveBufferBytes: options.receiveBufferBytes ?? DEFAULT_UDP_RECEIVE_BUFFER_BYTES,
  };
}

export function toPem(value: string | Uint8Array): string | Buffer {
  return typeof value === 'string' ? value : Buffer.from(value);
}

export function toPemList(value: string | Uint8Array | (string | Uint8Array)[]): (string | Buffer)[] {
  return (Array.isArray(value) ? value : [value]).map(toPem);
}

/** Starts a TCP, TLS or HTTP(S) server on host:port (0 for any free port) and resolves with the bound port. */
export function listenServer(server: Server, protocol: TransportProtocol, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(transportError(`cannot listen on ${protocol} ${host}:${port}`, error));
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(address !== null && typeof address === 'object' ? address.port : port);
    });
  });
}

/**
 * The open connections of a stream transport (TCP, TLS, WS, WSS), by id and by remote address, so that a request to
 * an address already connected reuses that connection (RFC 3261 §18.1.1) and a response goes back on the request's.
 */
export class ConnectionTable<C extends TrackedConnection> {
  private readonly byId = new Map<string, C>();
  private readonly byKey = new Map<string, C>();

  /** `report` receives the transport's `connection` events: open once a connection is usable, closed after that. */
  constructor(
    private readonly protocol: TransportProtocol,
    private readonly max: number,
    private readonly report: (event: TransportEvents['connection']) => void,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  get full(): boolean {
    return this.byId.size >= this.max;
  }

  values(): IterableIterator<C> {
    return this.byId.values();
  }

  /** The open connection with this id, if any. */
  get(connectionId: string | undefined): C | undefined {
    const connection = connectionId === undefined ? undefined : this.byId.get(connectionId);
    return connection === undefined || connection.closed ? undefined : connection;
  }

  /** An open connection to this address, to reuse. */
  toAddress(key: string): C | undefined {
    const connection = this.byKey.get(key);
    return connection === undefined || connection.closed ? undefined : connection;
  }

  /**
   * The connection a message goes out on: the named one while it is open, else an open one to the destination, else a
   * new one from `open` (which must `add` it), within the limit.
   */
  route(connectionId: string | undefined, destination: TransportAddress, open: (destination: TransportAddress, key: string) => C): C {
    const named = this.get(connectionId);
    if (named !== undefined) return named;
    checkDestination(destination);
    // A connection whose certificate was checked for one name is not reused for another.
    const key = addressKey(destination.host, destination.port) + (destination.serverName === undefined ? '' : `|${destination.serverName}`);
    const existing = this.toAddress(key);
    if (existing !== undefined) return existing;
    if (this.full) throw new SipError('transport', `${this.protocol}: ${this.max} connections already open`);
    return open(destination, key);
  }

  add(connection: C, inbound: boolean): void {
    this.byId.set(connection.id, connection);
    // Outbound connections own their destination's key; an inbound one is found by its address only if none does.
    if (!inbound || !this.byKey.has(connection.key)) this.byKey.set(connection.key, connection);
  }

  /** Reports the connection open, once, unless it closed first. */
  announce(connection: C): void {
    if (connection.closed || connection.announced) return;
    connection.announced = true;
    this.report({ connectionId: connection.id, remote: connection.remote, state: 'open' });
  }

  /** Marks the connection closed, drops it and reports it closed if it was reported open. False if it already was. */
  retire(connection: C): boolean {
    if (connection.closed) return false;
    connection.closed = true;
    this.byId.delete(connection.id);
    if (this.byKey.get(connection.key) === connection) this.byKey.delete(connection.key);
    if (connection.announced) this.report({ connectionId: connection.id, remote: connection.remote, state: 'closed' });
    return true;
  }
}

/** What the table needs of a transport's connection. */
export interface TrackedConnection {
  readonly id: string;
  readonly key: string;
  readonly remote: TransportAddress;
  announced: boolean;
  closed: boolean;
}
