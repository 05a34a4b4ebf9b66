/**
 * SIP parse + serialize throughput on a realistic message mix, ours side by side with the `sip`, JsSIP and SIP.js
 * parsers in the same run. Each parser lives in a child process of its own (lib/measure.ts) so no library's JIT
 * state or garbage slows another; the children are warmed up one at a time, then asked for their timed runs in
 * turns (round r starts with parser r), and only one of them ever runs at a time.
 *
 * Options (arguments, or environment variables for `npm run bench` from the root, where npm keeps the arguments):
 *   --runs N        / SIP_BENCH_RUNS       timed runs per parser (7)
 *   --run-ms N      / SIP_BENCH_RUN_MS     length of one run (1000)
 *   --warmup-ms N   / SIP_BENCH_WARMUP_MS  warm-up before the runs (2000)
 *   --only a,b      / SIP_BENCH_ONLY       parser ids: switchboard, sip, jssip, sipjs, switchboard-bytes, switchboard-forward, sip-parse-only
 *   --baseline DIR  / SIP_BENCH_BASELINE   also measure the parser built in another checkout (switchboard-baseline)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { machine as describeMachine } from './lib/machine.js';
import { median } from './lib/netns-bench.js';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MIX, MIX_BYTES } from './fixtures/sip-mix.js';
import type { ParentMessage, ParserMeta, RunFigure, WorkerMessage } from './lib/measure.js';
import { BASELINE_ENV, PARSER_IDS } from './lib/parsers.js';
import { sourceState } from './lib/source-state.js';

const TARGET_MSGS_PER_SEC = 300_000;
const TARGET_RATIO_VS_SIP = 2.5;
// Above this much CPU used by other processes during a run (in cores, out of 2) the figures are marked noisy.
const NOISY_OTHER_CORES = 0.2;

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string' },
    'run-ms': { type: 'string' },
    'warmup-ms': { type: 'string' },
    only: { type: 'string' },
    baseline: { type: 'string' },
  },
});
const env = process.env;
const runs = Number(args.runs ?? env.SIP_BENCH_RUNS ?? 7);
const runMs = Number(args['run-ms'] ?? env.SIP_BENCH_RUN_MS ?? 1000);
const warmupMs = Number(args['warmup-ms'] ?? env.SIP_BENCH_WARMUP_MS ?? 2000);
const only = (args.only ?? env.SIP_BENCH_ONLY)?.split(',').map((s) => s.trim()).filter(Boolean);
const ids = only ?? [...PARSER_IDS];
// Another build of ours, measured in the same rounds: the before-and-after of a change, under the same conditions.
const baseline = args.baseline ?? env[BASELINE_ENV];
if (baseline !== undefined && baseline !== '') {
  env[BASELINE_ENV] = resolve(baseline);
  if (!ids.includes('switchboard-baseline')) ids.push('switchboard-baseline');
}
const knownIds: string[] = [...PARSER_IDS, 'switchboard-baseline'];
for (const id of ids) if (!knownIds.includes(id)) throw new Error(`unknown parser id ${id}; known: ${knownIds.join(', ')}`);
if (!(runs >= 1 && runMs > 0 && warmupMs > 0)) throw new Error('runs, run-ms and warmup-ms must be positive');

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const measureScript = fileURLToPath(new URL('./lib/measure.ts', import.meta.url));
const resultsFile = fileURLToPath(new URL('./results/sip-parse.json', import.meta.url));

interface Summary {
  id: string;
  label: string;
  packageName: string;
  version: string;
  work: string;
  serializes: boolean;
  median: number;
  min: number;
  max: number;
  medianOwnCores: number;
  maxOtherCores: number | undefined;
  /** Median share of wall time the parsing thread had a CPU. */
  medianMainThreadShare: number | undefined;
  medianMsgsPerCpuSec: number | undefined;
  runs: RunFigure[];
}


interface Worker {
  id: string;
  child: ChildProcess;
  next(): Promise<WorkerMessage>;
}

