/**
 * The configuration as it may be logged or printed: plain JSON values, every secret replaced by a note saying where
 * it came from. `Secret` already prints as redacted on its own; this makes the intent explicit at the call site and
 * gives loggers a plain object rather than class instances.
 */
import { REDACTED, Secret } from './secret.js';
import type { GatewayConfig } from './types.js';

export type Redacted = string | number | boolean | null | readonly Redacted[] | { readonly [key: string]: Redacted };

export function redactConfig(config: GatewayConfig): { readonly [key: string]: Redacted } {
  return redact(config) as { readonly [key: string]: Redacted };
}

function redact(value: unknown): Redacted {
  if (value instanceof Secret) return `${REDACTED} (${value.source})`;
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, Redacted> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (inner !== undefined) out[key] = redact(inner);
    }
    return out;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return null;
}
