/**
 * SIP over UDP (RFC 3261 §18): one message per datagram, IPv4 or IPv6 by the bound address. A datagram that does
 * not parse is reported and, when it was a request with a Via, answered with the parser's status straight back
 * to where it came from (RFC 3581 style), since there is no reliable Via to route by.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { SipError, SipParseError } from '../errors.js';
import { buildErrorResponse } from '../framing/error-response.js';
import { parseMessage } from '../message/parse-message.js';
import type { SipMessage } from '../message/sip-message.js';
import type { SipTransport, TransportAddress } from '../transport/transport.js';
import { DEFAULT_FRAMER_LIMITS, type FramerLimits } from '../framing/stream-framer.js';
import {
  checkDestination, NodeTransport, normalizeHost, resolvedOptions, toBytes, transportError, type TransportOptions,
} from './transport-base.js';

// The largest UDP payload over IPv4 (65535 - 8 UDP - 20 IP); IPv6 allows 8 bytes more, which no one relies on.
const MAX_DATAGRAM = 65507;

export class UdpTransport extends NodeTransport implements SipTransport {
  readonly protocol = 'udp' as const;
  readonly reliable = false;
  private readonly socket: Socket;
  private readonly limits: FramerLimits;
  private readonly ipv6: boolean;
  private closed: Promise<void> | undefined;

  private constructor(options: TransportOptions) {
    super('udp', normalizeHost(options.host));
    this.limits = { ...DEFAULT_FRAMER_LIMITS, ...options.limits };
    this.ipv6 = isIP(this.localAddress.host) === 6;
    this.socket = createSocket({ type: this.ipv6 ? 'udp6' : 'udp4', lookup: literalFirstLookup });
    this.socket.on('message', (data, rinfo) => this.onDatagram(data, rinfo));
    this.socket.on('error', (error) => this.deliver('error', { error: transportError('UDP socket error', error) }));
  }

  /** A transport bound to `options.host`:`options.port`. */
  static async listen(options: TransportOptions): Promise<UdpTransport> {
    const transport = new UdpTransport(options);
    await transport.bind(options.port);
    transport.socket.setRecvBufferSize(resolvedOptions(options).receiveBufferBytes);
    return transport;
  }

  /** The socket's receive buffer as the kernel set it (Linux reports twice what was asked, for its bookkeeping). */
  get receiveBufferSize(): number {
    return this.socket.getRecvBufferSize();
  }

  private bind(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        this.socket.close();
        reject(transportError(`cannot bind UDP ${this.localAddress.host}:${port}`, error));
      };
      this.socket.once('error', onError);
      try {
        this.socket.bind({ address: this.localAddress.host, port, exclusive: true }, () => {
          this.socket.off('error', onError);
          this.localAddress = { ...this.localAddress, port: this.socket.address().port };
          resolve();
        });
      } catch (error) {
        this.socket.off('error', onError);
        reject(transportError(`cannot bind UDP ${this.localAddress.host}:${port}`, error));
      }
    });
  }

  async send(message: SipMessage, destination: TransportAddress): Promise<void> {
    this.assertOpen();
    checkDestination(destination);
    const bytes = message.serialize();
    if (bytes.length > MAX_DATAGRAM) throw new SipError('transport', `message of ${bytes.length} bytes does not fit in a UDP datagram`);
    await this.sendBytes(bytes, destination.host, destination.port);
  }

  private sendBytes(bytes: Uint8Array, host: string, port: number): Promise<void> {
    let target = normalizeHost(host);
    // A dual-stack IPv6 socket reaches IPv4 peers through their mapped address.
    if (this.ipv6 && isIP(target) === 4) target = `::ffff:${target}`;
    else if (!this.ipv6 && isIP(target) === 6) {
      return Promise.reject(new SipError('transport', `IPv4 UDP transport cannot send to ${target}`));
    }
    return new Promise((resolve, reject) => {
      try {
        this.socket.send(bytes, port, target, (error) => {
          if (error) reject(transportError(`cannot send to ${target}:${port}`, error));
          else resolve();
        });
      } catch (error) {
        reject(transportError(`cannot send to ${target}:${port}`, error));
      }
    });
  }

  private onDatagram(datagram: Buffer, rinfo: RemoteInfo): void {
    const data = toBytes(datagram);
    if (this.closing || isKeepAlive(data)) return;
    const source: TransportAddress = { protocol: 'udp', host: normalizeHost(rinfo.address), port: rinfo.port };
    let message;
    try {
      message = parseMessage(data, this.limits);
    } catch (caught) {
      const error = caught instanceof SipParseError ? caught : new SipParseError('cannot parse the datagram', 400, undefined, caught);
      const response = buildErrorResponse(data, error);
      if (response !== null) this.sendBytes(response, source.host, source.port).catch(() => undefined);
      this.deliver('invalid', { source, error });
      return;
    }
    this.deliver('message', { message, source, connectionId: undefined });
  }

  close(): Promise<void> {
    if (this.closed !== undefined) return this.closed;
    this.closing = true;
    this.closed = new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.closed;
  }
}

/**
 * Every send resolves its destination, and `dns.lookup` answers even an IP address a tick later, through a closure
 * and the next-tick queue: a cost per datagram on the path of every response. An IP address, which is what the
 * stack sends to, is answered at once; a name still goes to `dns.lookup`.
 */
function literalFirstLookup(
  hostname: string,
  options: LookupOneOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  // node:dgram passes the family as a bare number (4 or 6), not the options object its type declares.
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else dnsLookup(hostname, options, callback);
}

/**
 * CRLFs alone (RFC 5626-style keep-alives some user agents also send over UDP) and STUN binding keep-alives
 * (RFC 5626 §4.4.2: first two bits zero, magic cookie at offset 4) carry no SIP message and get no answer.
 */
function isKeepAlive(data: Uint8Array): boolean {
  if (data.length >= 20 && (data[0]! & 0xc0) === 0 && data[4] === 0x21 && data[5] === 0x12 && data[6] === 0xa4 && data[7] === 0x42) return true;
  for (const byte of data) if (byte !== 13 && byte !== 10) return false;
  return true;
}
