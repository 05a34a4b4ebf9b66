/**
 * The load client of gateway-sessions.bench.ts: browser sessions as the `ws` package, logging in with `hello` and
 * placing, answering and hanging up calls between each other. It does no schema checking of its own, so that as
 * much of the machine as possible is left to the server; it only checks what it needs to keep the calls going and
 * fails on any error reply or unexpected close.
 */
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION, WEBSOCKET_SUBPROTOCOL } from '@switchboard/protocol';
import { SDP_ANSWER, SDP_OFFER } from './session-fixtures.js';

interface Frame {
  id?: string | null;
  ok?: boolean;
  error?: { code: string; message: string };
  type?: string;
  callId?: string;
  result?: { callId?: string };
}

export interface Counters {
  sent: number;
  received: number;
}

export class BenchSession {
  readonly ws: WebSocket;
  onFrame: (frame: Frame) => void = () => {};
  private nextId = 1;
  closeCode: number | undefined;

  constructor(
    readonly index: number,
    readonly extension: string,
    port: number,
    private readonly counters: Counters,
  ) {
    this.ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, WEBSOCKET_SUBPROTOCOL, { perMessageDeflate: false });
    this.ws.on('message', (data) => {
      counters.received++;
      this.onFrame(JSON.parse(String(data)) as Frame);
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
    });
  }

  request(fields: Record<string, unknown>): string {
    const id = String(this.nextId++);
    this.ws.send(JSON.stringify({ ...fields, id }));
    this.counters.sent++;
    return id;
  }

  /** Opens the socket and logs in; resolves once the welcome is in. */
  login(token: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        this.ws.removeAllListeners('open');
        reject(new Error(`session ${this.index}: ${why}`));
      };
      this.ws.once('error', (error) => fail(`socket error ${error.message}`));
      this.ws.once('close', (code, reason) => fail(`closed (${code} ${String(reason)}) before the welcome`));
      this.ws.once('open', () => {
        const helloId = this.request({ type: 'hello', protocol: PROTOCOL_VERSION, token, client: { name: 'switchboard-bench', version: '0.1.0' } });
        this.onFrame = (frame) => {
          if (frame.id !== helloId) return fail(`unexpected frame before the welcome: ${JSON.stringify(frame)}`);
          if (frame.ok !== true) return fail(`hello refused: ${JSON.stringify(frame.error)}`);
          this.ws.removeAllListeners('error');
          this.ws.removeAllListeners('close');
          this.ws.on('close', (code) => {
            this.closeCode = code;
          });
          this.ws.on('error', () => {});
          this.onFrame = () => {};
          resolve();
        };
      });
    });
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000);
    });
  }
}

/**
 * Opens and logs in one session per index, at most `concurrency` at a time (a gateway restart brings every tab
 * back at once, and a browser fleet reconnects with some spread; 100 in flight is between the two). Resolves with
 * the sessions and the wall time from the first connect to the last welcome.
 */
export async function connectSessions(
  port: number,
  indices: readonly number[],
  tokens: readonly string[],
  extensions: readonly string[],
  concurrency: number,
  counters: Counters,
): Promise<{ sessions: BenchSession[]; ms: number }> {
  const sessions: BenchSession[] = new Array(indices.length);
  let next = 0;
  const started = performance.now();
  async function lane(): Promise<void> {
    while (next < indices.length) {
      const k = next++;
      const index = indices[k]!;
      const session = new BenchSession(index, extensions[index]!, port, counters);
      sessions[k] = session;
      await session.login(tokens[index]!);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, indices.length) }, lane));
  return { sessions, ms: performance.now() - started };
}

export async function closeSessions(sessions: readonly BenchSession[]): Promise<void> {
  await Promise.all(sessions.map((s) => s.close()));
}

export interface StormResult {
  /** Calls completed (both sides told `call.ended`) inside the measured window. */
  calls: number;
  /** Frames through the server inside the window, both directions. */
  frames: number;
  windowMs: number;
  /** call.start sent → call.answered received at the caller, for calls started inside the window; ms, sorted. */
  setupMs: number[];
  /** Frames per completed call over the whole storm, as a check that both servers did the same work. */
  framesPerCall: number;
  callsTotal: number;
}

/**
 * Caller i calls callee i, over and over: call.start → (callee) call.incoming → call.answer → (caller)
 * call.answered → call.hangup → call.ended at both. A pair starts its next call as soon as both sides have heard
 * `call.ended` and the caller its hang-up reply. Calls are counted inside [warmupMs, warmupMs + runMs); `onEdge`
 * is called (not awaited) at both edges, so the parent can sample the server there.
 */
