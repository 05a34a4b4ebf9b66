/**
 * An in-memory network of transports for unit tests: messages are serialized and parsed on the way, as they would
 * be on a wire, delivered on the microtask queue, and can be dropped by a filter to simulate loss.
 */
import { SipError } from '../errors.js';
import { parseMessage } from '../message/parse-message.js';
import type { SipMessage } from '../message/sip-message.js';
import type { SipTransport, TransportAddress, TransportEvents, TransportProtocol } from '../transport/transport.js';
import { TypedEmitter } from '../typed-emitter.js';

export interface Delivery {
  readonly from: TransportAddress;
  readonly to: TransportAddress;
  readonly text: string;
}

export class MemoryNetwork {
  private readonly endpoints = new Map<string, MemoryTransport>();
  /** Everything sent, in order, dropped or not. */
  readonly log: Delivery[] = [];
  /** Return false to drop a message. */
  filter: (delivery: Delivery) => boolean = () => true;

  transport(protocol: TransportProtocol, host: string, port: number): MemoryTransport {
    const transport = new MemoryTransport(this, { protocol, host, port });
    this.endpoints.set(key(transport.local), transport);
    return transport;
  }

  deliver(from: TransportAddress, to: TransportAddress, message: SipMessage): void {
    const delivery = { from, to, text: message.toString() };
    this.log.push(delivery);
    if (!this.filter(delivery)) return;
    const target = this.endpoints.get(key(to));
    if (target === undefined) throw new SipError('transport', `nothing listens on ${key(to)}`);
    queueMicrotask(() => target.receive(from, delivery.text));
  }

  /** Lets queued deliveries, and whatever they trigger, run. */
  async settle(): Promise<void> {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }

  sent(predicate: (text: string) => boolean): Delivery[] {
    return this.log.filter((delivery) => predicate(delivery.text));
  }
}

function key(address: TransportAddress): string {
  return `${address.protocol}:${address.host}:${address.port}`;
}

export class MemoryTransport extends TypedEmitter<TransportEvents> implements SipTransport {
  readonly reliable: boolean;
  readonly protocol: TransportProtocol;

  constructor(private readonly network: MemoryNetwork, readonly local: TransportAddress) {
    super();
    this.protocol = local.protocol;
    this.reliable = local.protocol !== 'udp';
  }

  async send(message: SipMessage, destination: TransportAddress): Promise<void> {
    this.network.deliver(this.local, destination, message);
  }

  receive(source: TransportAddress, text: string): void {
    this.emit('message', { message: parseMessage(text), source, connectionId: undefined });
  }

  async close(): Promise<void> {}
}
