/**
 * SIP over WebSocket (RFC 7118): subprotocol 'sip', one SIP message per WebSocket message, text or binary. The
 * WebSocket layer frames, so a message that does not parse leaves the connection usable: it is answered on it.
 * Browser stacks (SIP.js, JsSIP) send a "\r\n\r\n" message as keep-alive and expect "\r\n" back, as over TCP.
 *
 * Connection handling mirrors the TCP/TLS transport: outgoing connections reused by address, responses on the
 * request's connection, idle timeout, a cap on connections (upgrades in progress included) and message size, and
 * keep-alives on connections this side opened: WebSocket ping frames (RFC 6455 §5.5.2, which every WebSocket peer
 * answers), the connection closed when one goes unanswered (RFC 5626 §4.4.1).
 */
import { createServer as httpCreateServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as httpsCreateServer } from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { SipError, SipParseError } from '../errors.js';
import { buildErrorResponse } from '../framing/error-response.js';
import { DEFAULT_FRAMER_LIMITS, type FramerLimits } from '../framing/stream-framer.js';
import { parseMessage } from '../message/parse-message.js';
import type { SipMessage } from '../message/sip-message.js';
import type { FlowKeepAlive } from '../transport/flow-keep-alive.js';
import type { SipTransport, TransportAddress } from '../transport/transport.js';
import {
  addressKey, connectionIdFactory, ConnectionTable, NodeTransport, listenServer, normalizeHost, resolvedOptions, toBytes, toPem, toPemList, transportError,
  type TransportOptions,
} from './transport-base.js';

interface Connection {
  readonly id: string;
  readonly ws: WebSocket;
  readonly remote: TransportAddress;
  readonly key: string;
  readonly ready: Promise<void>;
  idle: NodeJS.Timeout | undefined;
  /** Pings on a connection this side opened, once it is open. */
  keepAlive: FlowKeepAlive | undefined;
  announced: boolean;
  closed: boolean;
}

type Resolved = ReturnType<typeof resolvedOptions>;

export class WsTransport extends NodeTransport implements SipTransport {
  readonly protocol: 'ws' | 'wss';
  readonly reliable = true;
  private readonly options: Resolved;
  private readonly limits: FramerLimits;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly nextId: () => string;
  private readonly connections: ConnectionTable<Connection>;
  /** Raw sockets accepted by the HTTP server (upgrades in progress included), for `close()`. */
  private readonly accepted = new Set<Socket>();
  private closed: Promise<void> | undefined;

