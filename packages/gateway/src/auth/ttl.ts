/** Token lifetimes as people write them: `90s`, `15m`, `1h`, `1h30m`, or bare seconds (`3600`). */
import { MAX_TOKEN_LIFETIME_SECONDS } from '../config/schema.js';

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

export class TtlError extends Error {
  override readonly name = 'TtlError';
}

/** Seconds, from 1 to `maxSeconds` (24 h unless the configuration says less). */
export function parseTtl(text: string, maxSeconds: number = MAX_TOKEN_LIFETIME_SECONDS): number {
  const trimmed = text.trim();
  let seconds: number;
  if (/^\d{1,9}$/.test(trimmed)) {
    seconds = Number(trimmed);
  } else if (/^(\d{1,9}[smhd])+$/.test(trimmed)) {
    seconds = 0;
    for (const [, amount, unit] of trimmed.matchAll(/(\d+)([smhd])/g)) {
      seconds += Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
    }
  } else {
    throw new TtlError(`expected a duration such as 90s, 15m, 1h or 1h30m, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  if (seconds < 1) throw new TtlError('must be at least 1 second');
  if (seconds > maxSeconds) throw new TtlError(`must be at most ${formatSeconds(maxSeconds)}, got ${formatSeconds(seconds)}`);
  return seconds;
}

export function formatSeconds(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const parts = [h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : '', s > 0 ? `${s}s` : ''].join('');
  return parts === '' ? '0s' : parts;
}
