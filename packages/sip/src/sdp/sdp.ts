/**
 * SDP (RFC 4566/8866) for the gateway: parse and write with `sdp-transform`, plus the few offer/answer edits
 * (RFC 3264) a SIP–WebRTC gateway makes. Every operation takes a session description and returns a new one; the
 * input is never changed, so an offer can be kept as received while variants of it are sent on.
 */
import { parse as parseRaw, write as writeRaw, type MediaDescription, type SessionDescription } from 'sdp-transform';
import { SipError } from '../errors.js';

export type SdpSession = SessionDescription;
export type SdpMedia = MediaDescription;
export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
export type BandwidthType = 'AS' | 'TIAS';

export interface SdpCodec {
  readonly payload: number;
  /** As written in a=rtpmap (or the RFC 3551 name of a static payload type without one). */
  readonly name: string;
  readonly clockRate: number | undefined;
  /** Audio channels, when the rtpmap states them. */
  readonly channels: number | undefined;
  /** The a=fmtp parameters, as written. */
  readonly fmtp: string | undefined;
}

export interface FilterCodecsOptions {
  /** Filter only this media section; default all. */
  mediaIndex?: number;
  /**
   * What to do with an RTP section left without any allowed codec. `'reject'` (default) sets its port to 0, the
   * RFC 3264 §6/§8.2 way to refuse a stream while keeping the m= line so answer and offer stay aligned; `'throw'`
   * throws `SipError('sdp')` with status 488.
   */
  onEmpty?: 'reject' | 'throw';
}

export interface SdpConnection {
  readonly address: string;
  readonly ipVersion: number;
  readonly port: number;
}

const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

/** RFC 3551 §6 static payload types, for offers that list them without a=rtpmap (legal, and common on old phones). */
const STATIC_PAYLOADS: ReadonlyMap<number, readonly [string, number, number?]> = new Map([
  [0, ['PCMU', 8000]], [3, ['GSM', 8000]], [4, ['G723', 8000]], [5, ['DVI4', 8000]], [6, ['DVI4', 16000]],
  [7, ['LPC', 8000]], [8, ['PCMA', 8000]], [9, ['G722', 8000]], [10, ['L16', 44100, 2]], [11, ['L16', 44100]],
  [12, ['QCELP', 8000]], [13, ['CN', 8000]], [14, ['MPA', 90000]], [15, ['G728', 8000]], [16, ['DVI4', 11025]],
  [17, ['DVI4', 22050]], [18, ['G729', 8000]], [25, ['CelB', 90000]], [26, ['JPEG', 90000]], [28, ['nv', 90000]],
  [31, ['H261', 90000]], [32, ['MPV', 90000]], [33, ['MP2T', 90000]], [34, ['H263', 90000]],
]);

function sdpError(message: string, status = 400): SipError {
  return new SipError('sdp', message, { status });
}

/**
 * Parses an SDP body. `sdp-transform` accepts anything and returns what it recognised, so the minimal structure
 * is checked here: v=0 first, a well-formed o=, an s=, and at least one well-formed m= line. Throws
 * `SipError('sdp')` with status 400 otherwise.
 */
export function parseSdp(text: string): SdpSession {
  const firstLine = text.replace(/^\s+/, '').split(/\r\n|\r|\n/, 1)[0];
  if (firstLine !== 'v=0') throw sdpError('SDP must start with v=0');
  let session: SdpSession;
  try {
    session = parseRaw(text);
  } catch (error) {
    throw new SipError('sdp', 'SDP could not be parsed', { status: 400, cause: error });
  }
  if (session.origin === undefined || session.origin.address === undefined) throw sdpError('SDP has no valid o= line');
  if (session.name === undefined) throw sdpError('SDP has no s= line');
  if (session.media.length === 0) throw sdpError('SDP has no m= line');
  session.media.forEach((media, index) => {
    if (media.type === undefined || media.port === undefined || media.protocol === undefined) {
      throw sdpError(`SDP m= line ${index} is malformed`);
    }
    // sdp-transform turns a lone payload type into a number ("m=audio 4000 RTP/AVP 0"); keep the declared type.
    media.payloads = media.payloads === undefined ? '' : String(media.payloads);
  });
  return session;
}

/** Writes SDP text (CRLF line ends). */
export function serializeSdp(sdp: SdpSession): string {
  // The writer fills in missing defaults on the object it is given.
  const text = writeRaw(clone(sdp));
  // It also writes sess-version with %d, which rounds versions beyond 2^53 (kept as strings by the parser).
  const origin = sdp.origin as SdpSession['origin'] | undefined;
  if (origin === undefined || typeof origin.sessionVersion !== 'string') return text;
  const line = `o=${origin.username} ${origin.sessionId} ${origin.sessionVersion} ${origin.netType} IP${origin.ipVer} ${origin.address}`;
  return text.replace(/^o=.*$/m, () => line);
}

