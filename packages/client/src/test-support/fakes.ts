/**
 * Stand-ins for the browser APIs the SDK uses, so that its tests run in Node: a WebSocket whose far end the
 * test plays, a peer connection that records what was done to it, a microphone, an audio element and a clock.
 */
import type { ClientMessage, RequestType, ResultOf } from '@switchboard/protocol';
import { createPhone, type Phone, type PhoneOptions } from '../phone.js';
import type { Timers } from '../platform.js';
import { welcomeResult } from './examples.js';

/** Timers that only fire when the test advances time. */
export class ManualTimers implements Timers {
  now = 0;
  private nextHandle = 1;
  private readonly due = new Map<number, { at: number; callback: () => void }>();

  setTimeout(callback: () => void, ms: number): unknown {
    const handle = this.nextHandle++;
    this.due.set(handle, { at: this.now + ms, callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }

  /** Delays of the timers still pending, from now. */
  pendingDelays(): number[] {
    return [...this.due.values()].map((timer) => timer.at - this.now).sort((a, b) => a - b);
  }

  /** Fires every timer due within `ms`, in order, letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      await settle();
      const next = [...this.due.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.due.delete(next[0]);
      this.now = next[1].at;
      next[1].callback();
    }
    this.now = end;
    await settle();
  }
}

/** Lets every chain of resolved promises run to its end. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

export class FakeSocket {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: ClientMessage[] = [];
  closedWith: number | undefined;

  constructor(
    readonly url: string,
    readonly protocols: string | string[] | undefined,
  ) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as ClientMessage);
  }

  close(code?: number): void {
    this.closedWith = code ?? 1005;
  }

  // The gateway's side ----------------------------------------------------------------------------------------

  open(): void {
    this.onopen?.({});
  }

  receive(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  serverClose(code: number, reason = ''): void {
    this.onclose?.({ code, reason, wasClean: code !== 1006 });
  }

  requests<T extends RequestType>(type: T): Extract<ClientMessage, { type: T }>[] {
    return this.sent.filter((m): m is Extract<ClientMessage, { type: T }> => m.type === type);
  }

  last<T extends RequestType>(type: T): Extract<ClientMessage, { type: T }> {
    const found = this.requests(type).at(-1);
    if (!found) throw new Error(`no ${type} request was sent`);
    return found;
  }

  reply<T extends RequestType>(type: T, result: ResultOf<T>): void {
    this.receive({ id: this.last(type).id, ok: true, result });
  }

  replyError(type: RequestType, code: string, message = 'refused'): void {
    this.receive({ id: this.last(type).id, ok: false, error: { code, message } });
  }
}

export class FakeTrack {
  readonly kind = 'audio';
  enabled = true;
  stopped = false;

  stop(): void {
    this.stopped = true;
  }
}

export class FakeStream {
  readonly tracks = [new FakeTrack()];

  getTracks(): FakeTrack[] {
    return this.tracks;
  }

  getAudioTracks(): FakeTrack[] {
    return this.tracks;
  }
}

export interface FakeDescription {
  type: string;
  sdp: string;
}

export const LOCAL_SDP = 'v=0\r\no=- 99 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';

/**
 * An RTCDTMFSender whose tones never play: the buffer holds what was last inserted until a test plays it. Like a
 * browser's, it can insert only once the session is negotiated (an answer applied, or given).
 */
export class FakeDtmfSender {
  canInsertDTMF = false;
  toneBuffer = '';
  readonly inserted: { tones: string; duration: number; gap: number }[] = [];

  insertDTMF(tones: string, duration: number, gap: number): void {
    this.inserted.push({ tones, duration, gap });
    this.toneBuffer = tones;
  }

  /** The first tone in the buffer starts playing, and so leaves it. */
  playOne(): void {
    this.toneBuffer = this.toneBuffer.slice(1);
  }
}

export class FakePeer extends EventTarget {
  /** When false, gathering stays under way until the test completes it. */
  static gatherAtOnce = true;
  localDescription: FakeDescription | null = null;
  readonly remoteDescriptions: FakeDescription[] = [];
  readonly candidates: unknown[] = [];
  readonly tracks: unknown[] = [];
  /** One per remote track that arrived. */
  readonly receivers: { track: FakeTrack }[] = [];
  iceGatheringState: 'new' | 'gathering' | 'complete' = 'new';
  closed = false;
  readonly dtmf = new FakeDtmfSender();

  constructor(public config: { iceServers?: unknown[] }) {
    super();
  }

  addTrack(track: unknown): void {
    this.tracks.push(track);
  }

  async createOffer(): Promise<FakeDescription> {
    return { type: 'offer', sdp: LOCAL_SDP };
  }

  async createAnswer(): Promise<FakeDescription> {
    return { type: 'answer', sdp: LOCAL_SDP };
  }

  async setLocalDescription(description: FakeDescription): Promise<void> {
    this.localDescription = description;
    if (description.type === 'answer') this.dtmf.canInsertDTMF = true;
    this.iceGatheringState = FakePeer.gatherAtOnce ? 'complete' : 'gathering';
  }

  async setRemoteDescription(description: FakeDescription): Promise<void> {
    this.remoteDescriptions.push(description);
    if (description.type === 'answer') this.dtmf.canInsertDTMF = true;
  }

  async addIceCandidate(candidate?: unknown): Promise<void> {
    this.candidates.push(candidate ?? null);
  }

  getSenders(): { track: unknown; dtmf: FakeDtmfSender }[] {
    return this.tracks.map((track) => ({ track, dtmf: this.dtmf }));
  }

  getReceivers(): { track: FakeTrack }[] {
    return this.receivers;
  }

  getConfiguration(): { iceServers?: unknown[] } {
    return this.config;
  }

  setConfiguration(config: { iceServers?: unknown[] }): void {
    this.config = config;
  }

  close(): void {
    this.closed = true;
  }

  // The network's side ----------------------------------------------------------------------------------------

  gather(candidate: string | null): void {
    const event = Object.assign(new Event('icecandidate'), {
      candidate: candidate === null ? null : { candidate, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null },
    });
    this.dispatchEvent(event);
  }

  completeGathering(): void {
    this.iceGatheringState = 'complete';
    this.dispatchEvent(new Event('icegatheringstatechange'));
    this.gather(null);
  }

  remoteTrack(stream: unknown): FakeTrack {
    const track = new FakeTrack();
    this.receivers.push({ track });
    this.dispatchEvent(Object.assign(new Event('track'), { track, streams: [stream] }));
    return track;
  }
}

export class FakeAudio {
  srcObject: unknown = null;
  plays = 0;
  playResult: Promise<void> = Promise.resolve();

  play(): Promise<void> {
    this.plays++;
    return this.playResult;
  }
}

/** A DOMException-like failure, as getUserMedia reports them. */
export function domError(name: string): Error {
  return Object.assign(new Error(name), { name });
}

export interface Harness {
  phone: Phone;
  sockets: FakeSocket[];
  socket(): FakeSocket;
  peers: FakePeer[];
  peer(): FakePeer;
  streams: FakeStream[];
  audio: FakeAudio;
  timers: ManualTimers;
  tokens: string[];
  /** Makes the next getUserMedia calls fail with this DOMException name. */
  microphone: { failWith: string | undefined };
  /** Connects and welcomes the phone; resolves once it is connected. */
  login(welcome?: Parameters<typeof welcomeResult>[0]): Promise<void>;
}

export function harness(options: Partial<PhoneOptions> = {}): Harness {
  const sockets: FakeSocket[] = [];
  const peers: FakePeer[] = [];
  const streams: FakeStream[] = [];
  const tokens: string[] = [];
  const timers = new ManualTimers();
  const audio = new FakeAudio();
  const microphone: Harness['microphone'] = { failWith: undefined };
  FakePeer.gatherAtOnce = true;
  class Socket extends FakeSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  class Peer extends FakePeer {
    constructor(config: { iceServers?: unknown[] }) {
      super(config);
      peers.push(this);
    }
  }
  const phone = createPhone({
    url: 'wss://gw.example.com/ws',
    getToken: async () => {
      const token = `token-${tokens.length + 1}`;
      tokens.push(token);
      return token;
    },
    instance: 'tab-test',
    WebSocket: Socket as unknown as typeof WebSocket,
    RTCPeerConnection: Peer as unknown as typeof RTCPeerConnection,
    getUserMedia: async () => {
      if (microphone.failWith) throw domError(microphone.failWith);
      const stream = new FakeStream();
      streams.push(stream);
      return stream as unknown as MediaStream;
    },
    audioElement: audio as unknown as HTMLAudioElement,
    timers,
    random: () => 0.5,
    ...options,
  });
  const h: Harness = {
    phone,
    sockets,
    socket: () => {
      const socket = sockets.at(-1);
      if (!socket) throw new Error('no socket was opened');
      return socket;
    },
    peers,
    peer: () => {
      const peer = peers.at(-1);
      if (!peer) throw new Error('no peer connection was created');
      return peer;
    },
    streams,
    audio,
    timers,
    tokens,
    microphone,
    async login(welcome) {
      const connected = phone.connect();
      await settle();
      h.socket().open();
      h.socket().reply('hello', welcomeResult(welcome));
      await connected;
    },
  };
  return h;
}
