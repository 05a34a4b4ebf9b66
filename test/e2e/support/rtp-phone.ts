// A desk phone of our own, built on @switchboard/sip, for what baresip 1.0 cannot show: it registers at Kamailio,
// answers every call (and every re-INVITE, in the direction that meets the offer's) with the first G.711 codec
// offered (PCMU or PCMA; 488 for neither), keeps what it hears with the time it arrived and its SSRC, and on
// demand speaks a tone, calls out, and re-INVITEs its call with its media moved to a new port. baresip stops
// recording at a call's first re-INVITE; this one hears through them.
import { createSocket, type Socket } from 'node:dgram';
import {
  cryptoRandom, Dialog, dialogKey, DigestClient, formatNameAddr, nextHop, UserAgent, type IncomingRequest, type SipRequest, type SipResponse,
  type SipTransport,
} from '@switchboard/sip';
import { createTransport, nodeDigestHasher } from '@switchboard/sip/node';
import { admitToDialog } from './answering-uas.js';
import { detectTone, type ToneDetection } from './audio.js';
import type { Kamailio } from './kamailio.js';
import { LOOPBACK } from './ports.js';

const SAMPLE_RATE = 8000;
/** Samples in one 20 ms packet. */
const FRAME = 160;

/** One RTP packet's audio as it arrived. */
interface Heard {
  readonly at: number;
  readonly ssrc: number;
  readonly samples: Int16Array;
}

export interface RtpPhone {
  readonly user: string;
  /** The offers and answers of every INVITE in its calls, re-INVITEs included, with the direction it answered. */
  readonly invites: { offer: string; answered: string }[];
  /** Whether a tone of `hz` was in the audio that arrived in the last `windowMs`. */
  hears(hz: number, windowMs?: number): ToneDetection;
  /** The SSRCs of the packets that arrived in the last `windowMs`. */
  ssrcs(windowMs?: number): Set<number>;
  /**
   * Sends a tone of `hz` to the far end of its call, in the codec the call agreed, whenever the call lets it send,
   * until the phone closes.
   */
  talk(hz: number): void;
  /** Stops (true) or resumes (false) what talk() sends, as a muted phone would. */
  mute(muted: boolean): void;
  /** Calls `user` at Kamailio; resolves once answered. */
  dial(user: string): Promise<void>;
  /**
   * Re-INVITEs its call with its media on a new port (at `address`, 0.0.0.0 being the hold of RFC 2543), offering
   * `codecs` (default PCMU), and resolves with the final response. On a 2xx it hears and speaks from the new port
   * only (the old one is closed), in the first of its codecs that the answer lists.
   */
  move(options?: { address?: string; codecs?: readonly Codec[] }): Promise<{ status: number; answer: string }>;
  hangup(): Promise<void>;
  close(): Promise<void>;
}

export type Codec = 'PCMU' | 'PCMA';
const PAYLOAD: Record<Codec, number> = { PCMU: 0, PCMA: 8 };

/** µ-law (G.711) to linear PCM, as ITU-T G.711 decodes it. */
function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4)) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
}