/** Starts a parser's process and waits until it is checked and warm. */
async function startWorker(id: string): Promise<{ worker: Worker; meta: ParserMeta }> {
  // --expose-gc lets the child collect before each run so one run's garbage is not billed to the next.
  const child = fork(measureScript, [id, String(runMs), String(warmupMs)], {
    cwd: benchDir,
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const queue: WorkerMessage[] = [];
  let waiting: ((message: WorkerMessage) => void) | undefined;
  const deliver = (message: WorkerMessage): void => {
    if (waiting === undefined) queue.push(message);
    else {
      const resolve = waiting;
      waiting = undefined;
      resolve(message);
    }
  };
  child.on('message', (message) => deliver(message as WorkerMessage));
  child.on('exit', (code, signal) => deliver({ type: 'error', error: `process exited (${code ?? signal}) before answering` }));
  const worker: Worker = {
    id,
    child,
    next: () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => { waiting = resolve; })),
  };
  const first = await worker.next();
  if (first.type !== 'ready') throw new Error(`${id}: ${first.type === 'error' ? first.error : 'unexpected message'}`);
  return { worker, meta: first.meta };
}

async function runOnce(worker: Worker): Promise<RunFigure> {
  worker.child.send({ type: 'run' } satisfies ParentMessage);
  const answer = await worker.next();
  if (answer.type !== 'run') throw new Error(`${worker.id}: ${answer.type === 'error' ? answer.error : 'unexpected message'}`);
  return answer.figure;
}

