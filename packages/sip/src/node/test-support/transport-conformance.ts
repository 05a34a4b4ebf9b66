/**
 * The behaviour every SipTransport must show, written once and run against each protocol (transports.test.ts),
 * so that UDP, TCP, TLS, WS and WSS cannot drift apart. Besides transports talking to each other it drives a
 * raw peer (a plain socket or WebSocket) to send what no transport would: split writes, keep-alives, garbage.
 * Loopback only; every wait is bounded so a broken transport fails a test instead of hanging the run.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as httpCreateServer, type Server as HttpServer } from 'node:http';
import { createServer as httpsCreateServer } from 'node:https';
import { connect as netConnect, createServer as netCreateServer, type Server as NetServer, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as tlsCreateServer } from 'node:tls';
import { after, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { SipError } from '../../errors.js';
import { parseMessage } from '../../message/parse-message.js';
import type { SipRequest, SipResponse } from '../../message/sip-message.js';
import type { InboundMessage, SipTransport, TransportAddress, TransportEvents, TransportProtocol } from '../../transport/transport.js';
import type { TransportOptions } from '../transport-base.js';

export interface ConformanceTarget {
  protocol: TransportProtocol;
  /** Loopback address the transports bind to: '127.0.0.1' or '::1'. */
  host: string;
  /** A started transport of `protocol` on `host`, port 0; `overrides` are passed through to its options. */
  create(overrides?: Partial<TransportOptions>): Promise<SipTransport>;
  /** PEM trusted by the raw TLS/WSS peer. */
  ca?: string;
  /** TLS/WSS: overrides under which a transport does not trust the others' certificate. */
  distrust?: Partial<TransportOptions>;
  /** TLS/WSS: the key and certificate (trusted through `ca`) a raw server presents. */
  serverTls?: { key: string; cert: string };
}

const WAIT_MS = 5000;
const STREAM = new Set<TransportProtocol>(['tcp', 'tls']);
const SOCKET_HANDLES = new Set(['TCPSocketWrap', 'TCPServerWrap', 'UDPWrap', 'TLSWrap']);

let callSeq = 0;

