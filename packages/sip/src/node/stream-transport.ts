/**
 * SIP over TCP and TLS (RFC 3261 §18, RFC 5626 §4.4.1). Every connection, inbound or outbound, gets its own
 * framer. Outgoing connections are kept by remote address and reused; a response goes back on the connection
 * its request came in on (named by `connectionId`), and only when that one has gone is a new one opened to the
 * destination given (RFC 3261 §18.2.2). A stream that cannot be framed is closed, since where the next message
 * starts is unknown; a message that frames but does not parse is answered on the same connection.
 *
 * Bounded: connections (inbound and outbound together, TLS handshakes in progress included), time to connect or
 * handshake, time without traffic, bytes queued for a slow reader, and message sizes through the framer.
 *
 * A connection this side opened is pinged (CRLF CRLF, RFC 5626 §4.4.1, flow-keep-alive.ts) and closed when a ping
 * goes unanswered; its pings and their pongs do not count as traffic for the idle timeout.
 */
import { connect as netConnect, createServer as netCreateServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as tlsCreateServer, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { SipError } from '../errors.js';
import { buildErrorResponse } from '../framing/error-response.js';
import { StreamFramer, type FramerLimits } from '../framing/stream-framer.js';
import type { SipMessage } from '../message/sip-message.js';
import type { FlowKeepAlive } from '../transport/flow-keep-alive.js';
import type { SipTransport, TransportAddress } from '../transport/transport.js';
import {
  addressKey, connectionIdFactory, CRLF, CRLF_CRLF, ConnectionTable, NodeTransport, listenServer, normalizeHost, resolvedOptions, toPem, toPemList, transportError,
  type TransportOptions,
} from './transport-base.js';

interface Connection {
  readonly id: string;
  readonly socket: Socket;
  readonly framer: StreamFramer;
  readonly remote: TransportAddress;
  readonly key: string;
  readonly inbound: boolean;
  /** Settles once connected (and, for TLS, after the handshake). */
  readonly ready: Promise<void>;
  /** Closes the connection after `idleTimeout` without traffic; refreshed by traffic. */
  readonly idle: NodeJS.Timeout;
  /** Pings on a connection this side opened, once it is usable. */
  keepAlive: FlowKeepAlive | undefined;
  announced: boolean;
  closed: boolean;
}

type Resolved = ReturnType<typeof resolvedOptions>;

export class StreamTransport extends NodeTransport implements SipTransport {
  readonly protocol: 'tcp' | 'tls';
  readonly reliable = true;
  private readonly options: Resolved;
  private readonly limits: Partial<FramerLimits>;
  private readonly server: Server;
  private readonly nextId: () => string;
  private readonly connections: ConnectionTable<Connection>;
  /** Every accepted socket, TLS handshakes in progress included, so `close()` can end them all. */
  private readonly accepted = new Set<Socket>();
  private closed: Promise<void> | undefined;

  private constructor(options: TransportOptions & { protocol: 'tcp' | 'tls' }) {
    super(options.protocol, normalizeHost(options.host));
    this.protocol = options.protocol;
    this.options = resolvedOptions(options);
    this.connections = new ConnectionTable(options.protocol, this.options.maxConnections, (event) => this.deliver('connection', event));
    this.limits = options.limits ?? {};
    this.nextId = connectionIdFactory(options.protocol);
    if (options.protocol === 'tls') {
      const tls = options.tls;
      if (tls === undefined) throw new SipError('invalid-argument', 'a TLS transport needs tls.key and tls.cert');
      this.server = tlsCreateServer({
        key: toPem(tls.key), cert: toPem(tls.cert), ...(tls.ca === undefined ? {} : { ca: toPemList(tls.ca) }),
        handshakeTimeout: this.options.connectTimeout,
      });
      this.server.on('secureConnection', (socket: TLSSocket) => this.adopt(socket));
      // Failed handshakes destroy their socket; there is nothing more to do than not crash.
      this.server.on('tlsClientError', () => undefined);
    } else {
      this.server = netCreateServer((socket) => this.adopt(socket));
    }
    this.server.maxConnections = this.options.maxConnections;
    this.server.on('connection', (socket: Socket) => {
      this.accepted.add(socket);
      socket.once('close', () => this.accepted.delete(socket));
      socket.on('error', () => undefined);
    });
    this.server.on('error', (error) => this.deliver('error', { error: transportError(`${this.protocol} server error`, error) }));
  }

  static async listen(options: TransportOptions & { protocol: 'tcp' | 'tls' }): Promise<StreamTransport> {
    const transport = new StreamTransport(options);
    await transport.bind(options.port);
    return transport;
  }

  private async bind(port: number): Promise<void> {
    this.localAddress = { ...this.localAddress, port: await listenServer(this.server, this.protocol, this.localAddress.host, port) };
  }

  /** Open connections, inbound and outbound. */
  get connectionCount(): number {
    return this.connections.size;
  }

  async send(message: SipMessage, destination: TransportAddress, connectionId?: string): Promise<void> {
    this.assertOpen();
    const bytes = message.serialize();
    const connection = this.connections.route(connectionId, destination, (to, key) => this.open(to, key));
    await connection.ready;
    connection.idle.refresh();
    await this.write(connection, bytes);
  }

  /** A new outbound connection to `destination` (ConnectionTable.route decides when one is needed). */
  private open(destination: TransportAddress, key: string): Connection {
    const host = normalizeHost(destination.host);
    const port = destination.port;
    const readyEvent = this.protocol === 'tls' ? 'secureConnect' : 'connect';
    let socket: Socket;
    try {
      socket = this.openSocket(host, port, destination.serverName);
    } catch (error) {
      throw transportError(`${this.protocol}: cannot connect to ${host}:${port}`, error);
    }
    const remote: TransportAddress = { protocol: this.protocol, host, port };
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy(new SipError('transport', `${this.protocol}: connecting to ${host}:${port} timed out`));
      }, this.options.connectTimeout);
      const settle = (error?: Error): void => {
        clearTimeout(timer);
        socket.off(readyEvent, onReady);
        socket.off('error', settle);
        socket.off('close', onClose);
        if (error === undefined) resolve();
        else reject(transportError(`${this.protocol}: cannot connect to ${host}:${port}`, error));
      };
      const onReady = (): void => settle();
      const onClose = (): void => settle(new Error('connection closed'));
      socket.once(readyEvent, onReady);
      socket.once('error', settle);
      socket.once('close', onClose);
    });
    // A send that gives up on `ready` reports the failure; nobody else may be listening.
    ready.catch(() => undefined);
    const connection = this.track(socket, remote, key, false, ready);
    ready.then(() => {
      this.connections.announce(connection);
      this.pingWhenReady(connection);
    }, () => undefined);
    return connection;
  }

  private openSocket(host: string, port: number, serverName: string | undefined): Socket {
    if (this.protocol === 'tcp') return netConnect({ host, port });
    const tls = this.options.tls!;
    const servername = serverName ?? tls.servername ?? (isIP(host) === 0 ? host : undefined);
    return tlsConnect({
      host, port, key: toPem(tls.key), cert: toPem(tls.cert),
      ...(tls.ca === undefined ? {} : { ca: toPemList(tls.ca) }),
      ...(servername === undefined ? {} : { servername }),
      rejectUnauthorized: tls.rejectUnauthorized ?? true,
    });
  }

  private adopt(socket: Socket): void {
    if (this.closing || socket.remoteAddress === undefined || socket.remotePort === undefined) {
      socket.destroy();
      return;
    }
    if (this.connections.full) {
      socket.destroy();
      return;
    }
    const remote: TransportAddress = { protocol: this.protocol, host: normalizeHost(socket.remoteAddress), port: socket.remotePort };
    const connection = this.track(socket, remote, addressKey(remote.host, remote.port), true, Promise.resolve());
    this.connections.announce(connection);
  }

  private track(socket: Socket, remote: TransportAddress, key: string, inbound: boolean, ready: Promise<void>): Connection {
    const idle = setTimeout(() => socket.destroy(), this.options.idleTimeout);
    idle.unref();
    const connection: Connection = {
      id: this.nextId(), socket, framer: new StreamFramer(this.limits), remote, key, inbound, ready, idle,
      keepAlive: undefined, announced: false, closed: false,
    };
    this.connections.add(connection, inbound);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => this.onData(connection, chunk));
    socket.on('error', () => undefined);
    socket.once('close', () => this.forget(connection));
    return connection;
  }

  /** Pings a connection this side opened, from the moment it is usable (RFC 5626 §4.4.1). */
  private pingWhenReady(connection: Connection): void {
    const times = this.options.keepAlive;
    if (times === false || connection.closed) return;
    // A SIP peer without RFC 5626 need only skip CRLFs (RFC 3261 §7.5): silence says it is dead once it has answered.
    connection.keepAlive = this.startKeepAlive(times, 'once-answered', connection.id, connection.remote, () => {
      // A CRLF held from before the ping (a stray one, RFC 3261 §7.5) is not its answer: dropped, so that the next
      // bytes do not make it one.
      connection.framer.takeHeldPong();
      this.write(connection, CRLF_CRLF).catch(() => undefined);
    }, () => connection.socket.destroy());
  }

  private forget(connection: Connection): void {
    clearTimeout(connection.idle);
    connection.keepAlive?.stop();
    if (this.connections.retire(connection)) connection.framer.close();
  }

  private onData(connection: Connection, chunk: Buffer): void {
    if (connection.closed) return;
    const { remote: source, id: connectionId } = connection;
    // For the idle timeout and as a sign of life, traffic is anything but the pong to our own ping.
    let traffic = false;
    for (const item of connection.framer.push(chunk)) {
      if (connection.closed || this.closing) return;
      if (item.type === 'pong' && this.answered(connection.keepAlive, connectionId, source)) continue;
      traffic = true;
      switch (item.type) {
        case 'message':
          this.deliver('message', { message: item.message, source, connectionId });
          break;
        case 'invalid': {
          const response = buildErrorResponse(item.raw, item.error);
          if (response !== null) this.write(connection, response).catch(() => undefined);
          this.deliver('invalid', { source, error: item.error });
          break;
        }
        case 'ping':
          this.write(connection, CRLF).catch(() => undefined);
          break;
        case 'pong':
          break;
        case 'error':
          connection.socket.destroy();
          this.deliver('invalid', { source, error: item.error });
          break;
      }
    }
    if (connection.closed) return;
    const awaiting = connection.keepAlive?.state === 'awaiting-pong';
    if (awaiting && connection.framer.takeHeldPong()) this.answered(connection.keepAlive, connectionId, source);
    // Held: part of a message, or a CRLF that answers nothing of ours (a peer's own keep-alive, or half of one); but
    // not a CR while our pong is awaited, which may be its first half.
    else if (connection.framer.buffered > 0 && !(awaiting && connection.framer.holdsLoneCr())) traffic = true;
    if (traffic) {
      connection.idle.refresh();
      connection.keepAlive?.alive();
    }
  }

  private write(connection: Connection, bytes: Uint8Array): Promise<void> {
    const { socket } = connection;
    if (connection.closed || socket.destroyed || !socket.writable) {
      return Promise.reject(new SipError('transport', `${this.protocol}: connection ${connection.id} is closed`));
    }
    if (socket.writableLength > this.options.maxWriteBuffer) {
      return Promise.reject(new SipError('transport', `${this.protocol}: connection ${connection.id} is not draining`));
    }
    return new Promise((resolve, reject) => {
      socket.write(bytes, (error) => {
        if (error) reject(transportError(`${this.protocol}: write on ${connection.id} failed`, error));
        else resolve();
      });
    });
  }

  close(): Promise<void> {
    if (this.closed !== undefined) return this.closed;
    this.closing = true;
    const sockets = new Set<Socket>([...this.accepted, ...[...this.connections.values()].map((c) => c.socket)]);
    const waits = [...sockets].map((socket) => new Promise<void>((resolve) => {
      if (socket.closed) resolve();
      else socket.once('close', () => resolve());
      socket.destroy();
    }));
    waits.push(new Promise<void>((resolve) => this.server.close(() => resolve())));
    this.closed = Promise.all(waits).then(() => undefined);
    return this.closed;
  }
}
