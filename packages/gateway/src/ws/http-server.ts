/**
 * The gateway's HTTP face: `GET /healthz` for load balancers and the browser WebSocket at `/ws`. The WebSocket is
 * taken over from fastify's HTTP server on 'upgrade', so fastify's routing, hooks and request logs never see it
 * (request logs would print the URL, and careless clients put tokens there).
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_FRAME_BYTES, WEBSOCKET_SUBPROTOCOL, type CloseReason } from '@switchboard/protocol';
import { systemClock, type Clock } from '@switchboard/sip';
import { resolveLimits, type SessionLimits } from './limits.js';
import { pathOnly } from './logging.js';
import type { OperatorDirectory, SessionInfoProvider, TokenVerifier } from './ports.js';
import { SessionRegistry, type SessionHandle } from './registry.js';
import { Session, type RequestHandler } from './session.js';

export const WEBSOCKET_PATH = '/ws';

export interface HttpServerOptions {
  /** Interface to listen on; a loopback address unless a reverse proxy is not in front. */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  verifier: TokenVerifier;
  directory: OperatorDirectory;
  logger: Logger;
  limits?: Partial<SessionLimits>;
  /** Call requests (`call.*`); without it they are answered `not-supported`. */
  onRequest?: RequestHandler;
  onSessionOpened?: (session: SessionHandle) => void;
  onSessionClosed?: (session: SessionHandle, reason: CloseReason | undefined) => void;
  /** ICE servers, line state and calls for `welcome`; defaults: none, `unregistered`, none. */
  sessionInfo?: SessionInfoProvider;
  /** Epoch-ms clock for timers and `serverTime`; tests inject a manual one. */
  clock?: Clock;
}

export interface GatewayHttpServer {
  readonly app: FastifyInstance;
  readonly registry: SessionRegistry;
  readonly limits: SessionLimits;
  /** Starts listening; resolves with the bound address (the real port when 0 was asked). */
  listen(): Promise<{ host: string; port: number }>;
  /** Closes every connection with `server-shutdown`, waits for them (bounded), then stops listening. Idempotent. */
  close(): Promise<void>;
}

/** Query parameter names that look like credentials. Matching loosely costs nothing and catches `access_token`. */
const CREDENTIAL_PARAM = /token|jwt|auth|key|secret|password/i;

function hasCredentialInQuery(url: URL): boolean {
  for (const name of url.searchParams.keys()) if (CREDENTIAL_PARAM.test(name)) return true;
  return false;
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  const body = `${text}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export function createHttpServer(options: HttpServerOptions): GatewayHttpServer {
  const limits = resolveLimits(options.limits);
  const clock = options.clock ?? systemClock;
  const logger = options.logger.child({ component: 'ws' });
  const registry = new SessionRegistry(limits.maxSessionsPerOperator);
  const connections = new Set<Session>();
  const startedAt = Date.now();
  let stopping = false;
  let closing: Promise<void> | undefined;

  // Request logging off: fastify would log every URL, query included. Errors are still logged.
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }),
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;

  app.get('/healthz', async (_request, reply) => {
    // Counts only: no operator ids, versions or configuration, since /healthz is usually reachable unauthenticated.
    return reply.code(stopping ? 503 : 200).send({
      status: stopping ? 'stopping' : 'ok',
      uptimeMs: Date.now() - startedAt,
      connections: connections.size,
      sessions: registry.size,
      operators: registry.operatorCount,
    });
  });

  const wss = new WebSocketServer({
    noServer: true,
    // The protocol's ceiling. A deployment's lower `maxFrameBytes` is enforced by the parser with a `too-large`
    // reply; beyond this ceiling ws stops reading and closes with 1009 (Message Too Big) on its own.
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(WEBSOCKET_SUBPROTOCOL) ? WEBSOCKET_SUBPROTOCOL : false),
  });

  function accept(socket: WebSocket, request: IncomingMessage, credentialInUrl: boolean): void {
    const remote = `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}`;
    const session = new Session(
      socket,
      {
        verifier: options.verifier,
        directory: options.directory,
        registry,
        limits,
        clock,
        logger,
        info: options.sessionInfo ?? {},
        onRequest: options.onRequest,
        onSessionOpened: options.onSessionOpened,
        onSessionClosed: options.onSessionClosed,
      },
      remote,
    );
    connections.add(session);
    void session.whenClosed().then(() => connections.delete(session));
    if (stopping) session.close('server-shutdown');
    // Upgraded and then closed, rather than refused with an HTTP status a browser never shows: the close code
    // tells the developer what is wrong. Whatever was in the URL is not logged.
    else if (credentialInUrl) {
      logger.warn({ sessionId: session.id, remote }, 'credentials in the WebSocket URL refused; send the token in hello');
      session.close('protocol-violation');
    }
  }

  // Made out here: a listener created inside the upgrade handler would share its closure context, and through it
  // keep every session's upgrade request alive for as long as the socket lives.
  const onUpgradeSocketError = (error: Error): void => void logger.debug({ err: error }, 'upgrade socket error');

  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', onUpgradeSocketError);
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://gateway.invalid');
    } catch {
      refuseUpgrade(socket, 400, 'Bad Request');
      return;
    }
    if (url.pathname !== WEBSOCKET_PATH) {
      logger.debug({ path: pathOnly(request.url) }, 'upgrade for an unknown path');
      refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    if (stopping) {
      refuseUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    const credentialInUrl = hasCredentialInQuery(url);
    wss.handleUpgrade(request, socket, head, (ws) => accept(ws, request, credentialInUrl));
  });

  async function close(): Promise<void> {
    stopping = true;
    const open = [...connections];
    for (const session of open) session.close('server-shutdown');
    const allClosed = Promise.all(open.map((s) => s.whenClosed()));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), limits.closeGraceMs);
    });
    if ((await Promise.race([allClosed, grace])) === 'timeout') {
      for (const session of connections) session.terminate();
      await allClosed;
    }
    clearTimeout(timer);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await app.close();
    logger.info('http server closed');
  }

  return {
    app,
    registry,
    limits,
    async listen() {
      await app.listen({ host: options.host, port: options.port });
      const address = app.server.address() as AddressInfo;
      logger.info({ host: address.address, port: address.port }, 'listening');
      return { host: address.address, port: address.port };
    },
    close() {
      closing ??= close();
      return closing;
    },
  };
}
