/**
 * Time and randomness are injected so that RFC timers run in tests without waiting and identifiers are
 * reproducible. `systemClock` uses the platform timers (present in browsers and Node alike).
 */
export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Milliseconds on a monotonic-enough scale; only differences matter. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

let nextHandle = 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    // Let a process exit while protocol timers are pending (Node); harmless elsewhere.
    (timer as unknown as { unref?: () => void }).unref?.();
    const handle = { id: nextHandle++, timer };
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout((handle as unknown as { timer: ReturnType<typeof setTimeout> }).timer);
  },
};

/**
 * A clock that moves only when told to: `advance(ms)` fires, in time order, every timer that falls due,
 * including timers set by the callbacks it fires.
 */
export class ManualClock implements Clock {
  private current: number;
  private timers: { id: number; at: number; seq: number; callback: () => void }[] = [];
  private seq = 0;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = nextHandle++;
    this.timers.push({ id, at: this.current + Math.max(0, ms), seq: this.seq++, callback });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle.id);
  }

  /** Timers still pending. */
  get pending(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: (typeof this.timers)[number] | undefined;
      for (const timer of this.timers) {
        if (timer.at <= target && (next === undefined || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq))) next = timer;
      }
      if (next === undefined) break;
      this.timers = this.timers.filter((timer) => timer !== next);
      this.current = next.at;
      next.callback();
    }
    this.current = target;
  }
}

/** Source of randomness for branches, tags and nonces. */
export interface Random {
  /** `length` random bytes. */
  bytes(length: number): Uint8Array;
}

/** Bytes fetched from the platform per refill: one call costs about as much for a few kilobytes as for ten bytes. */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let poolAt = 0;

/**
 * The platform's CSPRNG, drawn a pool at a time: every request answered needs a tag, every request sent a branch,
 * and a call per token made randomness one of the largest costs of answering a request. Bytes handed out are
 * copies, never handed out twice.
 */
export const cryptoRandom: Random = {
  bytes(length) {
    if (length > POOL_BYTES) return globalThis.crypto.getRandomValues(new Uint8Array(length));
    if (poolAt + length > pool.length) {
      pool = globalThis.crypto.getRandomValues(new Uint8Array(POOL_BYTES));
      poolAt = 0;
    }
    const out = pool.slice(poolAt, poolAt + length);
    // Spent bytes are wiped so that the pool never holds what was already given out.
    pool.fill(0, poolAt, poolAt + length);
    poolAt += length;
    return out;
  },
};

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A random token of `length` characters drawn from [a-zA-Z0-9] (safe in branches, tags, Call-IDs). */
export function randomToken(random: Random, length = 16): string {
  const bytes = random.bytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i]! % 62];
  return out;
}

/** RFC 3261 §8.1.1.7: branches of RFC 3261 elements start with this magic cookie. */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

export function newBranch(random: Random): string {
  return BRANCH_MAGIC_COOKIE + randomToken(random, 16);
}
