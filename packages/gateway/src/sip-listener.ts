/**
 * The gateway's SIP side as it stands: UDP and TCP listeners on `config.sip` with a user agent that answers OPTIONS
 * (keep-alive probes from PBXs and monitoring) and refuses what it cannot route yet with 404, the answer RFC 3261
 * gives for a user it does not know. Malformed requests are answered by the transports and the user agent (400, 505,
 * 416, 420, ...). Registrar and call routing attach here.
 */
import { UserAgent, type SipTransport, type TransportAddress } from '@switchboard/sip';
import { createTransport } from '@switchboard/sip/node';
import type { Logger } from 'pino';

export interface SipListener {
  readonly udp: TransportAddress;
  readonly tcp: TransportAddress;
  readonly ua: UserAgent;
  close(): Promise<void>;
}

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS';

export async function startSipListener(listen: { host: string; port: number }, logger: Logger): Promise<SipListener> {
  const log = logger.child({ component: 'sip' });
  const transports: SipTransport[] = [];
  try {
    transports.push(await createTransport({ protocol: 'udp', host: listen.host, port: listen.port }));
    transports.push(await createTransport({ protocol: 'tcp', host: listen.host, port: listen.port }));
  } catch (error) {
    await Promise.all(transports.map((transport) => transport.close()));
    throw error;
  }
  for (const transport of transports) {
    // Counted and logged at debug only: scanners send garbage all day, and the transport has already answered it.
    transport.on('invalid', ({ source, error }) => log.debug({ source, code: error.code, status: error.status }, 'invalid SIP input'));
  }
  const ua = new UserAgent({ transports, product: 'Switchboard' });
  ua.on('request', (incoming) => {
    if (incoming.request.method === 'OPTIONS') {
      incoming.respond(200, { headers: [['Allow', ALLOW], ['Accept', 'application/sdp']] });
      return;
    }
    incoming.respond(404);
  });
  return {
    udp: transports[0]!.local,
    tcp: transports[1]!.local,
    ua,
    async close() {
      await ua.close();
      await Promise.all(transports.map((transport) => transport.close()));
    },
  };
}
