/**
 * SIP parse + serialize cost in machine instructions per message, ours side by side with the `sip` parser, counted
 * by valgrind (cachegrind) rather than timed: the same work as sip-parse.bench.ts, in a figure that other processes
 * on the machine cannot move. Timed runs on a shared machine differ by a third from one run to the next; these
 * counts repeat exactly, so a change of a fraction of a percent, or a ratio near its target, can be told apart.
 *
 * An instruction is not a unit of time: cache misses and branch mispredictions are not in the count. The figure
 * complements msg/s, it does not replace it.
 *
 * Method: for each parser, two processes (lib/count-loop.ts, bundled so that no TypeScript loader runs under
 * valgrind) load the parser, check it on the mix and make the timed call over the mix, one `--passes` count more
 * often than the other. Everything else in the two processes is the same, so the difference in instructions,
 * divided by the extra messages, is the steady-state cost of one message, garbage collection and JIT compilation
 * included. V8 runs single-threaded (--single-threaded), so that compiler and collector work is done, and counted,
 * on the one thread in the same order every time, with fixed hash and random seeds, so that hash tables (strings,
 * Maps) fill alike from one process to the next: with both, a pair repeats to within 0.01 %, against about 1 %
 * without the seeds.
 *
 * Options:
 *   --only a,b      parser ids (switchboard,sip,sip-parse-only,switchboard-forward)
 *   --baseline DIR  also count the parser built in another checkout (switchboard-baseline)
 *   --passes A,B    passes over the mix of the two processes (3000,6000; the first A are warm-up)
 *   --repeat N      pairs per parser (3), their median reported: a rare pair is off by up to 1 %
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { build } from 'esbuild';
import { MIX } from './fixtures/sip-mix.js';
import { machine as describeMachine } from './lib/machine.js';
import { median } from './lib/netns-bench.js';
import { BASELINE_ENV, checkParser, loadParser, PARSER_IDS, type ParserId } from './lib/parsers.js';
import { sourceState } from './lib/source-state.js';

const TARGET_RATIO_VS_SIP = 2.5;

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    baseline: { type: 'string' },
    passes: { type: 'string' },
    repeat: { type: 'string' },
  },
});
const ids = (args.only ?? 'switchboard,sip,sip-parse-only,switchboard-forward').split(',').map((s) => s.trim()).filter(Boolean);
if (args.baseline !== undefined) {
  process.env[BASELINE_ENV] = resolve(args.baseline);
  if (!ids.includes('switchboard-baseline')) ids.push('switchboard-baseline');
}
for (const id of ids) if (![...PARSER_IDS, 'switchboard-baseline'].includes(id as ParserId)) throw new Error(`unknown parser id ${id}`);
const [passesA, passesB] = (args.passes ?? '3000,6000').split(',').map(Number) as [number, number];
if (!(Number.isInteger(passesA) && Number.isInteger(passesB) && passesA > 0 && passesB > passesA)) throw new Error('--passes A,B with 0 < A < B');
const repeat = Number(args.repeat ?? 3);
if (!(Number.isInteger(repeat) && repeat >= 1)) throw new Error('--repeat must be a positive integer');

let valgrindVersion: string;
try {
  valgrindVersion = execFileSync('valgrind', ['--version'], { encoding: 'utf8' }).trim();
} catch {
  throw new Error('valgrind is not installed (Debian: apt-get install -y valgrind); only this benchmark needs it');
}

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(resultsDir, { recursive: true });
// Bundled next to the results so that the packages it leaves external resolve from bench/ as they do in the sources.
const loopFile = resolve(resultsDir, 'count-loop.mjs');
await build({
  entryPoints: [fileURLToPath(new URL('./lib/count-loop.ts', import.meta.url))],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  outfile: loopFile,
  logLevel: 'warning',
});

const run = promisify(execFile);

/** Instructions executed by one count-loop process (all its threads), from cachegrind's summary. */
async function instructions(id: string, passes: number): Promise<number> {
  const { stderr, stdout } = await run('valgrind', [
    '--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null',
    process.execPath, '--single-threaded', '--hash-seed=1', '--random-seed=1', loopFile, id, String(passes),
  ], { cwd: benchDir, maxBuffer: 16 * 1024 * 1024 });
  if (!stdout.includes('sink ')) throw new Error(`${id}: the loop did not finish:\n${stderr.slice(-2000)}`);
  const match = /I\s+refs:\s+([\d,]+)/.exec(stderr);
  if (match === null) throw new Error(`${id}: no instruction count in valgrind's output:\n${stderr.slice(-2000)}`);
  return Number(match[1]!.replace(/,/g, ''));
}

interface Row {
  id: string;
  label: string;
  work: string;
  version: string;
  /** Instructions per message, one figure per pair. */
  perMessage: number[];
  median: number;
}

const messagesPerPair = (passesB - passesA) * MIX.length;
const rows: Row[] = [];
for (const id of ids) {
  // Loaded here too, for its label and version, and checked before minutes go into counting it.
  const parser = await loadParser(id as ParserId);
  const problems = checkParser(parser);
  if (problems.length > 0) throw new Error(`${id}: correctness check failed:\n  ${problems.join('\n  ')}`);
  const perMessage: number[] = [];
  for (let r = 0; r < repeat; r++) {
    // The two processes of a pair share nothing, so they run side by side on the two cores.
    const [a, b] = await Promise.all([instructions(id, passesA), instructions(id, passesB)]);
    perMessage.push((b - a) / messagesPerPair);
    console.log(`  ${id} pair ${r + 1}/${repeat}: ${Math.round(perMessage.at(-1)!).toLocaleString('en-US')} instructions per message`);
  }
  rows.push({ id, label: parser.label, work: parser.work, version: parser.version, perMessage, median: median(perMessage) });
}

const ours = rows.find((row) => row.id === 'switchboard');
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
console.log('');
console.log('| parser | version | work per message | instructions per message (median) | pairs | ours / this |');
console.log('|---|---|---|---:|---|---:|');
for (const row of rows) {
  const ratio = ours === undefined || row === ours ? '' : `${(row.median / ours.median).toFixed(2)}x`;
  console.log(`| ${row.label} | ${row.version} | ${row.work} | ${fmt(row.median)} | ${row.perMessage.map(fmt).join(', ')} | ${ratio} |`);
}
const sip = rows.find((row) => row.id === 'sip');
let verdict: string | undefined;
if (ours !== undefined && sip !== undefined) {
  const ratio = sip.median / ours.median;
  verdict = `ours ${ratio.toFixed(2)}x fewer instructions per message than sip (target for the timed ratio: ≥ ${TARGET_RATIO_VS_SIP}x)`;
  console.log(`\n${verdict}`);
  const forward = rows.find((row) => row.id === 'switchboard-forward');
  if (forward !== undefined) console.log(`ours, forwarded (context): ${(sip.median / forward.median).toFixed(2)}x fewer instructions per message than sip`);
}
console.log(`${valgrindVersion}, ${process.version}; ${messagesPerPair.toLocaleString('en-US')} messages between the two processes of a pair`);

writeFileSync(resolve(resultsDir, 'sip-parse-instructions.json'), JSON.stringify({
  date: new Date().toISOString(),
  machine: describeMachine(),
  valgrind: valgrindVersion,
  node: process.version,
  passes: [passesA, passesB],
  source: sourceState(),
  rows,
  verdict,
}, null, 2) + '\n');
console.log(`wrote ${resolve(resultsDir, 'sip-parse-instructions.json')}`);
