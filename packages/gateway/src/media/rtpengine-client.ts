/**
 * A client for rtpengine's ng control protocol: each command is `<cookie> <bencoded dictionary>` in one UDP
 * datagram, and the reply echoes the cookie. UDP may lose either datagram, so a command is sent again, with the
 * same cookie, at growing intervals until a reply arrives or `timeoutMs` runs out. Reusing the cookie matters:
 * rtpengine caches replies by cookie, so a retransmitted offer is answered from that cache instead of being
 * executed twice.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { cryptoRandom, systemClock, type Clock, type Random, type TimerHandle } from '@switchboard/sip';
import type { Logger } from 'pino';
import { bdecode, bencode, isBencodeDict, type BencodeDict, type BencodeValue } from './bencode.js';
import { MediaError } from './media-error.js';

export type MediaLogger = Pick<Logger, 'debug' | 'info' | 'warn'>;

export interface RtpengineClientOptions {
  readonly host: string;
  readonly port: number;
  /** How long one command may take, retransmissions included. */
  readonly timeoutMs: number;
  readonly logger?: MediaLogger;
  readonly clock?: Clock;
  readonly random?: Random;
  /** Wait before the first retransmission; each later one waits twice as long as the one before. Default 200 ms. */
  readonly retransmitMs?: number;
}

/** How rtpengine rewrites the SDP it returns; every field maps to the ng key of the same meaning. */
export interface NgSdpOptions {
  /** `transport-protocol`: the profile of the m= lines written, e.g. `RTP/AVP` or `UDP/TLS/RTP/SAVPF`. */
  readonly transportProtocol?: string;
  /** `ICE`: `remove` strips ICE from the SDP written; `force` adds rtpengine's own candidates. */
  readonly ice?: 'remove' | 'force' | 'default' | 'force-relay' | 'optional';
  /** `DTLS`: `off` disables DTLS-SRTP towards the receiving peer; `passive`/`active` choose rtpengine's role. */
  readonly dtls?: 'off' | 'passive' | 'active' | 'no';
  /** `SDES`: e.g. `['off']` so that no a=crypto lines are offered. */
  readonly sdes?: readonly string[];
  /** `rtcp-mux`: e.g. `['demux']` towards plain RTP phones, `['offer', 'require']` towards browsers. */
  readonly rtcpMux?: readonly ('offer' | 'require' | 'demux' | 'accept' | 'reject')[];
  /** `replace`: e.g. `['origin', 'session-connection']`. */
  readonly replace?: readonly string[];
  /** `flags`: e.g. `['generate-mid']`. */
  readonly flags?: readonly string[];
  /** `codec`: `{ strip: ['all'], except: ['PCMU'] }` and the like. */
  readonly codec?: { readonly [option: string]: readonly string[] };
}

export interface NgOfferParams extends NgSdpOptions {
  readonly callId: string;
  readonly fromTag: string;
  /** Present on re-offers within an established dialog. */
  readonly toTag?: string;
  readonly sdp: string;
}

export interface NgAnswerParams extends NgSdpOptions {
  readonly callId: string;
  /** The tag of the side that made the offer. */
  readonly fromTag: string;
  readonly toTag: string;
  readonly sdp: string;
}

export interface NgDeleteParams {
  readonly callId: string;
  /** Without tags the whole call goes. */
  readonly fromTag?: string;
  readonly toTag?: string;
  /**
   * `delete-delay`: seconds rtpengine keeps the call after the delete (its own default is 30, so that late
   * signalling still finds it); 0 deletes at once.
   */
  readonly delaySeconds?: number;
}

/** A participant of an ng call: the one its tag names (`play media` plays to it; `stop media` stops that). */
export interface NgParticipant {
  readonly callId: string;
  readonly fromTag: string;
}

export interface NgPlayMediaParams extends NgParticipant {
  /** A media file on rtpengine's host, in any format its ffmpeg reads. */
  readonly file: string;
  /** `repeat-times`: how many times the file plays (rtpengine's default is once). */
  readonly repeatTimes?: number;
}

export interface NgSdpReply {
  readonly sdp: string;
  /** rtpengine's `warning`, when it accepted the command with reservations. */
  readonly warning: string | undefined;
}

