/** A WebSocket client for tests: collects frames, awaits replies by id, events by type, and the close. */
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION, WEBSOCKET_SUBPROTOCOL } from '@switchboard/protocol';

export type Frame = Record<string, unknown> & { id?: string | null; type?: string; ok?: boolean };
export interface Closed {
  code: number;
  reason: string;
}

function helloFrame(token: string, extra: Record<string, unknown>): Record<string, unknown> {
  return { type: 'hello', protocol: PROTOCOL_VERSION, token, client: { name: 'test', version: '0' }, ...extra };
}

export class TestClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<Closed>;
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private nextId = 1;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      const waiter = this.waiters.find((w) => w.match(frame));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(frame);
      }
    });
  }

  static async connect(port: number, path = '/ws', protocols: string[] = [WEBSOCKET_SUBPROTOCOL]): Promise<TestClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocols);
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** Resolves with the first frame, already received or still to come, that matches. */
  waitFor(match: (f: Frame) => boolean, timeoutMs = 3000): Promise<Frame> {
    const already = this.frames.find(match);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching frame in time')), timeoutMs);
      this.waiters.push({ match, resolve: (f) => (clearTimeout(timer), resolve(f)) });
    });
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** Sends a request (an id is added unless given) and resolves with its reply. */
  request(message: Record<string, unknown>): Promise<Frame> {
    const id = typeof message.id === 'string' ? message.id : `r${this.nextId++}`;
    this.ws.send(JSON.stringify({ ...message, id }));
    return this.waitFor((f) => f.id === id && f.type === undefined);
  }

  hello(token: string, extra: Record<string, unknown> = {}): Promise<Frame> {
    return this.request(helloFrame(token, extra));
  }

  /** A hello whose answer is expected to be a close rather than a reply. */
  sendHello(token: string, extra: Record<string, unknown> = {}): void {
    this.ws.send(JSON.stringify({ ...helloFrame(token, extra), id: 'hello' }));
  }

  ping(): Promise<Frame> {
    return this.request({ type: 'ping' });
  }

  close(): void {
    this.ws.close();
  }
}
