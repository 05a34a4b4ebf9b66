/**
 * Test doubles for the transaction tests: a sender that records what would have gone on the wire (and when, by
 * the manual clock), and builders for the requests of RFC 3261 §24's example call.
 */
import type { Clock } from '../../clock.js';
import type { SipError } from '../../errors.js';
import { parseMessage } from '../../message/parse-message.js';
import { SipRequest, type SipMessage, type SipResponse } from '../../message/sip-message.js';
import type { TransportAddress } from '../../transport/transport.js';
import type { TransactionSender } from '../transaction.js';

export const UDP_PEER: TransportAddress = { protocol: 'udp', host: '192.0.2.4', port: 5060 };
export const TCP_PEER: TransportAddress = { protocol: 'tcp', host: '192.0.2.4', port: 5060 };
export const CLIENT_SOURCE: TransportAddress = { protocol: 'udp', host: '192.0.2.101', port: 5060 };

export interface Sent {
  readonly message: SipMessage;
  readonly destination: TransportAddress;
  readonly connectionId: string | undefined;
  readonly at: number;
}

export class FakeSender implements TransactionSender {
  readonly sent: Sent[] = [];
  /** While set, every send is recorded and then rejected with it. */
  failure: SipError | Error | undefined;

  constructor(private readonly clock: Clock) {}

  send(message: SipMessage, destination: TransportAddress, connectionId?: string): Promise<void> {
    this.sent.push({ message, destination, connectionId, at: this.clock.now() });
    return this.failure === undefined ? Promise.resolve() : Promise.reject(this.failure);
  }

  requests(method: string): Sent[] {
    return this.sent.filter((sent) => sent.message instanceof SipRequest && sent.message.method === method);
  }

  responses(status?: number): Sent[] {
    return this.sent.filter((sent) => !(sent.message instanceof SipRequest) && (status === undefined || (sent.message as SipResponse).status === status));
  }
}

export interface RequestSpec {
  /** `null` for a Via without a branch (an RFC 2543 peer). */
  branch?: string | null;
  /** Via up to (not including) the branch. */
  via?: string;
  uri?: string;
  toTag?: string;
  fromTag?: string;
  callId?: string;
  cseq?: number;
  /** CSeq method when it differs from the request method. */
  cseqMethod?: string;
  routes?: readonly string[];
}

export function makeRequest(method: string, spec: RequestSpec = {}): SipRequest {
  const lines = [
    `${method} ${spec.uri ?? 'sip:bob@biloxi.example.com'} SIP/2.0`,
    `Via: ${spec.via ?? 'SIP/2.0/UDP pc33.atlanta.example.com'}${spec.branch === null ? '' : ';branch=' + (spec.branch ?? 'z9hG4bK776asdhds')}`,
    ...(spec.routes ?? []).map((route) => `Route: ${route}`),
    'Max-Forwards: 70',
    `To: Bob <sip:bob@biloxi.example.com>${spec.toTag === undefined ? '' : ';tag=' + spec.toTag}`,
    `From: Alice <sip:alice@atlanta.example.com>;tag=${spec.fromTag ?? '1928301774'}`,
    `Call-ID: ${spec.callId ?? 'a84b4c76e66710@pc33.atlanta.example.com'}`,
    `CSeq: ${spec.cseq ?? 314159} ${spec.cseqMethod ?? method}`,
    'Contact: <sip:alice@pc33.atlanta.example.com>',
    'Content-Length: 0',
    '',
    '',
  ];
  const message = parseMessage(lines.join('\r\n'));
  if (!(message instanceof SipRequest)) throw new Error('fixture is not a request');
  return message;
}

/** Lets rejected sends reach the transactions (they are handled on the microtask queue). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
