/**
 * A stand-in for rtpengine's ng listener on a loopback UDP socket. Each received command is queued with its
 * cookie and decoded dictionary; the test decides whether, when and what to reply.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { bdecode, bencode, isBencodeDict, type BencodeDict } from '../bencode.js';

export interface ReceivedCommand {
  readonly cookie: string;
  readonly raw: Buffer;
  readonly dict: BencodeDict;
  readonly from: RemoteInfo;
}

export class FakeNgServer {
  readonly received: ReceivedCommand[] = [];
  private readonly waiting: ((command: ReceivedCommand) => void)[] = [];
  private readonly queued: ReceivedCommand[] = [];
  /** Replies automatically when set; otherwise commands wait in the queue for next(). */
  autoReply: ((command: ReceivedCommand) => BencodeDict | undefined) | undefined;

  private constructor(private readonly socket: Socket, readonly port: number) {
    socket.on('message', (raw, from) => {
      const space = raw.indexOf(0x20);
      const decoded = bdecode(raw.subarray(space + 1));
      if (!isBencodeDict(decoded)) throw new Error('fake ng server: command is not a dictionary');
      const command: ReceivedCommand = { cookie: raw.toString('latin1', 0, space), raw, dict: decoded, from };
      this.received.push(command);
      const reply = this.autoReply?.(command);
      if (reply !== undefined) {
        this.reply(command, reply);
        return;
      }
      const waiter = this.waiting.shift();
      if (waiter) waiter(command);
      else this.queued.push(command);
    });
  }

  static async start(): Promise<FakeNgServer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new FakeNgServer(socket, socket.address().port);
  }

  /** The next command not answered automatically. */
  next(): Promise<ReceivedCommand> {
    const queued = this.queued.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  reply(command: ReceivedCommand, dict: BencodeDict): void {
    this.sendRaw(command.from, Buffer.concat([Buffer.from(`${command.cookie} `), bencode(dict)]));
  }

  sendRaw(to: RemoteInfo, data: Buffer): void {
    this.socket.send(data, to.port, to.address);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** A UDP port on loopback where nothing listens: bound, then released. */
export async function unusedUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
