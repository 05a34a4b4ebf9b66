/**
 * Where a request goes next (RFC 3261 §8.1.2, with RFC 3263's defaults but no DNS): the first Route if there is one,
 * else the Request-URI; its maddr, host, port and transport parameter. Hosts must be IP literals or names the
 * transport can resolve. `locateSipServers` (dns/sip-server-locator.ts) is the same choice with NAPTR and SRV.
 */
import { SipError } from '../errors.js';
import type { SipRequest } from '../message/sip-message.js';
import type { Uri } from '../message/uri.js';
import { defaultPort, secureTransport, TRANSPORT_BY_NAME, type TransportAddress, type TransportProtocol } from '../transport/transport.js';

export function addressOfUri(uri: Uri, defaultProtocol: TransportProtocol = 'udp'): TransportAddress {
  if (uri.type !== 'sip') throw new SipError('invalid-argument', `cannot send to a ${uri.scheme}: URI`);
  const transportParam = uri.params.get('transport')?.toLowerCase();
  let protocol = transportParam === undefined ? defaultProtocol : TRANSPORT_BY_NAME[transportParam];
  if (protocol === undefined) throw new SipError('invalid-argument', `unsupported transport ${transportParam}`);
  if (uri.scheme === 'sips') protocol = secureTransport(protocol);
  const host = uri.params.get('maddr') ?? uri.host;
  return { protocol, host: host.startsWith('[') ? host.slice(1, -1) : host, port: uri.port ?? defaultPort(protocol) };
}

export function nextHop(request: SipRequest, defaultProtocol: TransportProtocol = 'udp'): TransportAddress {
  const route = request.parsed('route');
  return addressOfUri(route === undefined ? request.uri : route.uri, defaultProtocol);
}
