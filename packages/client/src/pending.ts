/**
 * Requests awaiting their reply. The gateway answers every request exactly once, echoing its id; a reply that
 * never comes (a lost network, a stuck gateway) turns into a `timeout` rejection instead of a promise that hangs.
 */
import type { RequestType, ServerMessage } from '@switchboard/protocol';
import { ClientError } from './errors.js';
import type { Timers } from './platform.js';

type Reply = Exclude<ServerMessage, { type: string }>;

interface Entry {
  type: RequestType;
  resolve: (result: unknown) => void;
  reject: (error: ClientError) => void;
  timer: unknown;
}

export class PendingRequests {
  private nextId = 1;
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly timers: Timers,
    private readonly timeoutMs: number,
  ) {}

  /** Registers a request and returns its id with the promise its reply settles. */
  open<R>(type: RequestType, timeoutMs = this.timeoutMs): { id: string; reply: Promise<R> } {
    const id = String(this.nextId++);
    const reply = new Promise<R>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.entries.delete(id);
        reject(new ClientError('timeout', `no reply to ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.entries.set(id, { type, resolve: resolve as (result: unknown) => void, reject, timer });
    });
    return { id, reply };
  }

  typeOf(id: string): RequestType | undefined {
    return this.entries.get(id)?.type;
  }

  /** Settles the request a reply answers; false when nothing awaits that id. */
  settle(reply: Reply): boolean {
    const entry = reply.id === null ? undefined : this.entries.get(reply.id);
    if (!entry || reply.id === null) return false;
    this.entries.delete(reply.id);
    this.timers.clearTimeout(entry.timer);
    if (reply.ok) entry.resolve(reply.result);
    else {
      const { code, message, details } = reply.error;
      entry.reject(new ClientError(code, message, details === undefined ? {} : { details }));
    }
    return true;
  }

  rejectAll(error: () => ClientError): void {
    for (const [id, entry] of this.entries) {
      this.entries.delete(id);
      this.timers.clearTimeout(entry.timer);
      entry.reject(error());
    }
  }
}