/** A deep copy: descriptions are plain JSON-like data. */
export function cloneSdp(sdp: SdpSession): SdpSession {
  return clone(sdp);
}

function clone<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => clone(item)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = clone(item);
    return out as T;
  }
  return value;
}

function mediaAt(sdp: SdpSession, index: number): SdpMedia {
  const media = Number.isInteger(index) ? sdp.media[index] : undefined;
  if (media === undefined) throw new SipError('invalid-argument', `no media section ${index} (SDP has ${sdp.media.length})`);
  return media;
}

/** The indices an operation applies to: one section, or all of them. */
function indices(sdp: SdpSession, mediaIndex: number | undefined): number[] {
  if (mediaIndex !== undefined) {
    mediaAt(sdp, mediaIndex);
    return [mediaIndex];
  }
  return sdp.media.map((_, index) => index);
}

function isRtp(media: SdpMedia): boolean {
  return /(^|\/)RTP\//i.test(media.protocol);
}

/** Payload types in m= line order. */
export function payloadTypes(media: SdpMedia): number[] {
  return String(media.payloads ?? '').split(/\s+/).filter((pt) => /^\d+$/.test(pt)).map(Number);
}

// ---- codecs ----

/** The codecs of a media section, in the order of its m= line (the offerer's preference). */
export function getCodecs(sdp: SdpSession, mediaIndex = 0): SdpCodec[] {
  return codecsOf(mediaAt(sdp, mediaIndex));
}

function codecsOf(media: SdpMedia): SdpCodec[] {
  if (!isRtp(media)) return [];
  return payloadTypes(media).map((payload) => {
    const rtp = media.rtp.find((entry) => entry.payload === payload);
    const fmtp = media.fmtp.find((entry) => entry.payload === payload);
    const known = STATIC_PAYLOADS.get(payload);
    const channels = rtp?.encoding === undefined ? known?.[2] : Number(rtp.encoding);
    return {
      payload,
      name: rtp?.codec ?? known?.[0] ?? '',
      clockRate: rtp?.rate ?? known?.[1],
      channels: Number.isNaN(channels) ? undefined : channels,
      fmtp: fmtp === undefined ? undefined : String(fmtp.config),
    };
  });
}

/**
 * Keeps only the codecs whose names are in `allowed` (case-insensitive, e.g. `['opus', 'PCMU', 'PCMA',
 * 'telephone-event']`) in RTP media sections, in the order the offer lists them; their rtpmap, fmtp and rtcp-fb
 * lines go with them. A retransmission (rtx) or redundancy (red) payload is kept only while the payloads it
 * refers to are. Non-RTP sections (data channels) and sections already rejected (port 0) are left alone.
 *
 * A section left empty is rejected (port 0) unless `onEmpty: 'throw'`; it keeps its first payload type because an
 * m= line needs at least one format (RFC 3264 §6), and leaves any BUNDLE group (RFC 8843 §7.3.3). When filtering
 * leaves no section with media at all, nothing in the offer is acceptable: `SipError('sdp')` with status 488.
 */
export function filterCodecs(sdp: SdpSession, allowed: readonly string[], options: FilterCodecsOptions = {}): SdpSession {
  const names = new Set(allowed.map((name) => name.toLowerCase()));
  const out = clone(sdp);
  let rejectedAny = false;
  for (const index of indices(out, options.mediaIndex)) {
    const media = out.media[index]!;
    if (!isRtp(media) || media.port === 0) continue;
    const codecs = codecsOf(media);
    const kept = new Set(codecs.filter((codec) => names.has(codec.name.toLowerCase())).map((codec) => codec.payload));
    dropOrphans(codecs, kept);
    if (kept.size === 0) {
      if (options.onEmpty === 'throw') throw sdpError(`media section ${index} (${media.type}) has none of ${allowed.join(', ')}`, 488);
      rejectStream(out, media, codecs[0]?.payload);
      rejectedAny = true;
      continue;
    }
    keepPayloads(media, kept);
  }
  if (rejectedAny && out.media.every((media) => media.port === 0)) {
    throw sdpError(`no media section offers any of ${allowed.join(', ')}`, 488);
  }
  return out;
}

/** Removes rtx/red payloads whose referenced payloads are gone; repeats because a removal can orphan another. */
function dropOrphans(codecs: readonly SdpCodec[], kept: Set<number>): void {
  for (let changed = true; changed;) {
    changed = false;
    for (const codec of codecs) {
      if (!kept.has(codec.payload)) continue;
      const refs = referencedPayloads(codec);
      if (refs.length > 0 && !refs.every((payload) => kept.has(payload))) {
        kept.delete(codec.payload);
        changed = true;
      }
    }
  }
}

