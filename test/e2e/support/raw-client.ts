/**
 * A browser session without a browser: the gateway's WebSocket protocol spoken frame by frame, for what pages never
 * send (bad input, another operator's call ids) and for calls whose media is not the point.
 */
import { PROTOCOL_VERSION, WEBSOCKET_SUBPROTOCOL } from '@switchboard/protocol';
import { WebSocket } from 'ws';
import type { StartedGateway } from './gateway.js';

export class RawClient {
  readonly frames: Record<string, unknown>[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private next = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
    ws.on('error', () => {});
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(gateway: StartedGateway): Promise<RawClient> {
    const ws = new WebSocket(`ws://${gateway.http.host}:${gateway.http.port}/ws`, [WEBSOCKET_SUBPROTOCOL]);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new RawClient(ws);
  }

  async waitFor(match: (frame: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const started = Date.now();
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (Date.now() - started > timeoutMs) throw new Error(`no matching frame; got ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  request(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = `r${this.next++}`;
    this.ws.send(JSON.stringify({ ...message, id }));
    return this.waitFor((f) => f.id === id && f.type === undefined);
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  hello(token: string): Promise<Record<string, unknown>> {
    return this.request({ type: 'hello', protocol: PROTOCOL_VERSION, token, client: { name: 'e2e', version: '0' } });
  }
}
