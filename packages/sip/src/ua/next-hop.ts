/**
 * Where a request goes next (RFC 3261 §8.1.2, with RFC 3263's defaults but no DNS): the first Route if there is one,
 * else the Request-URI; its maddr, host, port and transport parameter. Hosts must be IP literals or names the
 * transport can resolve. `locateSipServers` (dns/sip-server-locator.ts) is the same choice with NAPTR and SRV.
 */
import { SipError } from '../errors.js';
import type { SipRequest } from '../message/sip-message.js';
import type { SipUri, Uri } from '../message/uri.js';
import { defaultPort, secureTransport, TRANSPORT_BY_NAME, type TransportAddress, type TransportProtocol } from '../transport/transport.js';

export function addressOfUri(uri: Uri, defaultProtocol: TransportProtocol = 'udp'): TransportAddress {
  const sip = sendableUri(uri);
  let protocol = transportOfUri(sip) ?? defaultProtocol;
  if (sip.scheme === 'sips') protocol = secureTransport(protocol);
  return { protocol, host: targetHostOfUri(sip), port: sip.port ?? defaultPort(protocol) };
}

/** `uri` if a request can be sent to it (a SIP or SIPS URI); throws otherwise. */
export function sendableUri(uri: Uri): SipUri {
  if (uri.type !== 'sip') throw new SipError('invalid-argument', `cannot send to a ${uri.scheme}: URI`);
  return uri;
}

/** The transport a URI's `transport` parameter names (for a SIPS URI, its secure form), if it has one. */
export function transportOfUri(uri: SipUri): TransportProtocol | undefined {
  const param = uri.params.get('transport')?.toLowerCase();
  if (param === undefined) return undefined;
  // Own keys only: `transport=constructor` must not find Object's.
  const protocol = Object.hasOwn(TRANSPORT_BY_NAME, param) ? TRANSPORT_BY_NAME[param] : undefined;
  if (protocol === undefined) throw new SipError('invalid-argument', `unsupported transport ${param}`);
  return uri.scheme === 'sips' ? secureTransport(protocol) : protocol;
}

/** The host a request to `uri` goes to: its maddr if it has one (RFC 3261 §19.1.1), IPv6 without brackets. */
export function targetHostOfUri(uri: SipUri): string {
  return unbracketed(uri.params.get('maddr') ?? uri.host);
}

export function unbracketed(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

export function nextHop(request: SipRequest, defaultProtocol: TransportProtocol = 'udp'): TransportAddress {
  const route = request.parsed('route');
  return addressOfUri(route === undefined ? request.uri : route.uri, defaultProtocol);
}