  private constructor(options: TransportOptions & { protocol: 'ws' | 'wss' }) {
    super(options.protocol, normalizeHost(options.host));
    this.protocol = options.protocol;
    this.options = resolvedOptions(options);
    this.connections = new ConnectionTable(options.protocol, this.options.maxConnections, (event) => this.deliver('connection', event));
    this.limits = { ...DEFAULT_FRAMER_LIMITS, ...options.limits };
    this.nextId = connectionIdFactory(options.protocol);
    if (options.protocol === 'wss') {
      const tls = options.tls;
      if (tls === undefined) throw new SipError('invalid-argument', 'a WSS transport needs tls.key and tls.cert');
      this.server = httpsCreateServer({
        key: toPem(tls.key), cert: toPem(tls.cert), ...(tls.ca === undefined ? {} : { ca: toPemList(tls.ca) }),
        handshakeTimeout: this.options.connectTimeout,
      });
      this.server.on('tlsClientError', () => undefined);
    } else {
      this.server = httpCreateServer();
    }
    this.server.maxConnections = this.options.maxConnections;
    this.server.headersTimeout = this.options.connectTimeout;
    this.server.requestTimeout = this.options.connectTimeout;
    this.server.on('connection', (socket: Socket) => {
      this.accepted.add(socket);
      socket.once('close', () => this.accepted.delete(socket));
      socket.on('error', () => undefined);
    });
    this.server.on('request', (_request, response) => {
      response.writeHead(426, { 'Upgrade': 'websocket', 'Connection': 'close', 'Content-Length': '0' }).end();
    });
    this.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(request, socket, head));
    this.server.on('error', (error) => this.deliver('error', { error: transportError(`${this.protocol} server error`, error) }));
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.limits.maxMessageSize,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
    });
    this.wss.on('error', () => undefined);
  }

  static async listen(options: TransportOptions & { protocol: 'ws' | 'wss' }): Promise<WsTransport> {
    const transport = new WsTransport(options);
    await transport.bind(options.port);
    return transport;
  }

  private async bind(port: number): Promise<void> {
    this.localAddress = { ...this.localAddress, port: await listenServer(this.server, this.protocol, this.localAddress.host, port) };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const path = (request.url ?? '/').split('?')[0];
    let refusal: string | undefined;
    if (this.closing || this.connections.full) refusal = '503 Service Unavailable';
    else if (path !== this.options.path) refusal = '404 Not Found';
    // RFC 7118 §4.1: the client must offer 'sip'; a handshake without it is not a SIP connection.
    else if (!offersSip(request.headers['sec-websocket-protocol'])) refusal = '400 Bad Request';
    if (refusal !== undefined) {
      socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const address = request.socket.remoteAddress;
      const port = request.socket.remotePort;
      if (this.closing || address === undefined || port === undefined) {
        ws.terminate();
        return;
      }
      const remote: TransportAddress = { protocol: this.protocol, host: normalizeHost(address), port };
      const connection = this.track(ws, remote, addressKey(remote.host, remote.port), true, Promise.resolve());
      this.connections.announce(connection);
    });
  }

  async send(message: SipMessage, destination: TransportAddress, connectionId?: string): Promise<void> {
    this.assertOpen();
    const bytes = message.serialize();
    const connection = this.connections.route(connectionId, destination, (to, key) => this.open(to, key));
    await connection.ready;
    await this.write(connection, bytes);
  }

  /** A new outbound connection to `destination` (ConnectionTable.route decides when one is needed). */
  private open(destination: TransportAddress, key: string): Connection {
    const host = normalizeHost(destination.host);
    const url = `${this.protocol}://${isIP(host) === 6 ? `[${host}]` : host}:${destination.port}${this.options.path}`;
    const tls = this.options.tls;
    const clientOptions: WebSocket.ClientOptions = {
      handshakeTimeout: this.options.connectTimeout,
      maxPayload: this.limits.maxMessageSize,
      perMessageDeflate: false,
      followRedirects: false,
    };
    const servername = destination.serverName ?? tls?.servername;
    if (this.protocol === 'wss' && tls !== undefined) {
      Object.assign(clientOptions, {
        key: toPem(tls.key), cert: toPem(tls.cert), rejectUnauthorized: tls.rejectUnauthorized ?? true,
        ...(tls.ca === undefined ? {} : { ca: toPemList(tls.ca) }),
        // Passed through to tls.connect; not in ws's option types.
        ...(servername === undefined ? {} : { servername }),
      });
    } else if (this.protocol === 'wss' && servername !== undefined) Object.assign(clientOptions, { servername });
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, ['sip'], clientOptions);
    } catch (error) {
      throw transportError(`${this.protocol}: cannot connect to ${url}`, error);
    }
    const remote: TransportAddress = { protocol: this.protocol, host, port: destination.port };
    const ready = new Promise<void>((resolve, reject) => {
      const fail = (error: unknown): void => {
        ws.terminate();
        reject(transportError(`${this.protocol}: cannot connect to ${url}`, error));
      };
      ws.once('open', () => {
        if (ws.protocol !== 'sip') fail(new Error('server did not accept the sip subprotocol'));
        else resolve();
      });
      ws.once('error', fail);
      ws.once('close', () => fail(new Error('connection closed')));
    });
    ready.catch(() => undefined);
    const connection = this.track(ws, remote, key, false, ready);
    ready.then(() => {
      this.connections.announce(connection);
      this.pingWhenOpen(connection);
    }, () => undefined);
    return connection;
  }

  private track(ws: WebSocket, remote: TransportAddress, key: string, inbound: boolean, ready: Promise<void>): Connection {
    const connection: Connection = { id: this.nextId(), ws, remote, key, ready, idle: undefined, keepAlive: undefined, announced: false, closed: false };
    this.connections.add(connection, inbound);
    connection.idle = setTimeout(() => ws.terminate(), this.options.idleTimeout);
    connection.idle.unref();
    ws.on('message', (data: RawData) => this.onMessage(connection, toBytes(data)));
    ws.on('error', () => undefined);
    ws.once('close', () => this.forget(connection));
    return connection;
  }

  /** Pings a connection this side opened, from the moment it is open (RFC 5626 §4.4.1). */
  private pingWhenOpen(connection: Connection): void {
    const times = this.options.keepAlive;
    if (times === false || connection.closed) return;
    const { id: connectionId, remote, ws } = connection;
    // Every WebSocket peer answers a ping frame (RFC 6455 §5.5.2).
    const keepAlive = this.startKeepAlive(times, 'always', connectionId, remote, () => ws.ping(undefined, undefined, () => undefined), () => ws.terminate());
    ws.on('pong', () => this.answered(keepAlive, connectionId, remote));
    connection.keepAlive = keepAlive;
  }

  private forget(connection: Connection): void {
    connection.keepAlive?.stop();
    if (this.connections.retire(connection)) clearTimeout(connection.idle);
  }

  private onMessage(connection: Connection, data: Uint8Array): void {
    if (connection.closed || this.closing) return;
    connection.idle?.refresh();
    connection.keepAlive?.alive();
    const keepAlive = crlfCount(data);
    if (keepAlive === 2) {
      this.transmit(connection, '\r\n').catch(() => undefined);
      return;
    }
    if (keepAlive > 0) return;
    const source = connection.remote;
    let message;
    try {
      message = parseMessage(data, this.limits);
    } catch (caught) {
      const error = caught instanceof SipParseError ? caught : new SipParseError('cannot parse the message', 400, undefined, caught);
      const response = buildErrorResponse(data, error);
      if (response !== null) this.write(connection, response).catch(() => undefined);
      this.deliver('invalid', { source, error });
      return;
    }
    this.deliver('message', { message, source, connectionId: connection.id });
  }

  private write(connection: Connection, bytes: Uint8Array): Promise<void> {
    // RFC 7118 §5.2: text frames carry UTF-8; anything else (a binary body) goes as a binary frame.
    return this.transmit(connection, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), !isUtf8(bytes));
  }

  private transmit(connection: Connection, data: Buffer | string, binary = false): Promise<void> {
    const { ws } = connection;
    if (connection.closed || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new SipError('transport', `${this.protocol}: connection ${connection.id} is closed`));
    }
    if (ws.bufferedAmount > this.options.maxWriteBuffer) {
      return Promise.reject(new SipError('transport', `${this.protocol}: connection ${connection.id} is not draining`));
    }
    connection.idle?.refresh();
    return new Promise((resolve, reject) => {
      ws.send(data, { binary }, (error) => {
        if (error) reject(transportError(`${this.protocol}: send on ${connection.id} failed`, error));
        else resolve();
      });
    });
  }

  close(): Promise<void> {
    if (this.closed !== undefined) return this.closed;
    this.closing = true;
    const waits: Promise<void>[] = [];
    for (const connection of this.connections.values()) {
      const { ws } = connection;
      waits.push(new Promise((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) resolve();
        else ws.once('close', () => resolve());
        ws.terminate();
      }));
    }
    for (const socket of this.accepted) socket.destroy();
    waits.push(new Promise((resolve) => this.server.close(() => resolve())));
    this.server.closeAllConnections();
    this.wss.close();
    this.closed = Promise.all(waits).then(() => undefined);
    return this.closed;
  }
}

function offersSip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const list = Array.isArray(header) ? header.join(',') : header;
  // Subprotocol names compare case-sensitively (RFC 6455 §4.1); the registered one is 'sip'.
  return list.split(',').some((name) => name.trim() === 'sip');
}

/** 2 for "\r\n\r\n" (ping), 1 for "\r\n" (pong), 0 for anything else. */
function crlfCount(data: Uint8Array): number {
  if (data.length === 2 && data[0] === 13 && data[1] === 10) return 1;
  if (data.length === 4 && data[0] === 13 && data[1] === 10 && data[2] === 13 && data[3] === 10) return 2;
  return 0;
}
