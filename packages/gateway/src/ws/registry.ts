/**
 * Who is connected: every authenticated session, by operator. Call routing reads it to ring every tab of an
 * operator; login writes it, and it decides which older sessions a new one displaces (same tab `instance`, or
 * one session too many).
 */
import type { CloseReason, ServerEvent } from '@switchboard/protocol';
import type { SessionOperator } from './ports.js';

/** What the rest of the gateway may do with a session: look at it, send it events, end it. */
export interface SessionHandle {
  readonly id: string;
  readonly operator: SessionOperator;
  /** The tab's `hello.instance`, when it sent one. */
  readonly instance: string | undefined;
  /** Epoch ms when the current token runs out; moves forward on `auth.refresh`. */
  readonly tokenExpiresAt: number;
  readonly connectedAt: number;
  /** False once the session is closing; sends after that are dropped. */
  readonly open: boolean;
  send(event: ServerEvent): boolean;
  close(reason: CloseReason): void;
}

export class SessionRegistry {
  private readonly byOperator = new Map<string, SessionHandle[]>();
  private readonly byId = new Map<string, SessionHandle>();

  constructor(private readonly maxPerOperator: number) {}

  /**
   * Adds a session and returns the ones it displaces, already removed: the older session of the same tab, and
   * the oldest ones beyond the per-operator limit. The caller closes them with `superseded`; closing them here
   * would make the registry depend on the order of close events.
   */
  add(session: SessionHandle): SessionHandle[] {
    const operatorId = session.operator.id;
    const current = this.byOperator.get(operatorId) ?? [];
    const displaced: SessionHandle[] = [];
    const kept: SessionHandle[] = [];
    for (const other of current) {
      if (session.instance !== undefined && other.instance === session.instance) displaced.push(other);
      else kept.push(other);
    }
    // Oldest first, so the tab someone forgot long ago is the one that goes.
    while (kept.length >= this.maxPerOperator) displaced.push(kept.shift()!);
    kept.push(session);
    this.byOperator.set(operatorId, kept);
    this.byId.set(session.id, session);
    for (const old of displaced) this.byId.delete(old.id);
    return displaced;
  }

  /** Idempotent: a session may be removed on close after it was displaced already. */
  remove(session: SessionHandle): void {
    if (this.byId.get(session.id) === session) this.byId.delete(session.id);
    const list = this.byOperator.get(session.operator.id);
    if (!list) return;
    const rest = list.filter((s) => s !== session);
    if (rest.length === 0) this.byOperator.delete(session.operator.id);
    else if (rest.length !== list.length) this.byOperator.set(session.operator.id, rest);
  }

  get(sessionId: string): SessionHandle | undefined {
    return this.byId.get(sessionId);
  }

  /** The operator's sessions, oldest first; a copy, safe to iterate while sessions close. */
  sessionsOf(operatorId: string): SessionHandle[] {
    return [...(this.byOperator.get(operatorId) ?? [])];
  }

  all(): SessionHandle[] {
    return [...this.byId.values()];
  }

  /** Sends an event to every session of an operator; returns how many took it. */
  broadcast(operatorId: string, event: ServerEvent): number {
    let sent = 0;
    for (const session of this.sessionsOf(operatorId)) if (session.send(event)) sent++;
    return sent;
  }

  get size(): number {
    return this.byId.size;
  }

  get operatorCount(): number {
    return this.byOperator.size;
  }
}