function referencedPayloads(codec: SdpCodec): number[] {
  const name = codec.name.toLowerCase();
  if (codec.fmtp === undefined) return [];
  if (name === 'rtx') {
    const apt = /(?:^|;)\s*apt=(\d+)/.exec(codec.fmtp);
    return apt === null ? [] : [Number(apt[1])];
  }
  // RFC 2198 §5: "a=fmtp:63 111/111" lists the redundant encodings.
  if (name === 'red') return codec.fmtp.split('/').map((part) => Number(part.trim())).filter(Number.isInteger);
  return [];
}

/**
 * A copy with only `payloads` left in media section `mediaIndex`, with their rtpmap, fmtp and rtcp-fb lines: an
 * answer's payload types applied to the offer it answers (the answer uses the offer's numbers, RFC 3264 §6.1).
 */
export function keepPayloadTypes(sdp: SdpSession, mediaIndex: number, payloads: Iterable<number>): SdpSession {
  const out = clone(sdp);
  keepPayloads(mediaAt(out, mediaIndex), new Set(payloads));
  return out;
}

function keepPayloads(media: SdpMedia, kept: ReadonlySet<number>): void {
  media.payloads = payloadTypes(media).filter((payload) => kept.has(payload)).join(' ');
  media.rtp = media.rtp.filter((entry) => kept.has(entry.payload));
  media.fmtp = media.fmtp.filter((entry) => kept.has(entry.payload));
  // Wildcard feedback ('*') applies to whatever payloads remain.
  const keepFeedback = (payload: number | string): boolean => payload === '*' || kept.has(Number(payload));
  if (media.rtcpFb !== undefined) media.rtcpFb = media.rtcpFb.filter((entry) => keepFeedback(entry.payload));
  if (media.rtcpFbTrrInt !== undefined) media.rtcpFbTrrInt = media.rtcpFbTrrInt.filter((entry) => keepFeedback(entry.payload));
}

function rejectStream(sdp: SdpSession, media: SdpMedia, placeholder: number | undefined): void {
  media.port = 0;
  keepPayloads(media, new Set(placeholder === undefined ? [] : [placeholder]));
  media.fmtp = [];
  delete media.rtcpFb;
  delete media.rtcpFbTrrInt;
  if (media.mid === undefined || sdp.groups === undefined) return;
  const mid = String(media.mid);
  sdp.groups = sdp.groups
    .map((group) => ({ ...group, mids: String(group.mids).split(/\s+/).filter((m) => m !== mid).join(' ') }))
    .filter((group) => group.mids.length > 0);
  if (sdp.groups.length === 0) delete sdp.groups;
}

// ---- direction and hold (RFC 3264 §8.4, RFC 6337 §5) ----

function isDirection(value: unknown): value is MediaDirection {
  return typeof value === 'string' && DIRECTIONS.has(value);
}

/** The direction in force for a media section: its own attribute, else the session's, else sendrecv (RFC 4566 §6). */
export function getDirection(sdp: SdpSession, mediaIndex = 0): MediaDirection {
  const media = mediaAt(sdp, mediaIndex);
  if (isDirection(media.direction)) return media.direction;
  if (isDirection(sdp.direction)) return sdp.direction;
  return 'sendrecv';
}

export function getDirections(sdp: SdpSession): MediaDirection[] {
  return sdp.media.map((_, index) => getDirection(sdp, index));
}

/**
 * Sets the direction of one media section, or of every active RTP section (port not 0) when `mediaIndex` is
 * omitted; in that case a session-level direction is removed, as the per-section attributes now say it all.
 */
export function setDirection(sdp: SdpSession, direction: MediaDirection, mediaIndex?: number): SdpSession {
  if (!isDirection(direction)) throw new SipError('invalid-argument', `invalid media direction ${JSON.stringify(direction)}`);
  return mapDirections(sdp, mediaIndex, () => direction);
}

function mapDirections(sdp: SdpSession, mediaIndex: number | undefined, map: (current: MediaDirection) => MediaDirection): SdpSession {
  const out = clone(sdp);
  for (const index of indices(out, mediaIndex)) {
    const media = out.media[index]!;
    if (mediaIndex === undefined && (!isRtp(media) || media.port === 0)) continue;
    media.direction = map(getDirection(out, index));
  }
  if (mediaIndex === undefined) delete out.direction;
  return out;
}

/** The direction of a hold offer for a stream currently in `current` (RFC 3264 §8.4). */
export function holdDirection(current: MediaDirection): MediaDirection {
  if (current === 'sendrecv') return 'sendonly';
  if (current === 'recvonly') return 'inactive';
  return current;
}

