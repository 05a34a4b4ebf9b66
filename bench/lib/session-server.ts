/**
 * The server side of gateway-sessions.bench.ts, one subject per process (forked with --expose-gc) so its memory is
 * measured alone: `gateway` is the real gateway from packages/gateway/dist, `floor` a bare `ws` server doing the
 * least any WebSocket gateway must do for the same traffic. The parent talks to it over IPC: `ready` with the port
 * once listening, then a `sample` (memory after forced GC, CPU time) per request, until `exit`.
 *
 * Arguments: gateway <data-dir> <database-file> <messages-per-second>
 *            floor
 */
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
// Free for both TCP and UDP, since the gateway's SIP listener takes the same port for both.
import { freePort } from '../../test/e2e/support/ports.js';
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, WEBSOCKET_SUBPROTOCOL, type CallFeatures } from '@switchboard/protocol';
import { OPERATOR_PREFIX, extensionOf } from './session-fixtures.js';

export type Subject = 'gateway' | 'floor';

export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface ServerSample {
  memory: MemorySample;
  /** CPU time of the whole process (all threads) since it started, in microseconds. */
  cpuMicros: number;
  /** Authenticated sessions the floor holds; undefined for the gateway, whose count the parent reads from /healthz. */
  sessions: number | undefined;
  /** Event-loop delay since the previous sample, in ms: how long a frame could wait for the server's only thread. */
  loopDelay: { p50: number; p99: number; max: number };
}

/** Child to parent. */
export type ServerMessage =
  | { type: 'ready'; port: number; startMs: number }
  | { type: 'sample'; sample: ServerSample }
  | { type: 'error'; error: string };

/** Parent to child. */
export type ServerRequest = { type: 'sample'; gc: boolean } | { type: 'exit' };

/** Browser-to-browser calls: what the gateway's LOCAL_CALL_FEATURES says (keep the two alike). */
const LOCAL_FEATURES: CallFeatures = { dtmf: 'none', transfer: false };

const gc = (globalThis as { gc?: () => void }).gc;

async function settledGc(): Promise<void> {
  if (gc === undefined) throw new Error('run with --expose-gc');
  // Twice, with a turn of the event loop between: weak callbacks and finalizers queued by the first collection
  // release their memory only in the second. Then a pause, so V8's sweeper threads have handed emptied pages
  // back to the system before RSS is read.
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  await new Promise((resolve) => setTimeout(resolve, 250));
}


interface Running {
  port: number;
  sessions(): number | undefined;
  close(): Promise<void>;
}

async function startGateway(dataDir: string, databaseFile: string, messagesPerSecond: number): Promise<Running> {
  const { demoConfig, start } = await import('@switchboard/gateway');
  for (let attempt = 0; ; attempt++) {
    const config = demoConfig({
      dataDir,
      overrides: {
        http: { host: '127.0.0.1', port: await freePort() },
        sip: { host: '127.0.0.1', port: await freePort() },
        database: { kind: 'sqlite', file: databaseFile },
        // Every session open and call would otherwise write a log line; what is measured is the gateway's own work.
        logging: { level: 'warn' },
        limits: { messagesPerSecond },
      },
    });
    try {
      const gateway = await start(config);
      return { port: gateway.http.port, sessions: () => undefined, close: () => gateway.close() };
    } catch (error) {
      // Another process may take a probed port before the gateway binds it.
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw error;
    }
  }
}

/**
 * The floor: what a WebSocket server on Node with `ws` costs for the same frames, and nothing else. Same `ws`
 * options as the gateway; the token is decoded but not verified, there is no store, no schema check and no call
 * state beyond who to forward to. Every request gets the reply and events the gateway would send, of about the
 * same size, so the load client cannot tell the two apart.
 */
