/**
 * The gateway's SIP listeners: UDP and TCP on `config.sip` with one user agent. Requests go to the handler for their
 * method (the registrar takes REGISTER, the call layer INVITE and what belongs to its dialogs); OPTIONS is answered
 * here (keep-alive probes from PBXs and monitoring) unless a handler takes it, and any other method is refused with
 * 404, the answer RFC 3261 gives for a user it does not know. Malformed requests are answered by the transports and
 * the user agent (400, 505, 416, 420, ...).
 */
import { UserAgent, type IncomingRequest, type SipTransport, type TransportAddress } from '@switchboard/sip';
import { createTransport } from '@switchboard/sip/node';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { ConfigError } from './config/config-error.js';
import type { SecureListenConfig, SipListenConfig } from './config/types.js';
import { respondWhileOpen } from './sip/respond-while-open.js';

export interface SipListener {
  readonly udp: TransportAddress;
  readonly tcp: TransportAddress;
  /** Every listening transport's address, UDP and TCP first. */
  readonly listening: readonly TransportAddress[];
  readonly ua: UserAgent;
  /** The handlers in use; set a method's entry to attach a component. */
  readonly handlers: SipHandlers;
  close(): Promise<void>;
}

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY';
/** Bodies the gateway reads: SDP, and the sipfrag of a NOTIFY reporting on a transfer. */
export const SIP_ACCEPTS = { acceptedContentTypesOf: { NOTIFY: ['message/sipfrag'] } } as const;

/** Handles one request; it must answer it (or leave that to the user agent's unanswered-request guard). */
export type SipRequestHandler = (incoming: IncomingRequest) => void;

/** Handlers by method, upper case. They may be attached after start (components that need the user agent first). */
export type SipHandlers = Partial<Record<string, SipRequestHandler>>;

export async function startSipListener(listen: SipListenConfig, logger: Logger, handlers: SipHandlers = {}): Promise<SipListener> {
  const log = logger.child({ component: 'sip' });
  const transports: SipTransport[] = [];
  try {
    transports.push(await createTransport({ protocol: 'udp', host: listen.host, port: listen.port }));
    transports.push(await createTransport({ protocol: 'tcp', host: listen.host, port: listen.port }));
    if (listen.tls !== undefined) transports.push(await createTransport({ protocol: 'tls', host: listen.host, port: listen.tls.port, tls: readTls(listen.tls, 'sip.tls') }));
    if (listen.ws !== undefined) transports.push(await createTransport({ protocol: 'ws', host: listen.host, port: listen.ws.port }));
    if (listen.wss !== undefined) transports.push(await createTransport({ protocol: 'wss', host: listen.host, port: listen.wss.port, tls: readTls(listen.wss, 'sip.wss') }));
  } catch (error) {
    await Promise.all(transports.map((transport) => transport.close()));
    throw error;
  }
  if (log.isLevelEnabled('debug')) traceMessages(transports, log);
  for (const transport of transports) {
    // Counted and logged at debug only: scanners send garbage all day, and the transport has already answered it.
    transport.on('invalid', ({ source, error }) => log.debug({ source, code: error.code, status: error.status }, 'invalid SIP input'));
    // Besides socket failures, this is where an exception thrown while handling one inbound message ends up: the
    // request it came with then goes unanswered, so it must not pass unnoticed.
    transport.on('error', ({ error }) => log.error({ protocol: transport.protocol, err: error }, 'SIP transport error'));
  }
  // The registrar answers a repeated REGISTER alike, so it keeps no transaction per registration (Kamailio's does
  // not either): at thousands of registrations a second, 32 s of answered REGISTERs was most of the heap.
  const ua = new UserAgent({ transports, product: 'Switchboard', statelessMethods: ['REGISTER'], accepts: SIP_ACCEPTS });
  // Both are dropped without an answer: a response no client transaction claims (RFC 6026 §7.3), a request lacking
  // the Via or CSeq any answer would need. The log is the only trace that they arrived, which is what tells a peer's
  // misrouted responses apart from packets lost on the way.
  ua.transactions.on('stray-response', ({ source, response }) => log.debug({ source, status: response.status }, 'stray SIP response dropped'));
  ua.transactions.on('invalid', ({ source, request }) => log.debug({ source, method: request.method }, 'SIP request without Via or CSeq dropped'));
  ua.on('request', (incoming) => {
    const handler = handlers[incoming.request.method];
    if (handler !== undefined) {
      try {
        handler(incoming);
      } catch (error) {
        log.error({ err: error, method: incoming.request.method }, 'SIP request handler failed');
        respondWhileOpen(incoming, 500, {}, log, `the ${incoming.request.method}`);
      }
      return;
    }
    if (incoming.request.method === 'OPTIONS') {
      incoming.respond(200, { headers: [['Allow', ALLOW], ['Accept', 'application/sdp']] });
      return;
    }
    incoming.respond(404);
  });
  return {
    udp: transports[0]!.local,
    tcp: transports[1]!.local,
    listening: transports.map((transport) => transport.local),
    ua,
    handlers,
    async close() {
      await ua.close();
      await Promise.all(transports.map((transport) => transport.close()));
    },
  };
}

/** The certificate and key of a TLS listener; an unreadable file stops start-up with the file named. */
function readTls(config: SecureListenConfig, path: string): { cert: Uint8Array; key: Uint8Array } {
  const read = (file: string, field: string): Uint8Array => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw ConfigError.at(`${path}.${field}`, `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  return { cert: read(config.certFile, 'certFile'), key: read(config.keyFile, 'keyFile') };
}

/** Digest answers are not secrets, but they are credentials of a kind: a debug log is no place for them. */
const CREDENTIAL_LINE = /^((?:Proxy-)?Authorization:)[^\r\n]*/gim;

/**
 * The SIP trace: every message in and out, at debug level, with the transport and the peer. Only when debug is on,
 * since it doubles the cost of a message.
 */
function traceMessages(transports: readonly SipTransport[], log: Logger): void {
  for (const transport of transports) {
    transport.on('message', ({ message, source }) => {
      log.debug({ dir: 'in', peer: `${source.protocol}:${source.host}:${source.port}`, callId: message.callId, sip: message.toString().replace(CREDENTIAL_LINE, '$1 [credentials]') }, 'SIP message');
    });
    const send = transport.send.bind(transport);
    transport.send = (message, destination, connectionId) => {
      log.debug({ dir: 'out', peer: `${destination.protocol}:${destination.host}:${destination.port}`, callId: message.callId, sip: message.toString().replace(CREDENTIAL_LINE, '$1 [credentials]') }, 'SIP message');
      return send(message, destination, connectionId);
    };
  }
}