/**
 * The direction that takes a held stream back. Exact inverse of `holdDirection` for streams that were sendrecv or
 * recvonly; a stream that was inactive before the hold comes back recvonly, so to restore anything else keep the
 * pre-hold direction and use `setDirection`.
 */
export function resumeDirection(current: MediaDirection): MediaDirection {
  if (current === 'sendonly') return 'sendrecv';
  if (current === 'inactive') return 'recvonly';
  return current;
}

/** A hold offer: every active RTP section (or one) to its hold direction. Bump the origin version before sending it. */
export function hold(sdp: SdpSession, mediaIndex?: number): SdpSession {
  return mapDirections(sdp, mediaIndex, holdDirection);
}

export function resume(sdp: SdpSession, mediaIndex?: number): SdpSession {
  return mapDirections(sdp, mediaIndex, resumeDirection);
}

/**
 * Whether the peer's offer puts a stream on hold: it will not receive (sendonly or inactive), or it uses the
 * RFC 2543 convention of a 0.0.0.0 connection address that RFC 3264 §8.4 still asks us to understand.
 */
export function isHoldOffer(sdp: SdpSession, mediaIndex = 0): boolean {
  const direction = getDirection(sdp, mediaIndex);
  return direction === 'sendonly' || direction === 'inactive' || getConnection(sdp, mediaIndex)?.address === '0.0.0.0';
}

// ---- bandwidth (RFC 4566 §5.8, RFC 3890) ----

/**
 * Sets (or with `undefined` removes) a b= line of the session or of one media section. `AS` is in kilobits per
 * second (RFC 4566), `TIAS` in bits per second (RFC 3890); other b= types are kept.
 */
export function setBandwidth(sdp: SdpSession, type: BandwidthType, value: number | undefined, target: number | 'session' = 'session'): SdpSession {
  if (type !== 'AS' && type !== 'TIAS') throw new SipError('invalid-argument', `unsupported bandwidth type ${String(type)}`);
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
    throw new SipError('invalid-argument', `bandwidth must be a non-negative integer, not ${value}`);
  }
  const out = clone(sdp);
  const holder = target === 'session' ? out : mediaAt(out, target);
  const kept = (holder.bandwidth ?? []).filter((line) => line.type !== type);
  if (value !== undefined) kept.push({ type, limit: value });
  if (kept.length > 0) holder.bandwidth = kept;
  else delete holder.bandwidth;
  return out;
}

export function getBandwidth(sdp: SdpSession, type: BandwidthType, target: number | 'session' = 'session'): number | undefined {
  const holder = target === 'session' ? sdp : mediaAt(sdp, target);
  const line = holder.bandwidth?.find((entry) => entry.type === type);
  return line === undefined ? undefined : Number(line.limit);
}

// ---- origin ----

/**
 * The description with o= sess-version one higher: required of every new offer in a session, and of an answer
 * that differs from the previous one (RFC 3264 §8). Versions beyond 2^53 (sdp-transform leaves them as strings)
 * are counted with BigInt.
 */
export function bumpOriginVersion(sdp: SdpSession): SdpSession {
  const out = clone(sdp);
  const current: unknown = out.origin.sessionVersion;
  const text = String(current);
  if (!/^\d+$/.test(text)) throw sdpError(`o= session version ${JSON.stringify(text)} is not a number`);
  const next = BigInt(text) + 1n;
  out.origin.sessionVersion = (next <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(next) : next.toString()) as number;
  return out;
}

// ---- queries ----

/** The connection address and port of a media section (its own c=, else the session's). */
export function getConnection(sdp: SdpSession, mediaIndex = 0): SdpConnection | undefined {
  const media = mediaAt(sdp, mediaIndex);
  const connection = media.connection ?? sdp.connection;
  if (connection === undefined) return undefined;
  return { address: String(connection.ip).split('/')[0]!, ipVersion: Number(connection.version), port: Number(media.port) };
}

/**
 * Whether the description comes from (or is meant for) a WebRTC endpoint: an active RTP section with ICE
 * credentials, a DTLS fingerprint and an SAVPF profile (RFC 8829 §5.1.2 requires all three), each attribute at
 * media or session level.
 */
export function isWebRtc(sdp: SdpSession): boolean {
  return sdp.media.some((media) =>
    isRtp(media) &&
    /SAVPF$/i.test(media.protocol) &&
    (media.iceUfrag ?? sdp.iceUfrag) !== undefined &&
    (media.icePwd ?? sdp.icePwd) !== undefined &&
    (media.fingerprint ?? sdp.fingerprint) !== undefined);
}