async function startFloor(): Promise<Running> {
  interface Conn {
    ws: WebSocket;
    operatorId: string;
    extension: string;
  }
  const byExtension = new Map<string, Conn>();
  interface FloorCall {
    id: string;
    caller: Conn;
    callee: Conn;
  }
  const calls = new Map<string, FloorCall>();
  let nextCall = 0;
  let nextSession = 0;

  const send = (ws: WebSocket, message: unknown): void => ws.send(JSON.stringify(message));
  const party = (conn: Conn) => ({ number: conn.extension, name: `Bench Operator ${conn.extension}` });

  function onHello(ws: WebSocket, message: { id: string; token: string }): Conn | undefined {
    const payload = message.token.split('.')[1];
    const sub = payload === undefined ? undefined : (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: string; exp?: number }).sub;
    if (sub === undefined || !sub.startsWith(OPERATOR_PREFIX)) {
      ws.close(4001, 'token-invalid');
      return undefined;
    }
    const conn: Conn = { ws, operatorId: sub, extension: extensionOf(sub) };
    byExtension.set(conn.extension, conn);
    const now = Date.now();
    send(ws, {
      id: message.id,
      ok: true,
      result: {
        protocol: PROTOCOL_VERSION,
        sessionId: `s-${(++nextSession).toString(16).padStart(32, '0')}`,
        operator: { id: conn.operatorId, name: `Bench Operator ${conn.extension}`, extension: conn.extension },
        serverTime: now,
        tokenExpiresAt: now + 3_600_000,
        pingIntervalMs: 25_000,
        maxFrameBytes: MAX_FRAME_BYTES,
        iceServers: [],
        line: { state: 'unregistered' },
        calls: [],
      },
    });
    return conn;
  }

  function onRequest(conn: Conn, message: { type: string; id: string; target?: string; callId?: string; sdp?: string }): void {
    const now = Date.now();
    switch (message.type) {
      case 'call.start': {
        const callee = byExtension.get(message.target ?? '');
        const callId = `c-${(++nextCall).toString(16).padStart(32, '0')}`;
        send(conn.ws, { id: message.id, ok: true, result: { callId } });
        if (callee === undefined) {
          send(conn.ws, { type: 'call.ended', callId, cause: 'unavailable', sipStatus: 480, endedAt: now });
          return;
        }
        calls.set(callId, { id: callId, caller: conn, callee });
        send(callee.ws, { type: 'call.incoming', callId, from: party(conn), to: party(callee), sdp: message.sdp, receivedAt: now });
        send(conn.ws, { type: 'call.ringing', callId });
        return;
      }
      case 'call.answer': {
        const call = calls.get(message.callId ?? '');
        if (call === undefined) return send(conn.ws, { id: message.id, ok: false, error: { code: 'not-found', message: 'no such call' } });
        send(conn.ws, { id: message.id, ok: true, result: {} });
        send(call.caller.ws, { type: 'call.answered', callId: call.id, sdp: message.sdp, answeredAt: now, features: LOCAL_FEATURES });
        send(conn.ws, { type: 'call.answered', callId: call.id, answeredAt: now, features: LOCAL_FEATURES });
        return;
      }
      case 'call.hangup': {
        const call = calls.get(message.callId ?? '');
        if (call === undefined) return send(conn.ws, { id: message.id, ok: false, error: { code: 'not-found', message: 'no such call' } });
        calls.delete(call.id);
        send(conn.ws, { id: message.id, ok: true, result: {} });
        const ended = { type: 'call.ended', callId: call.id, cause: 'normal', reason: 'the caller hung up', endedAt: now };
        send(call.caller.ws, ended);
        send(call.callee.ws, ended);
        return;
      }
      default:
        send(conn.ws, { id: message.id, ok: false, error: { code: 'not-supported', message: `${message.type} is not offered` } });
    }
  }

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(WEBSOCKET_SUBPROTOCOL) ? WEBSOCKET_SUBPROTOCOL : false),
  });
  let open = 0;
  const sockets = new Set<WebSocket>();
  const server = createHttpServer((_request, response) => response.writeHead(404).end());
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      sockets.add(ws);
      let conn: Conn | undefined;
      ws.on('message', (data: RawData) => {
        const message = JSON.parse(String(data)) as { type: string; id: string; token: string };
        if (conn === undefined) {
          conn = onHello(ws, message);
          if (conn !== undefined) open++;
        } else onRequest(conn, message);
      });
      ws.on('close', () => {
        sockets.delete(ws);
        if (conn === undefined) return;
        open--;
        if (byExtension.get(conn.extension) === conn) byExtension.delete(conn.extension);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    sessions: () => open,
    async close() {
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function reply(message: ServerMessage): void {
  process.send!(message);
}

if (process.send === undefined) throw new Error('lib/session-server.ts runs under gateway-sessions.bench.ts, which talks to it over IPC');

const [subject, ...rest] = process.argv.slice(2);
const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();
const startedAt = performance.now();
try {
  let running: Running;
  if (subject === 'gateway') {
    const [dataDir, databaseFile, rate] = rest;
    if (dataDir === undefined || databaseFile === undefined) throw new Error('gateway needs <data-dir> <database-file>');
    running = await startGateway(dataDir, databaseFile, Number(rate ?? 1000));
  } else if (subject === 'floor') {
    running = await startFloor();
  } else {
    throw new Error(`unknown subject ${String(subject)}; expected gateway or floor`);
  }
  let exiting = false;
  // Without the parent (interrupted, or crashed) nobody would ever stop this server.
  process.once('disconnect', () => {
    if (!exiting) void running.close().finally(() => process.exit(1));
  });
  process.on('message', (message: ServerRequest) => {
    if (message.type === 'exit') {
      exiting = true;
      void running.close().finally(() => process.disconnect());
      return;
    }
    // Read before the collection, which would count as a delay of its own.
    const loopDelay = { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 };
    void (message.gc ? settledGc() : Promise.resolve()).then(
      () => {
        const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
        const cpu = process.cpuUsage();
        delay.reset();
        reply({
          type: 'sample',
          sample: { memory: { rss, heapUsed, heapTotal, external, arrayBuffers }, cpuMicros: cpu.user + cpu.system, sessions: running.sessions(), loopDelay },
        });
      },
      (error: unknown) => reply({ type: 'error', error: String((error as Error)?.stack ?? error) }),
    );
  });
  reply({ type: 'ready', port: running.port, startMs: performance.now() - startedAt });
} catch (error) {
  reply({ type: 'error', error: String((error as Error)?.stack ?? error) });
  process.disconnect();
}