/** Registers the suite for one protocol and address family. */
export function transportConformance(target: ConformanceTarget): void {
  const { protocol, host } = target;
  const stream = STREAM.has(protocol);
  const reliable = protocol !== 'udp';
  const open: { close(): unknown }[] = [];
  const create = async (overrides?: Partial<TransportOptions>): Promise<SipTransport> => {
    const transport = await target.create(overrides);
    open.push(transport);
    return transport;
  };
  const raw = async (to: SipTransport): Promise<RawPeer> => {
    const peer = await RawPeer.connect(protocol, to.local, target.ca);
    open.push(peer);
    return peer;
  };

  describe(`${protocol} transport on ${host}`, () => {
    after(async () => {
      for (const item of open.splice(0)) await item.close();
    });

    test('binds the requested address; port 0 becomes the real port', async () => {
      const t = await create();
      assert.equal(t.protocol, protocol);
      assert.equal(t.reliable, reliable);
      assert.equal(t.local.host, host);
      assert.ok(t.local.port > 0);
    });

    test('delivers a request with its source address', async () => {
      const [a, b] = await Promise.all([create(), create()]);
      const request = makeRequest(protocol, a.local, 'hello');
      const arrived = nextEvent(b, 'message');
      await a.send(request, b.local);
      const { message, source, connectionId } = await arrived;
      assert.equal(message.callId, request.callId);
      assert.equal(message.bodyText, 'hello');
      assert.equal(source.protocol, protocol);
      assert.equal(source.host, host);
      if (reliable) {
        assert.ok(source.port > 0);
        assert.equal(typeof connectionId, 'string');
      } else {
        assert.equal(source.port, a.local.port);
        assert.equal(connectionId, undefined);
      }
    });

    test('a response goes back to the sender, over streams on the request\'s connection', async () => {
      const [a, b] = await Promise.all([create(), create()]);
      const opened = { a: [] as string[], b: [] as string[] };
      a.on('connection', (e) => e.state === 'open' && opened.a.push(e.connectionId));
      b.on('connection', (e) => e.state === 'open' && opened.b.push(e.connectionId));
      b.on('message', ({ message, source, connectionId }) => {
        if ('method' in message) void b.send((message as SipRequest).createResponse(200), source, connectionId);
      });
      const request = makeRequest(protocol, a.local);
      const answered = nextEvent(a, 'message', (m) => m.message.callId === request.callId);
      await a.send(request, b.local);
      const response = await answered;
      assert.equal((response.message as SipResponse).status, 200);
      if (reliable) {
        assert.deepEqual([opened.a.length, opened.b.length], [1, 1]);
        assert.equal(response.connectionId, opened.a[0]);
      } else {
        assert.deepEqual(response.source, b.local);
      }
    });

    test('two sends to one destination share a connection', async () => {
      const [a, b] = await Promise.all([create(), create()]);
      let opens = 0;
      b.on('connection', (e) => { if (e.state === 'open') opens++; });
      const got = collect(b, 3);
      await Promise.all([a.send(makeRequest(protocol, a.local), b.local), a.send(makeRequest(protocol, a.local), b.local)]);
      await a.send(makeRequest(protocol, a.local), b.local);
      const messages = await got;
      if (reliable) {
        assert.equal(opens, 1);
        assert.equal(new Set(messages.map((m) => m.connectionId)).size, 1);
      }
    });

    test('carries a 20 KB message intact', async () => {
      const [a, b] = await Promise.all([create(), create()]);
      const body = 'x'.repeat(20 * 1024 - 3) + '\r\n.';
      const arrived = nextEvent(b, 'message');
      await a.send(makeRequest(protocol, a.local, body), b.local);
      assert.equal((await arrived).message.bodyText, body);
    });

    test('a raw peer\'s request arrives and its response comes back to it', async () => {
      const b = await create();
      b.on('message', ({ message, source, connectionId }) => {
        if ('method' in message) void b.send((message as SipRequest).createResponse(486), source, connectionId);
      });
      const peer = await raw(b);
      await peer.write(requestText(protocol, peer.local, 'MESSAGE'));
      await peer.waitFor((text) => text.startsWith('SIP/2.0 486 '));
    });

    test('a listener that throws is reported as an error event, and delivery goes on', async () => {
      const [a, b] = await Promise.all([create(), create()]);
      const errors: SipError[] = [];
      b.on('error', ({ error }) => errors.push(error));
      const got = collect(b, 2);
      b.on('message', () => { throw new Error('a bug in the application'); });
      await a.send(makeRequest(protocol, a.local), b.local);
      await a.send(makeRequest(protocol, a.local), b.local);
      await got;
      assert.equal(errors.length, 2);
      assert.equal(errors[0]!.code, 'transport');
    });

    if (target.distrust !== undefined) {
      const distrust = target.distrust;
      test('refuses to send to a peer whose certificate it does not trust', async () => {
        const [a, b] = await Promise.all([create(distrust), create()]);
        await assert.rejects(a.send(makeRequest(protocol, a.local), b.local), (e: unknown) => e instanceof SipError && e.code === 'transport');
      });

      test('checks the certificate against the destination\'s serverName, and keeps a connection per name (RFC 5922 §4)', async () => {
        const [a, b] = await Promise.all([create(), create()]);
        const arrived = nextEvent(b, 'message');
        await a.send(makeRequest(protocol, a.local), { ...b.local, serverName: 'localhost' });
        await arrived;
        // The same address for another name: the certificate (localhost, 127.0.0.1, ::1) does not name it.
        await assert.rejects(a.send(makeRequest(protocol, a.local), { ...b.local, serverName: 'pbx.example.com' }),
          (e: unknown) => e instanceof SipError && e.code === 'transport');
      });
    }

    if (protocol === 'ws' || protocol === 'wss') {
      test('refuses a WebSocket that does not offer the sip subprotocol (RFC 7118)', async () => {
        const b = await create();
        const ws = new WebSocket(`${protocol}://${hostPort(b.local)}/`, target.ca === undefined ? {} : { ca: target.ca });
        const error = await withTimeout(new Promise<Error>((resolve) => ws.once('error', resolve)), 'the handshake to fail');
        assert.match(error.message, /400/);
        ws.terminate();
      });
    }

    if (reliable) {
      test(stream ? 'reassembles a message split into many small writes' : 'reassembles a message sent in many fragments', async () => {
        const b = await create();
        const peer = await raw(b);
        const arrived = nextEvent(b, 'message');
        await peer.writeSplit(requestText(protocol, peer.local, 'MESSAGE', 'split body'), 5);
        const { message } = await arrived;
        assert.equal(message.bodyText, 'split body');
      });

      test(stream ? 'frames several messages from one write' : 'keeps back-to-back messages in order', async () => {
        const b = await create();
        const peer = await raw(b);
        const got = collect(b, 3);
        const texts = ['one', 'two', 'three'].map((body) => requestText(protocol, peer.local, 'MESSAGE', body));
        if (stream) await peer.write(texts.join(''));
        else for (const text of texts) await peer.write(text);
        assert.deepEqual((await got).map((m) => m.message.bodyText), ['one', 'two', 'three']);
      });

      test('answers a CRLF keep-alive ping with a pong', async () => {
        const b = await create();
        const peer = await raw(b);
        await peer.write('\r\n\r\n');
        await peer.waitFor((text) => text === '\r\n');
        // The stream is still in step: a message after the keep-alive is framed normally.
        const arrived = nextEvent(b, 'message');
        await peer.write(requestText(protocol, peer.local, 'OPTIONS'));
        await arrived;
      });

      test('pings a connection it opened, the peer answers, and pings alone do not keep an unused connection open', async () => {
        const [a, b] = await Promise.all([create({ keepAlive: { intervalMs: 150, pongTimeoutMs: 60 }, idleTimeout: 1000 }), create()]);
        const outcomes: TransportEvents['keep-alive'][] = [];
        a.on('keep-alive', (event) => outcomes.push(event));
        const opened = nextEvent(a, 'connection', (event) => event.state === 'open');
        const arrived = nextEvent(b, 'message');
        await a.send(makeRequest(protocol, a.local), b.local);
        await arrived;
        const { connectionId } = await opened;
        // About six rounds of 120-150 ms pass before the idle timeout closes the connection no message has used since.
        await nextEvent(a, 'connection', (event) => event.state === 'closed' && event.connectionId === connectionId);
        assert.ok(outcomes.length >= 3, `${outcomes.length} pongs before the idle timeout`);
        assert.deepEqual(new Set(outcomes.map((event) => `${event.connectionId} ${event.outcome} ${event.remote.port}`)), new Set([`${connectionId} pong ${b.local.port}`]));
      });

      test('closes a connection it opened when a peer that answered pings stops answering (RFC 5626 §4.4.1)', async () => {
        const a = await create({ keepAlive: { intervalMs: 150, pongTimeoutMs: 60 } });
        const peer = await PingPeer.listen(protocol, host, target.serverTls);
        open.push(peer);
        const outcomes: TransportEvents['keep-alive'][] = [];
        a.on('keep-alive', (event) => outcomes.push(event));
        const opened = nextEvent(a, 'connection', (event) => event.state === 'open');
        await a.send(makeRequest(protocol, a.local), peer.address);
        const { connectionId } = await opened;
        await nextEvent(a, 'keep-alive');
        peer.answer = 'nothing';
        await nextEvent(a, 'connection', (event) => event.state === 'closed' && event.connectionId === connectionId);
        assert.equal(outcomes.at(-1)?.outcome, 'no-pong');
        assert.ok(outcomes.slice(0, -1).length > 0 && outcomes.slice(0, -1).every((event) => event.outcome === 'pong' && event.connectionId === connectionId));
      });

      test(stream
        ? 'pings on, without closing, a peer that has never answered a ping (RFC 3261 §7.5: a peer need only skip CRLFs)'
        : 'closes a connection whose peer does not answer a ping: every WebSocket peer must (RFC 6455 §5.5.2)', async () => {
        const a = await create({ keepAlive: { intervalMs: 150, pongTimeoutMs: 60 } });
        const peer = await PingPeer.listen(protocol, host, target.serverTls);
        open.push(peer);
        peer.answer = 'nothing';
        if (stream) {
          // A CRLF that came before a ping is not its answer, even when the next bytes (here a request sent in answer
          // to the first ping, and only to it) show that it is no ping.
          peer.strayCrlf = true;
          peer.answer = 'request';
          a.on('message', () => { peer.answer = 'nothing'; });
        }
        const outcomes: string[] = [];
        a.on('keep-alive', (event) => outcomes.push(event.outcome));
        const closes: string[] = [];
        a.on('connection', (event) => { if (event.state === 'closed') closes.push(event.connectionId); });
        await a.send(makeRequest(protocol, a.local), peer.address);
        if (stream) {
          await new Promise((resolve) => setTimeout(resolve, 800));
          assert.deepEqual({ outcomes, closes }, { outcomes: [], closes: [] });
          assert.ok(peer.received.split('\r\n\r\nMESSAGE').length === 1 && peer.received.split('\r\n\r\n').length >= 4, 'the request, then pings, reached the peer');
        } else {
          await nextEvent(a, 'connection', (event) => event.state === 'closed');
          assert.deepEqual(outcomes, ['no-pong']);
        }
      });

      if (stream) {
        test('a pong that arrives as CR, then LF, is a pong', async () => {
          const a = await create({ keepAlive: { intervalMs: 150, pongTimeoutMs: 60 } });
          const peer = await PingPeer.listen(protocol, host, target.serverTls);
          open.push(peer);
          peer.answer = 'split pong';
          const outcomes: string[] = [];
          a.on('keep-alive', (event) => outcomes.push(event.outcome));
          await a.send(makeRequest(protocol, a.local), peer.address);
          await new Promise((resolve) => setTimeout(resolve, 700));
          assert.ok(outcomes.length >= 3 && outcomes.every((outcome) => outcome === 'pong'), outcomes.join(', '));
        });
      }

      test('a peer that answers a ping with a SIP message instead of a pong is alive: its connection stays open', async () => {
        const a = await create({ keepAlive: { intervalMs: 150, pongTimeoutMs: 60 } });
        const peer = await PingPeer.listen(protocol, host, target.serverTls);
        open.push(peer);
        const outcomes: string[] = [];
        a.on('keep-alive', (event) => outcomes.push(event.outcome));
        const closes: string[] = [];
        a.on('connection', (event) => { if (event.state === 'closed') closes.push(event.connectionId); });
        const requests: string[] = [];
        a.on('message', ({ message }) => requests.push((message as SipRequest).method));
        await a.send(makeRequest(protocol, a.local), peer.address);
        await nextEvent(a, 'keep-alive');
        peer.answer = 'request';
        await new Promise((resolve) => setTimeout(resolve, 800));
        assert.ok(requests.length >= 3, `${requests.length} requests answered pings`);
        assert.deepEqual({ outcomes: [...new Set(outcomes)], closes }, { outcomes: ['pong'], closes: [] });
      });

      test('a peer\'s keep-alives keep its connection open past the idle timeout, a lone CRLF included', async () => {
        const b = await create({ idleTimeout: 300 });
        const peer = await raw(b);
        let closed = false;
        void peer.closed.then(() => { closed = true; });
        for (let i = 0; i < 8; i++) {
          await peer.write('\r\n\r\n');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        // A lone CRLF (over a stream held until the next byte shows it is not half a ping) counts as well: the request
        // 350 ms after the last ping finds the connection open only if it did.
        await new Promise((resolve) => setTimeout(resolve, 50));
        await peer.write('\r\n');
        await new Promise((resolve) => setTimeout(resolve, 200));
        const arrived = nextEvent(b, 'message');
        await peer.write(requestText(protocol, peer.local, 'OPTIONS'));
        await arrived;
        assert.equal(closed, false);
        await withTimeout(peer.closed, 'the connection to close once the keep-alives stop');
      });

      test('sends no pings with keepAlive false, and answers the peer\'s', async () => {
        const [a, b] = await Promise.all([create({ keepAlive: false }), create({ keepAlive: { intervalMs: 100, pongTimeoutMs: 50 } })]);
        const pongs: string[] = [];
        a.on('keep-alive', (event) => pongs.push(event.outcome));
        b.on('keep-alive', (event) => pongs.push(`b ${event.outcome}`));
        const arrived = nextEvent(b, 'message');
        await a.send(makeRequest(protocol, a.local), b.local);
        await arrived;
        // b answers a's request on a's connection: b opened none, so neither side pings.
        await new Promise((resolve) => setTimeout(resolve, 400));
        assert.equal(pongs.length, 0, pongs.join(', '));
        const back = nextEvent(a, 'message');
        await b.send(makeRequest(protocol, b.local), { protocol, host, port: a.local.port });
        await back;
        await nextEvent(b, 'keep-alive');
        assert.deepEqual(pongs.filter((outcome) => !outcome.startsWith('b ')), [], 'a still pings nothing');
        assert.ok(pongs.includes('b pong'));
      });

      test('answers a framed but malformed request with 400 on the same connection', async () => {
        const b = await create();
        const peer = await raw(b);
        const invalid = nextEvent(b, 'invalid');
        await peer.write(requestText(protocol, peer.local, 'OPTIONS').replace('Max-Forwards: 70', 'Max-Forwards: lots'));
        await peer.waitFor((text) => text.startsWith('SIP/2.0 400 '));
        assert.equal((await invalid).error.code, 'parse');
        const arrived = nextEvent(b, 'message');
        await peer.write(requestText(protocol, peer.local, 'OPTIONS'));
        await arrived;
      });

      test('refuses connections beyond maxConnections, and closes idle ones', async () => {
        const b = await create({ maxConnections: 2, idleTimeout: 300 });
        const first = await raw(b);
        await raw(b);
        const third = await RawPeer.connect(protocol, b.local, target.ca).catch(() => undefined);
        if (third !== undefined) {
          open.push(third);
          await withTimeout(third.closed, 'the connection over the limit to be closed');
        }
        await withTimeout(first.closed, 'the idle connection to be closed');
      });
    }

    if (stream) {
      test('closes a connection that cannot be framed and keeps serving new ones', async () => {
        const [a, b] = await Promise.all([create(), create()]);
        const peer = await raw(b);
        const invalid = nextEvent(b, 'invalid');
        await peer.write('this is not SIP\r\nNo-Content-Length: here\r\n\r\n');
        const { error } = await invalid;
        assert.equal(error.code, 'framing');
        await withTimeout(peer.closed, 'the unframeable connection to be closed');
        const arrived = nextEvent(b, 'message');
        await a.send(makeRequest(protocol, a.local), b.local);
        await arrived;
        const again = await raw(b);
        const next = nextEvent(b, 'message');
        await again.write(requestText(protocol, again.local, 'OPTIONS'));
        await next;
      });

      test('closes a connection announcing a body over the size limit', async () => {
        const b = await create({ limits: { maxBodySize: 1000 } });
        const peer = await raw(b);
        const invalid = nextEvent(b, 'invalid');
        await peer.write(requestText(protocol, peer.local, 'OPTIONS').replace('Content-Length: 0', 'Content-Length: 1001'));
        assert.equal((await invalid).error.status, 413);
        await withTimeout(peer.closed, 'the connection to be closed');
      });
    } else {
      test('reports garbage, and answers a malformed request with 400', async () => {
        const b = await create();
        const peer = await raw(b);
        const garbage = nextEvent(b, 'invalid');
        await peer.write('\x00\x01 definitely not SIP');
        assert.equal((await garbage).error.code, 'parse');
        const malformed = nextEvent(b, 'invalid');
        await peer.write(requestText(protocol, peer.local, 'OPTIONS').replace('Max-Forwards: 70', 'Max-Forwards: lots'));
        await malformed;
        await peer.waitFor((text) => text.startsWith('SIP/2.0 400 Bad Request\r\n') && text.includes('CSeq: 1 OPTIONS\r\n'));
        // A malformed response is never answered.
        const response = nextEvent(b, 'invalid');
        await peer.write('SIP/2.0 999 Nonsense\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\nContent-Length: 0\r\n\r\n');
        await response;
      });
    }

    test('send rejects with a transport error when the peer cannot be reached (streams) or after close', async () => {
      const t = await create();
      if (reliable) {
        const gone = await create();
        const address = gone.local;
        await gone.close();
        await assert.rejects(t.send(makeRequest(protocol, t.local), address), (e: unknown) => e instanceof SipError && e.code === 'transport');
      }
      await t.close();
      await assert.rejects(t.send(makeRequest(protocol, t.local), t.local), (e: unknown) => e instanceof SipError && e.code === 'transport');
    });

    test('close() releases every socket', async () => {
      const [a, b] = await Promise.all([create(), create()]);
      const peer = await raw(b);
      const arrived = nextEvent(b, 'message');
      await a.send(makeRequest(protocol, a.local), b.local);
      await arrived;
      await Promise.all([a.close(), b.close()]);
      if (reliable) await withTimeout(peer.closed, 'the raw peer to be disconnected');
      for (const item of open.splice(0)) await item.close();
      // Handles go away on the next turns of the loop after their 'close' events.
      for (let i = 0; i < 50 && socketHandles() > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(process.getActiveResourcesInfo().filter((name) => SOCKET_HANDLES.has(name)), []);
    });
  });
}

function socketHandles(): number {
  return process.getActiveResourcesInfo().filter((name) => SOCKET_HANDLES.has(name)).length;
}

function hostPort(address: { host: string; port: number }): string {
  return `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

/** A request as text, so the raw peer can send bytes no SipMessage would produce. */
export function requestText(protocol: TransportProtocol, from: { host: string; port: number }, method: string, body = ''): string {
  const id = `conf${++callSeq}`;
  const via = protocol.toUpperCase();
  return `${method} sip:b@${hostPort(from)} SIP/2.0\r\n`
    + `Via: SIP/2.0/${via} ${hostPort(from)};branch=z9hG4bK${id}\r\n`
    + `Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=${id}\r\nTo: <sip:b@example.com>\r\n`
    + `Call-ID: ${id}@example.com\r\nCSeq: 1 ${method}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function makeRequest(protocol: TransportProtocol, from: TransportAddress, body = ''): SipRequest {
  return parseMessage(requestText(protocol, from, 'MESSAGE', body)) as SipRequest;
}

function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function nextEvent<K extends 'message' | 'invalid' | 'connection' | 'keep-alive'>(
  transport: SipTransport, event: K, match: (payload: TransportEvents[K]) => boolean = () => true,
): Promise<TransportEvents[K]> {
  let off = (): void => undefined;
  const seen = new Promise<TransportEvents[K]>((resolve) => {
    off = transport.on(event, (payload) => {
      if (match(payload)) resolve(payload);
    });
  });
  return withTimeout(seen, `a '${event}' event`).finally(() => off());
}

function collect(transport: SipTransport, count: number): Promise<InboundMessage[]> {
  const got: InboundMessage[] = [];
  let off = (): void => undefined;
  const done = new Promise<InboundMessage[]>((resolve) => {
    off = transport.on('message', (m) => {
      got.push(m);
      if (got.length === count) resolve(got);
    });
  });
  return withTimeout(done, `${count} messages`).finally(() => off());
}

/** The far end of a connection (or a UDP socket) driven byte by byte, outside any transport. */
/**
 * A server that accepts connections, reads what comes and answers nothing but keep-alives, as `answer` says: a CRLF
 * to a CRLF CRLF (TCP, TLS), a pong frame to a ping frame (WS, WSS), or a SIP request instead.
 */
class PingPeer {
  received = '';
  /** How a ping is answered: with a pong, with a SIP request instead, or not at all. */
  answer: 'pong' | 'split pong' | 'request' | 'nothing' = 'pong';
  /** TCP, TLS: follow each message received with a stray CRLF (RFC 3261 §7.5 lets a peer send them). */
  strayCrlf = false;

  private constructor(
    readonly address: TransportAddress,
    private readonly server: NetServer | HttpServer,
    private readonly sockets: Set<Socket>,
    private readonly wss?: WebSocketServer,
  ) {}

  static async listen(protocol: TransportProtocol, host: string, tls?: { key: string; cert: string }): Promise<PingPeer> {
    let server: NetServer | HttpServer;
    let wss: WebSocketServer | undefined;
    let peer: PingPeer | undefined;
    const onSocket = (socket: Socket): void => {
      socket.on('error', () => undefined);
      socket.on('data', (data: Buffer) => {
        const text = data.toString('latin1');
        peer!.received += text;
        if (text !== '\r\n\r\n') {
          if (peer!.strayCrlf) socket.write('\r\n');
          return;
        }
        if (peer!.answer === 'pong') socket.write('\r\n');
        else if (peer!.answer === 'split pong') {
          socket.write('\r');
          setTimeout(() => socket.write('\n'), 10);
        } else if (peer!.answer === 'request') socket.write(requestText(protocol, { host, port: 9 }, 'OPTIONS'));
      });
    };
    if (protocol === 'tcp') server = netCreateServer(onSocket);
    else if (protocol === 'tls') server = tlsCreateServer({ key: tls!.key, cert: tls!.cert }, onSocket);
    else {
      const http = protocol === 'wss' ? httpsCreateServer({ key: tls!.key, cert: tls!.cert }) : httpCreateServer();
      wss = new WebSocketServer({ server: http, autoPong: false, handleProtocols: () => 'sip' });
      wss.on('connection', (ws) => {
        ws.on('error', () => undefined);
        ws.on('message', (data) => { peer!.received += (data as Buffer).toString('latin1'); });
        ws.on('ping', (data) => {
          if (peer!.answer === 'pong') ws.pong(data);
          else if (peer!.answer === 'request') ws.send(requestText(protocol, { host, port: 9 }, 'OPTIONS'));
        });
      });
      server = http;
    }
    const sockets = new Set<Socket>();
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    const port = (server.address() as { port: number }).port;
    peer = new PingPeer({ protocol, host, port }, server, sockets, wss);
    return peer;
  }

  async close(): Promise<void> {
    this.wss?.close();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

class RawPeer {
  /** For UDP and WebSocket each datagram/message replaces the last; for streams the bytes accumulate. */
  private received = '';
  private waiters = new Set<() => void>();
  readonly closed: Promise<void>;
  private markClosed = (): void => undefined;

  private constructor(
    private readonly protocol: TransportProtocol,
    private readonly target: TransportAddress,
    readonly local: { host: string; port: number },
    private readonly handle: Socket | UdpSocket | WebSocket,
  ) {
    this.closed = new Promise((resolve) => { this.markClosed = resolve; });
  }

  static async connect(protocol: TransportProtocol, target: TransportAddress, ca?: string): Promise<RawPeer> {
    const host = target.host;
    if (protocol === 'udp') {
      const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      await new Promise<void>((resolve) => socket.bind(0, host, resolve));
      const peer = new RawPeer(protocol, target, { host, port: socket.address().port }, socket);
      socket.on('message', (data) => peer.receive(data.toString('latin1'), true));
      socket.on('close', () => peer.markClosed());
      return peer;
    }
    if (protocol === 'ws' || protocol === 'wss') {
      const ws = new WebSocket(`${protocol}://${hostPort(target)}/`, ['sip'], ca === undefined ? {} : { ca });
      ws.on('error', () => undefined);
      await withTimeout(new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('close', () => reject(new Error('websocket refused')));
      }), 'the WebSocket to open');
      const socket = (ws as unknown as { _socket: Socket })._socket;
      const peer = new RawPeer(protocol, target, { host, port: socket.localPort ?? 0 }, ws);
      ws.on('message', (data: Buffer) => peer.receive(data.toString('latin1'), true));
      ws.on('close', () => peer.markClosed());
      return peer;
    }
    const socket = protocol === 'tls' ? tlsConnect({ host, port: target.port, ...(ca === undefined ? {} : { ca }) }) : netConnect({ host, port: target.port });
    socket.on('error', () => undefined);
    await withTimeout(new Promise<void>((resolve, reject) => {
      socket.once(protocol === 'tls' ? 'secureConnect' : 'connect', resolve);
      socket.once('close', () => reject(new Error('connection refused')));
    }), 'the connection to open');
    const peer = new RawPeer(protocol, target, { host, port: socket.localPort ?? 0 }, socket);
    socket.on('data', (data: Buffer) => peer.receive(data.toString('latin1'), false));
    socket.on('close', () => peer.markClosed());
    return peer;
  }

  private receive(text: string, whole: boolean): void {
    this.received = whole ? text : this.received + text;
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves once what was received satisfies `match`. */
  waitFor(match: (text: string) => boolean): Promise<void> {
    let check = (): void => undefined;
    const done = new Promise<void>((resolve) => {
      check = () => { if (match(this.received)) resolve(); };
      this.waiters.add(check);
      check();
    });
    return withTimeout(done, 'a reply to the raw peer').finally(() => this.waiters.delete(check));
  }

  write(data: string): Promise<void> {
    const bytes = Buffer.from(data, 'latin1');
    const handle = this.handle;
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null): void => (error ? reject(error) : resolve());
      if (this.protocol === 'udp') (handle as UdpSocket).send(bytes, this.target.port, this.target.host, done);
      else if (handle instanceof WebSocket) handle.send(bytes, { binary: false }, done);
      else (handle as Socket).write(bytes, done);
    });
  }

  /** The same bytes in pieces of `size`, each its own write (streams) or fragment (WebSocket). */
  async writeSplit(data: string, size: number): Promise<void> {
    const bytes = Buffer.from(data, 'latin1');
    for (let at = 0; at < bytes.length; at += size) {
      const piece = bytes.subarray(at, at + size);
      const last = at + size >= bytes.length;
      await new Promise<void>((resolve, reject) => {
        const done = (error?: Error | null): void => (error ? reject(error) : resolve());
        if (this.handle instanceof WebSocket) this.handle.send(piece, { binary: false, fin: last }, done);
        else (this.handle as Socket).write(piece, done);
      });
      // Let each piece leave as its own segment rather than be coalesced with the next.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  close(): Promise<void> {
    const handle = this.handle;
    if (handle instanceof WebSocket) handle.terminate();
    else if (this.protocol === 'udp') {
      try { (handle as UdpSocket).close(); } catch { /* already closed */ }
    } else (handle as Socket).destroy();
    return withTimeout(this.closed, 'the raw peer to close');
  }
}