function optionalMedian(values: (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === values.length && known.length > 0 ? median(known) : undefined;
}

function summarize(meta: ParserMeta, figures: RunFigure[]): Summary {
  const rates = figures.map((r) => r.msgsPerSec);
  const others = figures.map((r) => r.otherCores).filter((v): v is number => v !== undefined);
  return {
    id: meta.id,
    label: meta.label,
    packageName: meta.packageName,
    version: meta.version,
    work: meta.work,
    serializes: meta.serializes,
    median: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    medianOwnCores: median(figures.map((r) => r.ownCores)),
    medianMainThreadShare: optionalMedian(figures.map((r) => r.mainThreadShare)),
    medianMsgsPerCpuSec: optionalMedian(figures.map((r) => r.msgsPerCpuSec)),
    maxOtherCores: others.length === 0 ? undefined : Math.max(...others),
    runs: figures,
  };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtRatio = (n: number): string => (n >= 10 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toFixed(3)) + 'x';

const machine = describeMachine();
const startedAt = new Date();
const loadBefore = loadavg();
const source = sourceState();

console.log(`SIP parse+serialize throughput, one message at a time on one thread (${machine.cores} cores: ${machine.cpu}, Node ${machine.node})`);
console.log(`mix: ${MIX.map((m) => `${m.name} (${Buffer.byteLength(m.text)} B)`).join(', ')}; equal weights, ${MIX_BYTES} B per pass`);
console.log(`per parser: own process, correctness check, ${warmupMs} ms warm-up, then ${runs} runs of ${runMs} ms taken in turns; median msg/s`);
console.log(`our parser: commit ${source.commit ?? '?'}${source.dirty ? ' + uncommitted changes' : ''}, message sources ${source.messageSourcesHash}`);
if (source.staleBuild.length > 0) console.log(`WARNING: built output older than ${source.staleBuild.join(', ')}: run \`npx tsc -b\` first`);
console.log(`load average before: ${loadBefore.map((v) => v.toFixed(2)).join(' ')}\n`);

const workers: { worker: Worker; meta: ParserMeta; figures: RunFigure[] }[] = [];
try {
  for (const id of ids) {
    process.stdout.write(`  ${id}: checking, warming up ... `);
    const { worker, meta } = await startWorker(id);
    workers.push({ worker, meta, figures: [] });
    console.log(`ok (${meta.warmupMessages.toLocaleString('en-US')} messages)`);
  }
  for (let round = 0; round < runs; round++) {
    process.stdout.write(`  round ${round + 1}/${runs}:`);
    for (let k = 0; k < workers.length; k++) {
      const entry = workers[(round + k) % workers.length]!;
      const figure = await runOnce(entry.worker);
      entry.figures.push(figure);
      process.stdout.write(` ${entry.meta.id} ${fmt(figure.msgsPerSec)}`);
    }
    process.stdout.write('\n');
  }
} finally {
  for (const { worker } of workers) if (worker.child.connected) worker.child.send({ type: 'exit' } satisfies ParentMessage);
}
const summaries = workers.map(({ meta, figures }) => summarize(meta, figures));
const loadAfter = loadavg();

const ours = summaries.find((s) => s.id === 'switchboard');
// No ratio against our own datagram variant: it is context, not a peer. Against a baseline build it is the speed-up.
const rows = summaries.map((s) => {
  const peer = ours !== undefined && (s.packageName !== ours.packageName || s.id === 'switchboard-baseline');
  return {
    ...s,
    oursOverThis: peer ? ours.median / s.median : undefined,
    oursOverThisCpu: peer && ours.medianMsgsPerCpuSec !== undefined && s.medianMsgsPerCpuSec !== undefined
      ? ours.medianMsgsPerCpuSec / s.medianMsgsPerCpuSec
      : undefined,
  };
});
const maxOther = Math.max(0, ...summaries.map((s) => s.maxOtherCores ?? 0));
const noisy = maxOther > NOISY_OTHER_CORES || loadBefore[0]! > NOISY_OTHER_CORES * 2;

const na = (v: number | undefined, f: (v: number) => string): string => (v === undefined ? 'n/a' : f(v));
const table = [
  '| parser | version | work per message | median msg/s | min | max | ours / this | msg per CPU-s | ours / this, CPU | on CPU | other load |',
  '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.label} | ${r.version} | ${r.work} | ${fmt(r.median)} | ${fmt(r.min)} | ${fmt(r.max)} | ` +
    `${r.oursOverThis === undefined ? '' : fmtRatio(r.oursOverThis)} | ${na(r.medianMsgsPerCpuSec, fmt)} | ` +
    `${r.oursOverThisCpu === undefined ? '' : fmtRatio(r.oursOverThisCpu)} | ` +
    `${na(r.medianMainThreadShare, (v) => `${Math.round(v * 100)}%`)} | ${na(r.maxOtherCores, (v) => `≤ ${v.toFixed(2)}`)} |`),
].join('\n');
console.log('\n' + table + '\n');
console.log('msg per CPU-s: messages per second of the parsing thread\'s own CPU time (median). on CPU: share of wall time');
console.log('that thread ran (median; below 100% it waited for a core, or for GC helper threads). other load: most CPU,');
console.log('in cores, that other processes used during any of its runs.');
console.log(noisy
  ? `NOISY: other processes used up to ${maxOther.toFixed(2)} cores during the runs (load average before ${loadBefore[0]!.toFixed(2)}).`
  : `quiet: other processes used at most ${maxOther.toFixed(2)} cores during the runs.`);

const sip = summaries.find((s) => s.id === 'sip');
let target: { msgsPerSec: number; ratioVsSip: number; met: boolean | undefined } | undefined;
if (ours !== undefined) {
  const ratio = sip === undefined ? undefined : ours.median / sip.median;
  const met = ratio === undefined ? undefined : ours.median >= TARGET_MSGS_PER_SEC && ratio >= TARGET_RATIO_VS_SIP;
  target = { msgsPerSec: TARGET_MSGS_PER_SEC, ratioVsSip: TARGET_RATIO_VS_SIP, met };
  console.log(`target: ≥ ${fmt(TARGET_MSGS_PER_SEC)} msg/s and ≥ ${TARGET_RATIO_VS_SIP}x sip; ours ${fmt(ours.median)} msg/s` +
    (ratio === undefined ? ' (sip not measured)' : `, ${fmtRatio(ratio)} sip: ${met ? 'met' : 'NOT met'}`));
}

mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
writeFileSync(resultsFile, JSON.stringify({
  benchmark: 'sip-parse',
  date: startedAt.toISOString(),
  machine,
  source,
  loadAverage: { before: loadBefore, after: loadAfter },
  noisy,
  settings: { runs, runMs, warmupMs, processPerParser: true, runsInterleaved: true },
  mix: MIX.map((m) => ({ name: m.name, bytes: Buffer.byteLength(m.text), method: m.method, status: m.status })),
  target,
  results: rows,
}, null, 2) + '\n');
console.log(`\nwrote ${resultsFile}`);
