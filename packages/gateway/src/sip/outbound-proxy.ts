/**
 * A PBX's outbound proxy (RFC 3261 §8.1.2): requests go to its address with a preloaded `Route: <proxy;lr>`, so a
 * loose-routing proxy knows the request is only passing through it. REGISTERs of a line and INVITEs of its calls
 * use the same route; CANCEL and the ACK of a failure copy it from the INVITE.
 */
import { SipError, type NameAddr, type Uri } from '@switchboard/sip';

export function outboundRoute(proxy: Uri | undefined): NameAddr | undefined {
  if (proxy === undefined) return undefined;
  if (proxy.type !== 'sip') throw new SipError('invalid-argument', 'an outbound proxy must be a sip: or sips: URI');
  return { displayName: undefined, uri: { ...proxy, params: new Map([...proxy.params, ['lr', null]]) }, params: new Map() };
}
