/**
 * Sign-in sessions, in memory: a random id in a cookie maps to the operator who signed in. Bounded in lifetime and
 * in number, so a client that signs in in a loop costs a fixed amount of memory (the oldest sessions go first).
 */
import { randomBytes } from 'node:crypto';

export interface SessionOptions {
  readonly ttlMs?: number | undefined;
  readonly maxSessions?: number | undefined;
  readonly now?: (() => number) | undefined;
}

export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000;
export const DEFAULT_MAX_SESSIONS = 1000;

interface Entry {
  readonly operatorId: string;
  readonly expiresAt: number;
}

export class SessionStore {
  /** Insertion order is age order, which is what eviction needs. */
  readonly #sessions = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: SessionOptions = {}) {
    this.#ttlMs = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
    this.#max = Math.max(1, options.maxSessions ?? DEFAULT_MAX_SESSIONS);
    this.#now = options.now ?? Date.now;
  }

  get ttlSeconds(): number {
    return Math.floor(this.#ttlMs / 1000);
  }

  create(operatorId: string): string {
    this.#sweep();
    while (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next().value as string;
      this.#sessions.delete(oldest);
    }
    // 256 bits: guessing one is not a strategy.
    const id = randomBytes(32).toString('base64url');
    this.#sessions.set(id, { operatorId, expiresAt: this.#now() + this.#ttlMs });
    return id;
  }

  operatorOf(id: string | undefined): string | undefined {
    if (id === undefined) return undefined;
    const entry = this.#sessions.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return entry.operatorId;
  }

  delete(id: string | undefined): void {
    if (id !== undefined) this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Sessions all live equally long, so the expired ones are at the front. */
  #sweep(): void {
    const now = this.#now();
    for (const [id, entry] of this.#sessions) {
      if (entry.expiresAt > now) break;
      this.#sessions.delete(id);
    }
  }
}
