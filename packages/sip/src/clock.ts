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

export const cryptoRandom: Random = {
  bytes(length) {
    const out = new Uint8Array(length);
    globalThis.crypto.getRandomValues(out);
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