/** Linear PCM to µ-law, the encoder that ulawToLinear inverts. */
function linearToUlaw(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  const magnitude = Math.min(Math.abs(sample), 32_635) + 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** A-law (G.711) to linear PCM. */
function alawToLinear(byte: number): number {
  const a = byte ^ 0x55;
  let t = (a & 0x0f) << 4;
  const segment = (a & 0x70) >> 4;
  if (segment === 0) t += 8;
  else t = (t + 0x108) << (segment - 1);
  return a & 0x80 ? t : -t;
}

const A_SEGMENT_ENDS = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

/** Linear PCM to A-law, the encoder that alawToLinear inverts. */
function linearToAlaw(sample: number): number {
  let value = sample >> 3;
  let mask = 0xd5;
  if (value < 0) {
    mask = 0x55;
    value = -value - 1;
  }
  const segment = A_SEGMENT_ENDS.findIndex((end) => value <= end);
  if (segment < 0) return 0x7f ^ mask;
  return ((segment << 4) | ((segment < 2 ? value >> 1 : value >> segment) & 0x0f)) ^ mask;
}

const DECODE: Record<number, (byte: number) => number> = { 0: ulawToLinear, 8: alawToLinear };
const ENCODE: Record<number, (sample: number) => number> = { 0: linearToUlaw, 8: linearToAlaw };

const DIRECTION = /^a=(sendrecv|sendonly|recvonly|inactive)\r?$/m;
const MEETS: Record<string, string> = { sendrecv: 'sendrecv', sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive' };

/** Where the far end of an SDP receives, unless it will not (port 0, c=0.0.0.0). */
function receiverOf(sdp: string): { host: string; port: number } | undefined {
  const host = /^c=IN IP4 (\S+)/m.exec(sdp)?.[1];
  const port = Number(/^m=audio (\d+)/m.exec(sdp)?.[1]);
  return host === undefined || host === '0.0.0.0' || !(port > 0) ? undefined : { host, port };
}

export async function startRtpPhone(options: { kamailio: Kamailio; user: string; password: string }): Promise<RtpPhone> {
  const heard: Heard[] = [];
  const listen = (socket: Socket): void => {
    socket.on('message', (packet) => {
      // RTP version 2, payload type 0 (PCMU) or 8 (PCMA): a 12-byte header, its CSRCs and header extension, then the
      // payload and any padding.
      const decode = packet.length < 12 || packet[0]! >> 6 !== 2 ? undefined : DECODE[packet[1]! & 0x7f];
      if (decode === undefined) return;
      let start = 12 + (packet[0]! & 0x0f) * 4;
      if (packet[0]! & 0x10) start += packet.length >= start + 4 ? 4 + packet.readUInt16BE(start + 2) * 4 : packet.length;
      const end = packet.length - (packet[0]! & 0x20 ? packet[packet.length - 1]! : 0);
      if (start >= end) return;
      const samples = new Int16Array(end - start);
      for (let i = start; i < end; i++) samples[i - start] = decode(packet[i]!);
      heard.push({ at: Date.now(), ssrc: packet.readUInt32BE(8), samples });
    });
  };
  const openRtp = async (): Promise<Socket> => {
    const socket = createSocket('udp4');
    listen(socket);
    await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
    return socket;
  };
  let rtp = await openRtp();

  const transport: SipTransport = await createTransport({ protocol: 'udp', host: LOOPBACK, port: 0 });
  const ua = new UserAgent({ transports: [transport], product: 'Switchboard-test-rtp-phone' });
  const digest = new DigestClient({ credentials: { username: options.user, password: options.password }, hasher: nodeDigestHasher, random: cryptoRandom });
  const contact = ua.contact(options.user, 'udp');
  const dialogs = new Map<string, Dialog>();
  const invites: { offer: string; answered: string }[] = [];
  /** The call under way: its dialog, where its far end receives, whether this phone may send, and in which payload. */
  let call: { dialog: Dialog; peer: { host: string; port: number } | undefined; sending: boolean; payload: number } | undefined;
  let version = 1;

  const sdp = (port: number, direction: string, address = LOOPBACK, codecs: readonly Codec[] = ['PCMU']): string =>
    [
      'v=0', `o=- 1 ${version++} IN IP4 ${LOOPBACK}`, 's=-', `c=IN IP4 ${address}`, 't=0 0',
      `m=audio ${port} RTP/AVP ${codecs.map((codec) => PAYLOAD[codec]).join(' ')}`,
      ...codecs.map((codec) => `a=rtpmap:${PAYLOAD[codec]} ${codec}/8000`), `a=${direction}`, '',
    ].join('\r\n');
  /**
   * The payload this phone sends in: the first of its own `codecs` that the answer lists (RFC 3264 §6.1 lets the
   * offerer send any codec of the answer).
   */
  const payloadOf = (answer: string, codecs: readonly Codec[] = ['PCMU']): number => {
    const answered = (/^m=audio \d+ \S+ ([\d ]+)/m.exec(answer)?.[1] ?? '').split(' ').map(Number);
    return codecs.map((codec) => PAYLOAD[codec]).find((payload) => answered.includes(payload)) ?? 0;
  };

  const answer = (incoming: IncomingRequest, dialog: Dialog | undefined): void => {
    const offer = incoming.request.bodyText;
    const offered = (/^m=audio \d+ \S+ ([\d ]+)/m.exec(offer)?.[1] ?? '').split(' ').map(Number);
    const payload = offered.find((type) => type in ENCODE);
    const codec = (Object.keys(PAYLOAD) as Codec[]).find((name) => PAYLOAD[name] === payload);
    if (payload === undefined || codec === undefined) {
      incoming.respond(488);
      return;
    }
    const direction = MEETS[DIRECTION.exec(offer)?.[1] ?? 'sendrecv'] ?? 'sendrecv';
    const response = incoming.respond(200, {
      body: sdp(rtp.address().port, direction, LOOPBACK, [codec]), contentType: 'application/sdp', headers: [['Contact', formatNameAddr(contact)]],
    });
    invites.push({ offer, answered: direction });
    if (response === undefined) return;
    const inCall = dialog ?? Dialog.fromUas(incoming.request, response);
    if (dialog === undefined) dialogs.set(dialogKey(inCall.id), inCall);
    call = { dialog: inCall, peer: receiverOf(offer), sending: direction === 'sendrecv' || direction === 'sendonly', payload };
  };

  ua.on('request', (incoming) => {
    const { request } = incoming;
    if (request.method === 'INVITE' && request.toTag === undefined) {
      answer(incoming, undefined);
      return;
    }
    const dialog = admitToDialog(dialogs, incoming);
    if (dialog === undefined) return;
    if (request.method === 'INVITE') {
      answer(incoming, dialog);
      return;
    }
    incoming.respond(200);
    if (request.method === 'BYE') {
      dialogs.delete(dialogKey(dialog.id));
      if (call?.dialog === dialog) call = undefined;
    }
  });

  /** Sends an INVITE and resolves with its final response; a 2xx is ACKed. */
  const invite = (request: SipRequest, ack: (response: SipResponse) => SipRequest): Promise<SipResponse> =>
    new Promise((resolve, reject) => {
      const transaction = ua.sendInvite(request, nextHop(request, 'udp'));
      let acked: SipRequest | undefined;
      transaction.on('response', ({ response }) => {
        if (response.status < 200) return;
        if (response.status < 300) {
          acked ??= ack(response);
          void ua.sendAck(acked, nextHop(acked, 'udp')).catch(() => undefined);
        }
        resolve(response);
      });
      transaction.on('timeout', () => reject(new Error(`${options.user}: no answer to the ${request.method}`)));
      transaction.on('transport-error', ({ error }) => reject(error));
    });

  const register = ua.createRequest('REGISTER', options.kamailio.uri('udp'), { from: options.kamailio.aor(options.user), contact });
  register.append('Expires', 300);
  const registered = await ua.request(register, nextHop(register, 'udp'), { digest });
  if (registered.status !== 200) throw new Error(`the phone ${options.user} could not register: ${registered.status} ${registered.reason}`);

  let talking: NodeJS.Timeout | undefined;
  let muted = false;
  const recent = (windowMs: number): Heard[] => {
    const since = Date.now() - windowMs;
    return heard.filter((h) => h.at >= since);
  };
  return {
    user: options.user,
    invites,
    hears(hz, windowMs = 1000) {
      const packets = recent(windowMs);
      const samples = new Int16Array(packets.reduce((n, p) => n + p.samples.length, 0));
      let offset = 0;
      for (const p of packets) {
        samples.set(p.samples, offset);
        offset += p.samples.length;
      }
      return detectTone(samples, SAMPLE_RATE, hz);
    },
    ssrcs: (windowMs = 1000) => new Set(recent(windowMs).map((h) => h.ssrc)),
    talk(hz) {
      if (talking !== undefined) clearInterval(talking);
      const ssrc = cryptoRandom.bytes(4).reduce((n, b) => (n * 256 + b) >>> 0, 0);
      let seq = 0;
      let sample = 0;
      talking = setInterval(() => {
        const peer = call?.sending && !muted ? call.peer : undefined;
        if (peer === undefined) return;
        const payload = call!.payload;
        const encode = ENCODE[payload]!;
        const packet = Buffer.alloc(12 + FRAME);
        packet[0] = 0x80;
        packet[1] = payload;
        packet.writeUInt16BE(seq++ & 0xffff, 2);
        packet.writeUInt32BE((sample >>> 0) & 0xffffffff, 4);
        packet.writeUInt32BE(ssrc, 8);
        for (let i = 0; i < FRAME; i++, sample++) packet[12 + i] = encode(Math.round(8000 * Math.sin((2 * Math.PI * hz * sample) / SAMPLE_RATE)));
        rtp.send(packet, peer.port, peer.host);
      }, 20);
    },
    mute(value) {
      muted = value;
    },
    async dial(user) {
      const offer = sdp(rtp.address().port, 'sendrecv');
      const first = ua.createRequest('INVITE', options.kamailio.aor(user), { from: options.kamailio.aor(options.user), contact });
      first.setBody(offer, 'application/sdp');
      let request = first;
      const accept = (response: SipResponse): SipRequest => {
        const dialog = Dialog.fromUac(request, response);
        dialogs.set(dialogKey(dialog.id), dialog);
        call = { dialog, peer: receiverOf(response.bodyText), sending: true, payload: payloadOf(response.bodyText) };
        return dialog.createAck(request);
      };
      let response = await invite(request, accept);
      if (response.status === 407 || response.status === 401) {
        const authorization = digest.authorize(first, response);
        request = first.clone();
        request.remove('Via');
        request.set(authorization.header, ...authorization.values);
        request.set('CSeq', { seq: (first.cseq?.seq ?? 1) + 1, method: 'INVITE' });
        response = await invite(request, accept);
      }
      if (response.status >= 300) throw new Error(`${options.user} could not call ${user}: ${response.status} ${response.reason}`);
    },
    async move({ address = LOOPBACK, codecs = ['PCMU'] as readonly Codec[] } = {}) {
      const current = call;
      if (current === undefined) throw new Error(`${options.user} has no call to move`);
      const moved = await openRtp();
      const reinvite = current.dialog.createRequest('INVITE', { body: sdp(moved.address().port, 'sendrecv', address, codecs), contentType: 'application/sdp' });
      const response = await invite(reinvite, (ok) => {
        current.dialog.receiveResponse(ok);
        return current.dialog.createAck(reinvite);
      });
      const result = { status: response.status, answer: response.bodyText };
      if (response.status >= 300) {
        moved.close();
        return result;
      }
      const old = rtp;
      rtp = moved;
      old.close();
      current.peer = receiverOf(response.bodyText);
      const direction = DIRECTION.exec(response.bodyText)?.[1] ?? 'sendrecv';
      current.sending = direction === 'sendrecv' || direction === 'recvonly';
      current.payload = payloadOf(response.bodyText, codecs);
      return result;
    },
    async hangup() {
      const current = call;
      if (current === undefined) return;
      call = undefined;
      const bye = current.dialog.createRequest('BYE');
      await ua.request(bye, nextHop(bye, 'udp'));
      dialogs.delete(dialogKey(current.dialog.id));
    },
    async close() {
      if (talking !== undefined) clearInterval(talking);
      await ua.close();
      await transport.close();
      rtp.close();
    },
  };
}
