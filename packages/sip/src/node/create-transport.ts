/**
 * One entry point for every protocol: a started transport, bound and listening, `local` holding the real port.
 */
import { SipError } from '../errors.js';
import type { SipTransport } from '../transport/transport.js';
import { StreamTransport } from './stream-transport.js';
import type { TransportOptions } from './transport-base.js';
import { UdpTransport } from './udp-transport.js';
import { WsTransport } from './ws-transport.js';

export async function createTransport(options: TransportOptions): Promise<SipTransport> {
  const { protocol } = options;
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new SipError('invalid-argument', `invalid port ${options.port}`);
  }
  if ((protocol === 'tls' || protocol === 'wss') && options.tls === undefined) {
    throw new SipError('invalid-argument', `a ${protocol} transport needs tls.key and tls.cert`);
  }
  switch (protocol) {
    case 'udp':
      return UdpTransport.listen(options);
    case 'tcp':
    case 'tls':
      return StreamTransport.listen({ ...options, protocol });
    case 'ws':
    case 'wss':
      return WsTransport.listen({ ...options, protocol });
    default:
      throw new SipError('invalid-argument', `unknown transport protocol ${String(protocol)}`);
  }
}