const COOKIE_BYTES = 8;
/** The largest UDP payload: an ng reply cannot be larger. */
const MAX_REPLY_BYTES = 65_535;
const REPLY_MAX_DEPTH = 16;
const DEFAULT_RETRANSMIT_MS = 200;

interface PendingCommand {
  readonly command: string;
  readonly packet: Buffer;
  readonly startedAt: number;
  attempts: number;
  nextInterval: number;
  lastSendError: Error | undefined;
  retransmitTimer: TimerHandle | undefined;
  deadlineTimer: TimerHandle | undefined;
  resolve(reply: BencodeDict): void;
  reject(error: MediaError): void;
}

export class RtpengineClient {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  private readonly logger: MediaLogger | undefined;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly retransmitMs: number;
  private readonly pending = new Map<string, PendingCommand>();
  private socket: Socket | undefined;
  private closed = false;

  constructor(options: RtpengineClientOptions) {
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65_535) {
      throw new MediaError('invalid-argument', `rtpengine port must be 1-65535, not ${options.port}`);
    }
    if (!(options.timeoutMs > 0)) throw new MediaError('invalid-argument', `rtpengine timeoutMs must be positive, not ${options.timeoutMs}`);
    this.host = options.host.replace(/^\[(.*)\]$/, '$1');
    this.port = options.port;
    this.timeoutMs = options.timeoutMs;
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? cryptoRandom;
    this.retransmitMs = Math.max(1, options.retransmitMs ?? DEFAULT_RETRANSMIT_MS);
  }

  /** `host:port`, as messages name it. */
  get address(): string {
    return isIP(this.host) === 6 ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** Resolves when rtpengine answers `pong`. */
  async ping(): Promise<void> {
    const reply = await this.command('ping', {});
    if (reply['result'] !== 'pong') throw this.invalidReply('ping', `result ${describe(reply['result'])} instead of "pong"`);
  }

  offer(params: NgOfferParams): Promise<NgSdpReply> {
    return this.sdpCommand('offer', params);
  }

  answer(params: NgAnswerParams): Promise<NgSdpReply> {
    return this.sdpCommand('answer', params);
  }

  async delete(params: NgDeleteParams): Promise<void> {
    await this.command('delete', {
      'call-id': params.callId,
      'from-tag': params.fromTag,
      'to-tag': params.toTag,
      'delete-delay': params.delaySeconds,
    } as BencodeDict);
  }

  /**
   * Starts playing a file to a participant, in place of what the other side sends it (rtpengine must be built with
   * transcoding). Resolves with the file's length when rtpengine could tell it.
   */
  async playMedia(params: NgPlayMediaParams): Promise<{ durationMs: number | undefined }> {
    const reply = await this.command('play media', {
      'call-id': params.callId,
      'from-tag': params.fromTag,
      file: params.file,
      'repeat-times': params.repeatTimes,
    } as BencodeDict);
    const duration = reply['duration'];
    return { durationMs: typeof duration === 'number' && duration >= 0 ? duration : undefined };
  }

  /** Stops what `playMedia` started; the participant gets the other side's media again. */
  async stopMedia(params: NgParticipant): Promise<void> {
    await this.command('stop media', participant(params));
  }

  /** Drops the media a participant sends (its DTMF events still pass), until `unblockMedia`. */
  async blockMedia(params: NgParticipant): Promise<void> {
    await this.command('block media', participant(params));
  }

  async unblockMedia(params: NgParticipant): Promise<void> {
    await this.command('unblock media', participant(params));
  }

  /**
   * Any ng command; resolves with the reply dictionary when its result is `ok` or `pong`. Rejects with
   * `MediaError`: `unreachable` (no reply within timeoutMs), `refused` (result `error`, or rtpengine over its load
   * limit), `invalid-reply`, `closed`.
   */
  command(name: string, params: BencodeDict): Promise<BencodeDict> {
    if (this.closed) return Promise.reject(new MediaError('closed', `the rtpengine client for ${this.address} is closed`));
    let packet: Buffer;
    const cookie = this.newCookie();
    try {
      packet = Buffer.concat([Buffer.from(`${cookie} `, 'latin1'), bencode({ ...params, command: name }, { maxBytes: MAX_REPLY_BYTES })]);
    } catch (error) {
      return Promise.reject(new MediaError('invalid-argument', `ng ${name} could not be encoded: ${(error as Error).message}`, { cause: error }));
    }
    const socket = this.ensureSocket();
    return new Promise<BencodeDict>((resolve, reject) => {
      const entry: PendingCommand = {
        command: name,
        packet,
        startedAt: this.clock.now(),
        attempts: 0,
        nextInterval: this.retransmitMs,
        lastSendError: undefined,
        retransmitTimer: undefined,
        deadlineTimer: undefined,
        resolve,
        reject,
      };
      if (this.pending.size === 0) socket.ref();
      this.pending.set(cookie, entry);
      entry.deadlineTimer = this.clock.setTimeout(() => this.expire(cookie), this.timeoutMs);
      this.logger?.debug({ command: name, cookie, callId: params['call-id'], rtpengine: this.address }, 'ng command');
      if (typeof params['sdp'] === 'string') this.logger?.debug({ command: name, cookie, sdp: params['sdp'] }, 'ng command SDP');
      this.transmit(cookie, entry);
    });
  }

  /** Ends every pending command with `closed` and releases the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [cookie, entry] of this.pending) {
      this.finish(cookie, entry);
      entry.reject(new MediaError('closed', `the rtpengine client for ${this.address} was closed during ng ${entry.command}`));
    }
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined) return;
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  private async sdpCommand(name: 'offer' | 'answer', params: NgOfferParams | NgAnswerParams): Promise<NgSdpReply> {
    const reply = await this.command(name, {
      'call-id': params.callId,
      'from-tag': params.fromTag,
      'to-tag': params.toTag,
      sdp: params.sdp,
      ...sdpOptions(params),
    } as BencodeDict);
    const sdp = reply['sdp'];
    if (typeof sdp !== 'string' || !sdp.startsWith('v=0')) throw this.invalidReply(name, 'no SDP in the reply');
    const warning = typeof reply['warning'] === 'string' ? reply['warning'] : undefined;
    this.logger?.debug({ command: name, callId: params.callId, sdp }, 'ng reply SDP');
    return { sdp, warning };
  }

  private newCookie(): string {
    for (;;) {
      const cookie = Buffer.from(this.random.bytes(COOKIE_BYTES)).toString('hex');
      if (!this.pending.has(cookie)) return cookie;
    }
  }

  private ensureSocket(): Socket {
    if (this.socket !== undefined) return this.socket;
    const socket = createSocket(isIP(this.host) === 6 ? 'udp6' : 'udp4');
    socket.on('message', (message, remote) => this.onMessage(message, remote));
    // Send failures arrive in the send callbacks; this only keeps an asynchronous socket error from crashing us.
    socket.on('error', (error) => this.logger?.warn({ err: error, rtpengine: this.address }, 'rtpengine control socket error'));
    socket.unref();
    this.socket = socket;
    return socket;
  }

  private transmit(cookie: string, entry: PendingCommand): void {
    const socket = this.socket;
    if (socket === undefined) return;
    entry.attempts++;
    socket.send(entry.packet, this.port, this.host, (error) => {
      // A failed send (no route, unresolvable name) is not final: the next retransmission may succeed, and the
      // deadline reports the failure with this error as its cause.
      if (error) entry.lastSendError = error;
    });
    const elapsed = this.clock.now() - entry.startedAt;
    if (elapsed + entry.nextInterval >= this.timeoutMs) return;
    const interval = entry.nextInterval;
    entry.nextInterval *= 2;
    entry.retransmitTimer = this.clock.setTimeout(() => {
      entry.retransmitTimer = undefined;
      if (this.pending.get(cookie) === entry) this.transmit(cookie, entry);
    }, interval);
  }

  private expire(cookie: string): void {
    const entry = this.pending.get(cookie);
    if (entry === undefined) return;
    entry.deadlineTimer = undefined;
    this.finish(cookie, entry);
    const attempts = entry.attempts === 1 ? '1 attempt' : `${entry.attempts} attempts`;
    const why = entry.lastSendError === undefined ? '' : ` (last send failed: ${entry.lastSendError.message})`;
    const error = new MediaError(
      'unreachable',
      `rtpengine at ${this.address} did not answer ng ${entry.command} within ${this.timeoutMs} ms (${attempts})${why}; rtpengine may be down or the address wrong`,
      entry.lastSendError === undefined ? {} : { cause: entry.lastSendError },
    );
    this.logger?.warn({ command: entry.command, rtpengine: this.address, attempts: entry.attempts }, 'rtpengine did not answer');
    entry.reject(error);
  }

  private finish(cookie: string, entry: PendingCommand): void {
    if (entry.retransmitTimer !== undefined) this.clock.clearTimeout(entry.retransmitTimer);
    if (entry.deadlineTimer !== undefined) this.clock.clearTimeout(entry.deadlineTimer);
    this.pending.delete(cookie);
    if (this.pending.size === 0) this.socket?.unref();
  }

  private onMessage(message: Buffer, remote: RemoteInfo): void {
    if (remote.port !== this.port || (isIP(this.host) !== 0 && remote.address !== this.host)) {
      this.logger?.debug({ from: `${remote.address}:${remote.port}` }, 'ignored a datagram from a stranger on the rtpengine control socket');
      return;
    }
    const space = message.indexOf(0x20);
    const cookie = space > 0 ? message.toString('latin1', 0, space) : undefined;
    const entry = cookie === undefined ? undefined : this.pending.get(cookie);
    if (cookie === undefined || entry === undefined) {
      // Duplicates of replies already taken (a retransmission answered twice) and replies after a timeout.
      this.logger?.debug({ cookie, bytes: message.length }, 'ignored an ng reply for no pending command');
      return;
    }
    let reply: BencodeValue;
    try {
      reply = bdecode(message.subarray(space + 1), { maxBytes: MAX_REPLY_BYTES, maxDepth: REPLY_MAX_DEPTH });
    } catch (error) {
      this.settle(cookie, entry, this.invalidReply(entry.command, (error as Error).message, error));
      return;
    }
    if (!isBencodeDict(reply)) {
      this.settle(cookie, entry, this.invalidReply(entry.command, 'the reply is not a dictionary'));
      return;
    }
    const result = reply['result'];
    if (result === 'ok' || result === 'pong') {
      if (typeof reply['warning'] === 'string') this.logger?.warn({ command: entry.command, warning: reply['warning'] }, 'rtpengine accepted with a warning');
      this.finish(cookie, entry);
      entry.resolve(reply);
      return;
    }
    if (result === 'error' || result === 'load limit') {
      const reason = typeof reply['error-reason'] === 'string' ? reply['error-reason'] : result === 'load limit' ? 'over its load limit' : 'no reason given';
      this.logger?.warn({ command: entry.command, reason, rtpengine: this.address }, 'rtpengine refused a command');
      this.settle(cookie, entry, new MediaError('refused', `rtpengine at ${this.address} refused ng ${entry.command}: ${reason}`));
      return;
    }
    this.settle(cookie, entry, this.invalidReply(entry.command, `unknown result ${describe(result)}`));
  }

  private settle(cookie: string, entry: PendingCommand, error: MediaError): void {
    this.finish(cookie, entry);
    entry.reject(error);
  }

  private invalidReply(command: string, why: string, cause?: unknown): MediaError {
    return new MediaError('invalid-reply', `rtpengine at ${this.address} sent an unusable reply to ng ${command}: ${why}`, cause === undefined ? {} : { cause });
  }
}

function participant(params: NgParticipant): BencodeDict {
  return { 'call-id': params.callId, 'from-tag': params.fromTag };
}

function sdpOptions(options: NgSdpOptions): BencodeDict {
  const list = (values: readonly string[] | undefined): string[] | undefined => (values === undefined ? undefined : [...values]);
  return {
    'transport-protocol': options.transportProtocol,
    ICE: options.ice,
    DTLS: options.dtls,
    SDES: list(options.sdes),
    'rtcp-mux': list(options.rtcpMux),
    replace: list(options.replace),
    flags: list(options.flags),
    codec: options.codec === undefined ? undefined : Object.fromEntries(Object.entries(options.codec).map(([k, v]) => [k, [...v]])),
  } as BencodeDict;
}

function describe(value: BencodeValue | undefined): string {
  if (value === undefined) return 'missing';
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
}