const DRAIN_TIMEOUT_MS = 15_000;

export async function callStorm(
  callers: readonly BenchSession[],
  callees: readonly BenchSession[],
  counters: Counters,
  options: { warmupMs: number; runMs: number; onEdge: (edge: 'start' | 'end') => void },
): Promise<StormResult> {
  const { warmupMs, runMs } = options;
  const start = performance.now();
  const windowStart = start + warmupMs;
  const windowEnd = windowStart + runMs;
  let running = true;
  let completedInWindow = 0;
  let completedTotal = 0;
  const setupMs: number[] = [];
  let framesAtStart = { ...counters };
  let framesAtEnd = { ...counters };
  const storm = { sent: counters.sent, received: counters.received };

  let fail: (error: Error) => void = () => {};
  const failed = new Promise<never>((_resolve, reject) => {
    fail = reject;
  });
  const pairsDone: Promise<void>[] = [];

  for (let i = 0; i < callers.length; i++) {
    const caller = callers[i]!;
    const callee = callees[i]!;
    pairsDone.push(
      new Promise<void>((resolve) => {
        let sentAt = 0;
        let callerEnded = false;
        let hangupReplied = false;
        let calleeEnded = false;
        let startId = '';
        let hangupId = '';

        const place = (): void => {
          if (!running) return resolve();
          callerEnded = hangupReplied = calleeEnded = false;
          sentAt = performance.now();
          startId = caller.request({ type: 'call.start', target: callee.extension, sdp: SDP_OFFER });
        };
        const maybeDone = (): void => {
          if (!(callerEnded && hangupReplied && calleeEnded)) return;
          const now = performance.now();
          completedTotal++;
          if (now >= windowStart && now < windowEnd) completedInWindow++;
          place();
        };
        const refuse = (who: string, frame: Frame): void =>
          fail(new Error(`${who} ${who === 'caller' ? caller.index : callee.index}: ${JSON.stringify(frame)}`));

        caller.onFrame = (frame) => {
          if (frame.ok === false) return refuse('caller', frame);
          if (frame.id === startId) return; // reply {callId}; call.ringing follows
          if (frame.id === hangupId && frame.ok === true) {
            hangupReplied = true;
            return maybeDone();
          }
          switch (frame.type) {
            case 'call.ringing':
              return;
            case 'call.answered': {
              const now = performance.now();
              if (sentAt >= windowStart && sentAt < windowEnd) setupMs.push(now - sentAt);
              hangupId = caller.request({ type: 'call.hangup', callId: frame.callId });
              return;
            }
            case 'call.ended':
              callerEnded = true;
              return maybeDone();
            default:
              return refuse('caller', frame);
          }
        };
        callee.onFrame = (frame) => {
          if (frame.ok === false) return refuse('callee', frame);
          if (frame.ok === true) return; // reply to call.answer
          switch (frame.type) {
            case 'call.incoming':
              callee.request({ type: 'call.answer', callId: frame.callId, sdp: SDP_ANSWER });
              return;
            case 'call.answered':
              return;
            case 'call.ended':
              calleeEnded = true;
              return maybeDone();
            default:
              return refuse('callee', frame);
          }
        };
        place();
      }),
    );
  }

  const edges = (async () => {
    await sleep(windowStart - performance.now());
    framesAtStart = { ...counters };
    options.onEdge('start');
    await sleep(windowEnd - performance.now());
    framesAtEnd = { ...counters };
    options.onEdge('end');
    running = false;
  })();
  // A call the server never finishes would otherwise hang the benchmark instead of failing it.
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_resolve, reject) => {
    void edges.then(() => {
      timer = setTimeout(() => reject(new Error(`calls still unfinished ${DRAIN_TIMEOUT_MS} ms after the storm stopped placing them`)), DRAIN_TIMEOUT_MS);
    });
  });
  try {
    await Promise.race([Promise.all([edges, ...pairsDone]), failed, stuck]);
  } finally {
    clearTimeout(timer);
  }
  const frames = framesAtEnd.sent + framesAtEnd.received - framesAtStart.sent - framesAtStart.received;
  const allFrames = counters.sent + counters.received - storm.sent - storm.received;
  setupMs.sort((a, b) => a - b);
  return { calls: completedInWindow, frames, windowMs: runMs, setupMs, framesPerCall: allFrames / completedTotal, callsTotal: completedTotal };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Busy and total jiffies of the whole machine, or undefined off Linux; for the other-load check. */
export function machineJiffies(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - fields[3]! - fields[4]!, total };
  } catch {
    return undefined;
  }
}
