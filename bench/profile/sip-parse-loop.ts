/**
 * The loop profiled by profile/sip-parse.profile.ts: our parseMessage(text) + toString() over the mix, the same
 * work as the benchmark's main row, for a fixed time so the profile has enough samples.
 *
 * Usage: node --cpu-prof ... --import tsx profile/sip-parse-loop.ts [seconds]
 */
import { parseMessage } from '@switchboard/sip';
import { MIX } from '../fixtures/sip-mix.js';

const seconds = Number(process.argv[2] ?? 8);
const texts = MIX.map((m) => m.text);
let sink = 0;
let messages = 0;
const start = performance.now();
while (performance.now() - start < seconds * 1000) {
  for (let k = 0; k < 100; k++) {
    for (const text of texts) {
      const out = parseMessage(text).toString();
      // Flattens the concatenated result, as the benchmark does (a socket write would).
      sink += out.charCodeAt(out.length - 1);
    }
  }
  messages += 100 * texts.length;
}
const elapsed = performance.now() - start;
console.log(`${messages} messages in ${(elapsed / 1000).toFixed(1)} s: ${Math.round((messages / elapsed) * 1000)} msg/s under the profiler (sink ${sink})`);
