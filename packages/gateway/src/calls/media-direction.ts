/**
 * Which way media flows on the SIP leg when either side holds the call (RFC 3264 §6.1, §8.4). A direction is read
 * from the side that wrote it: a peer's `sendonly` is our `recvonly`. Holding means not receiving; what each
 * side wants is met by the other's wish, so two holds make the stream `inactive` and one side's resume leaves it
 * one-way until the other resumes too.
 */
import {
  bumpOriginVersion,
  getConnection,
  getDirection,
  parseSdp,
  payloadTypes,
  serializeSdp,
  setDirection,
  type MediaDirection,
  type SdpSession,
} from '@switchboard/sip';

const FLOWS: Readonly<Record<MediaDirection, { send: boolean; receive: boolean }>> = {
  sendrecv: { send: true, receive: true },
  sendonly: { send: true, receive: false },
  recvonly: { send: false, receive: true },
  inactive: { send: false, receive: false },
};

function directionOf(send: boolean, receive: boolean): MediaDirection {
  if (send) return receive ? 'sendrecv' : 'sendonly';
  return receive ? 'recvonly' : 'inactive';
}

/** The same stream seen from the other end. */
export function reversed(direction: MediaDirection): MediaDirection {
  const { send, receive } = FLOWS[direction];
  return directionOf(receive, send);
}

/** What both allow. */
export function meet(a: MediaDirection, b: MediaDirection): MediaDirection {
  return directionOf(FLOWS[a].send && FLOWS[b].send, FLOWS[a].receive && FLOWS[b].receive);
}

/** Our own wish: a held call still sends (a PBX may play music on hold from it) but takes nothing in. */
export function ownWish(held: boolean): MediaDirection {
  return held ? 'sendonly' : 'sendrecv';
}

/** Whether a peer's wish holds the call: it will not receive. */
export function holds(direction: MediaDirection): boolean {
  return !FLOWS[direction].receive;
}

/**
 * The direction the peer's description asks for, for the first media section (the call's audio). A connection
 * address of 0.0.0.0 is the hold of RFC 2543 (RFC 3264 §8.4): the peer will not receive, whatever the attribute says.
 */
export function wishOf(sdp: string): MediaDirection {
  const parsed = parseSdp(sdp);
  const direction = getDirection(parsed, 0);
  return getConnection(parsed, 0)?.address === '0.0.0.0' ? directionOf(FLOWS[direction].send, false) : direction;
}

/**
 * `next` as the following version of the session `previous` describes (RFC 3264 §8): the same o= line, its version
 * one up. The media relay writes each answer from the SDP it is given, with that SDP's origin, not ours.
 */
export function followingVersion(previous: string, next: string): string {
  const before = parseSdp(previous);
  const after = parseSdp(next);
  after.origin = { ...before.origin };
  return serializeSdp(bumpOriginVersion(after));
}

/**
 * The description with every active RTP section set to `direction`. Unchanged text when it says so already (a
 * description that does not change keeps its o= version, RFC 3264 §8); otherwise the version goes one up.
 */
export function withDirection(sdp: string, direction: MediaDirection): string {
  const parsed = parseSdp(sdp);
  const active = parsed.media.map((_, index) => index).filter((index) => Number(parsed.media[index]!.port) !== 0);
  if (active.every((index) => getDirection(parsed, index) === direction) && parsed.direction === undefined) return sdp;
  return serializeSdp(bumpOriginVersion(setDirection(parsed, direction)));
}

/**
 * Whether a new description from the peer keeps every stream where it was: the same sections, ports, profiles,
 * payload types and connection addresses. Only then can its direction be taken without telling the media relay.
 * The RFC 2543 hold (c= 0.0.0.0) is a change of address: the relay must stop sending to the old one.
 */
export function sameTransport(before: string, after: string): boolean {
  let a: SdpSession;
  let b: SdpSession;
  try {
    a = parseSdp(before);
    b = parseSdp(after);
  } catch {
    return false;
  }
  if (a.media.length !== b.media.length) return false;
  return a.media.every((media, index) => {
    const other = b.media[index]!;
    return media.type === other.type &&
      Number(media.port) === Number(other.port) &&
      media.protocol === other.protocol &&
      payloadTypes(media).join(' ') === payloadTypes(other).join(' ') &&
      getConnection(a, index)?.address === getConnection(b, index)?.address;
  });
}
