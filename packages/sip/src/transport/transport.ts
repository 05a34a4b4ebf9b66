/**
 * The one interface every transport implements (UDP, TCP, TLS, WS, WSS). The protocol core talks only to this;
 * the Node implementations live in `src/node/`. A transport delivers whole parsed messages and never throws on bad
 * input from the network: a datagram that does not parse is reported (`invalid`) and dropped, a stream that
 * does not frame is closed.
 */
import type { SipError } from '../errors.js';
import type { SipMessage, SipRequest, SipResponse } from '../message/sip-message.js';
import type { TypedEmitter } from '../typed-emitter.js';

export type TransportProtocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** Transports by the name a URI's `transport` parameter gives them (lower case). */
export const TRANSPORT_BY_NAME: Readonly<Record<string, TransportProtocol>> = { udp: 'udp', tcp: 'tcp', tls: 'tls', ws: 'ws', wss: 'wss' };

/** The transport a SIPS URI asks for instead of `protocol`: TLS or WSS, never an unprotected hop (RFC 3261 §26.2.2). */
export function secureTransport(protocol: TransportProtocol): TransportProtocol {
  return protocol === 'ws' || protocol === 'wss' ? 'wss' : 'tls';
}

/** The port a SIP URI without one means for a transport (RFC 3261 §19.1.2, RFC 7118 for WebSocket). */
export function defaultPort(protocol: TransportProtocol): number {
  return protocol === 'ws' ? 80 : protocol === 'wss' ? 443 : protocol === 'tls' ? 5061 : 5060;
}

export interface TransportAddress {
  readonly protocol: TransportProtocol;
  /** IP address (IPv6 without brackets) or host name. */
  readonly host: string;
  readonly port: number;
  /**
   * TLS and WSS: the name the server's certificate must carry, when it is not `host` (RFC 5922 §4: the domain of the
   * URI the server was located for, not a name DNS handed out on the way).
   */
  readonly serverName?: string;
}

export interface InboundMessage {
  readonly message: SipRequest | SipResponse;
  /** Where it came from: the address a response goes back to (RFC 3261 §18.2.2, RFC 3581 rport). */
  readonly source: TransportAddress;
  /** For connection-oriented transports, the connection it arrived on; replies reuse it (RFC 3261 §18.2.2). */
  readonly connectionId: string | undefined;
}

export interface TransportEvents {
  [event: string]: unknown;
  message: InboundMessage;
  /** Bytes that were not a SIP message. For a request the transport has already answered with `status` if it could. */
  invalid: { source: TransportAddress; error: SipError };
  /** A connection opened or closed (stream transports). */
  connection: { connectionId: string; remote: TransportAddress; state: 'open' | 'closed' };
  error: { error: SipError };
  /**
   * What became of a keep-alive ping this side sent on a connection it opened (RFC 5626 §4.4.1): answered, or not
   * answered in time, in which case the connection is closed.
   */
  'keep-alive': { connectionId: string; remote: TransportAddress; outcome: 'pong' | 'no-pong' };
}

export interface SipTransport extends TypedEmitter<TransportEvents> {
  readonly protocol: TransportProtocol;
  /** True for TCP/TLS/WS/WSS: no retransmissions (RFC 3261 §17.1.1.2 Timer A not started). */
  readonly reliable: boolean;
  /** The address the transport listens on (after binding: port 0 becomes the real port). */
  readonly local: TransportAddress;
  /**
   * Sends a message. Over streams, `connectionId` names the connection to use (a response goes back on the
   * request's connection); otherwise an existing connection to `destination` is reused, or one is opened.
   * Rejects with a `SipError` of code `transport` when it cannot be sent.
   */
  send(message: SipMessage, destination: TransportAddress, connectionId?: string): Promise<void>;
  close(): Promise<void>;
}
