/**
 * A secret read from the environment (or, for the demo, from a file it generated). It prints as `[redacted]`
 * through every path Node and pino use to turn a value into text, so logging a whole config object cannot leak
 * it; code that needs the value asks for it by name with `reveal()`.
 */
import { inspect } from 'node:util';

export const REDACTED = '[redacted]';

export class Secret {
  readonly #value: string;
  /** Where the value came from, for people: `env SWITCHBOARD_TOKEN_SECRET`, `file data/demo-secret`. */
  readonly source: string;

  constructor(value: string, source: string) {
    this.#value = value;
    this.source = source;
  }

  reveal(): string {
    return this.#value;
  }

  bytes(): Uint8Array {
    return new TextEncoder().encode(this.#value);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return `${REDACTED} (${this.source})`;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED}, ${this.source})`;
  }
}
