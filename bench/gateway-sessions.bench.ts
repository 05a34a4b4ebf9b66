/**
 * Gateway memory per connected operator and throughput of a call set-up storm, side by side with a bare `ws`
 * server (the floor: what any WebSocket gateway on Node with this library costs for the same frames) in the same
 * run. Each server runs in a child process of its own (lib/session-server.ts) so its memory is measured alone;
 * this process is the load client. Every run starts a fresh server; the two subjects take turns, one at a time,
 * starting with a different one each round.
 *
 * One run of one subject: warm up (a few logins and calls, then closed) → memory after forced GC → N operators
 * connect and log in → memory → N more (the linearity check) → memory → the extra N leave → call storm among the
 * first N (N/2 caller/callee pairs) → memory.
 *
 * Options (arguments, or environment variables for `npm run bench` from the root, where npm keeps the arguments):
 *   --operators N        / GATEWAY_BENCH_OPERATORS         operators connected at once (2000)
 *   --extra N            / GATEWAY_BENCH_EXTRA             more operators for the linearity check, 0 for none (N)
 *   --runs N             / GATEWAY_BENCH_RUNS              runs per subject (5)
 *   --storm-ms N         / GATEWAY_BENCH_STORM_MS          measured part of the storm (10000)
 *   --storm-warmup-ms N  / GATEWAY_BENCH_STORM_WARMUP_MS   storm before the measured part (3000)
 *   --concurrency N      / GATEWAY_BENCH_CONCURRENCY       logins in flight at once (100)
 *   --only a,b           / GATEWAY_BENCH_ONLY              subjects: gateway, floor
 *   GATEWAY_BENCH_SERVER_NODE_ARGS: more Node flags for the server processes, e.g. "--cpu-prof --cpu-prof-dir=results/profile"
 */
import { fork, type ChildProcess, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { machine as describeMachine } from './lib/machine.js';
import { median } from './lib/netns-bench.js';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureDemoSecret, openStore, TokenIssuer } from '@switchboard/gateway';
import {
  BenchSession,
  callStorm,
  closeSessions,
  connectSessions,
  machineJiffies,
  percentile,
  sleep,
  type Counters,
  type StormResult,
} from './lib/session-client.js';
import { extensionOf, operatorId, SDP_ANSWER, SDP_OFFER } from './lib/session-fixtures.js';
import type { MemorySample, ServerMessage, ServerRequest, ServerSample, Subject } from './lib/session-server.js';

const TARGET_BYTES_PER_OPERATOR = 30 * 1024;
// Above this much CPU used by other processes during a storm (in cores, out of 2) the figures are marked noisy.
const NOISY_OTHER_CORES = 0.2;
// Raised from the default 20/s (burst 40) so the storm measures routing, not the flood guard; 1000 is the config's maximum.
const MESSAGES_PER_SECOND = 1000;
const WARMUP_SESSIONS = 20;
// V8 grows and shrinks the young generation (up to 16 MB per semi-space on 64-bit) as allocation rates change, which
// moves RSS by tens of MB from one run to the next whatever the number of connections. Pinned at that default
// maximum in both servers, it is the same in every measurement and cancels out of the per-operator figures.
const SEMI_SPACE_FLAGS = ['--min-semi-space-size=16', '--max-semi-space-size=16'];
const SUBJECTS: readonly Subject[] = ['gateway', 'floor'];
const LABELS: Record<Subject, string> = { gateway: 'Switchboard gateway', floor: 'floor: bare ws + JSON relay' };

const { values: args } = parseArgs({
  options: {
    operators: { type: 'string' },
    extra: { type: 'string' },
    runs: { type: 'string' },
    'storm-ms': { type: 'string' },
    'storm-warmup-ms': { type: 'string' },
    concurrency: { type: 'string' },
    only: { type: 'string' },
  },
});
const env = process.env;
const operators = Number(args.operators ?? env.GATEWAY_BENCH_OPERATORS ?? 2000);
const extra = Number(args.extra ?? env.GATEWAY_BENCH_EXTRA ?? operators);
const runs = Number(args.runs ?? env.GATEWAY_BENCH_RUNS ?? 5);
const stormMs = Number(args['storm-ms'] ?? env.GATEWAY_BENCH_STORM_MS ?? 10000);
const stormWarmupMs = Number(args['storm-warmup-ms'] ?? env.GATEWAY_BENCH_STORM_WARMUP_MS ?? 3000);
const concurrency = Number(args.concurrency ?? env.GATEWAY_BENCH_CONCURRENCY ?? 100);
const only = (args.only ?? env.GATEWAY_BENCH_ONLY)?.split(',').map((s) => s.trim()).filter(Boolean);
const serverNodeArgs = (env.GATEWAY_BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const subjects = (only ?? [...SUBJECTS]) as Subject[];
for (const s of subjects) if (!SUBJECTS.includes(s)) throw new Error(`unknown subject ${s}; known: ${SUBJECTS.join(', ')}`);
if (!(Number.isInteger(operators) && operators >= 2 && operators % 2 === 0)) throw new Error('operators must be an even number ≥ 2');
if (!(Number.isInteger(extra) && extra >= 0)) throw new Error('extra must be a whole number');
if (!(runs >= 1 && stormMs > 0 && stormWarmupMs >= 0 && concurrency >= 1)) throw new Error('runs, storm-ms and concurrency must be positive');

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const serverScript = fileURLToPath(new URL('./lib/session-server.ts', import.meta.url));
const resultsFile = fileURLToPath(new URL('./results/gateway-sessions.json', import.meta.url));

// Operators: [0, operators) stay connected, [operators, operators + extra) come and go for the linearity check,
// and the warm-up uses the ones after those so its sessions never share an operator with a measured one.
const total = operators + extra + WARMUP_SESSIONS;
const extensions = Array.from({ length: total }, (_, i) => extensionOf(operatorId(i)));


// Which gateway was measured --------------------------------------------------------------------------------

function git(gitArgs: string[]): string | undefined {
  try {
    return execFileSync('git', gitArgs, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Sources under packages/<name>/src newer than their build output: the run would measure code nobody is reading. */
function staleBuild(packageNames: readonly string[]): string[] {
  const stale: string[] = [];
  for (const name of packageNames) {
    const src = join(repoRoot, 'packages', name, 'src');
    // tsc -b skips the emit of a file whose content it has already built, but rewrites its build info: a source
    // touched without a change is newer than its output and still current.
    const buildInfo = join(repoRoot, 'packages', name, 'tsconfig.tsbuildinfo');
    const checkedAt = existsSync(buildInfo) ? statSync(buildInfo).mtimeMs : 0;
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== 'test-support') walk(path);
        } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
          const built = join(repoRoot, 'packages', name, 'dist', relative(src, path).replace(/\.ts$/, '.js'));
          const changedAt = statSync(path).mtimeMs;
          if (!existsSync(built) || (statSync(built).mtimeMs < changedAt && checkedAt < changedAt)) stale.push(relative(repoRoot, path));
        }
      }
    };
    walk(src);
  }
  return stale;
}

const source = {
  commit: git(['rev-parse', '--short=12', 'HEAD']),
  dirty: (() => {
    const status = git(['status', '--porcelain', '--', 'packages/gateway/src', 'packages/protocol/src']);
    return status === undefined ? undefined : status.length > 0;
  })(),
  staleBuild: staleBuild(['gateway', 'protocol']),
};

// Server processes ------------------------------------------------------------------------------------------

interface ServerProcess {
  subject: Subject;
  port: number;
  child: ChildProcess;
  sample(gc: boolean): Promise<ServerSample>;
  stop(): Promise<void>;
}

async function startServer(subject: Subject, serverArgs: string[]): Promise<ServerProcess> {
  // --expose-gc so memory is read after a full collection, at the same quiet points in both subjects.
  const child = fork(serverScript, [subject, ...serverArgs], {
    cwd: benchDir,
    execArgv: ['--import', 'tsx', '--expose-gc', ...SEMI_SPACE_FLAGS, ...serverNodeArgs],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // Answers come in the order of the requests; a slow server may have two outstanding (the storm's two edges).
  const queue: ServerMessage[] = [];
  const waiting: ((message: ServerMessage) => void)[] = [];
  const deliver = (message: ServerMessage): void => {
    const resolve = waiting.shift();
    if (resolve === undefined) queue.push(message);
    else resolve(message);
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (message) => deliver(message as ServerMessage));
  child.on('exit', (code, signal) => deliver({ type: 'error', error: `server process exited (${code ?? signal})` }));
  const next = (): Promise<ServerMessage> =>
    queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => { waiting.push(resolve); });
  const first = await next();
  if (first.type !== 'ready') throw new Error(`${subject}: ${first.type === 'error' ? first.error : 'unexpected message'}`);
  return {
    subject,
    port: first.port,
    child,
    async sample(gc) {
      child.send({ type: 'sample', gc } satisfies ServerRequest);
      const answer = await next();
      if (answer.type !== 'sample') throw new Error(`${subject}: ${answer.type === 'error' ? answer.error : 'unexpected message'}`);
      return answer.sample;
    },
    async stop() {
      if (child.connected) child.send({ type: 'exit' } satisfies ServerRequest);
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Authenticated sessions as the server counts them: the gateway's /healthz, the floor's own count. */
async function serverSessions(server: ServerProcess): Promise<number> {
  if (server.subject === 'floor') return (await server.sample(false)).sessions ?? -1;
  const response = await fetch(`http://127.0.0.1:${server.port}/healthz`);
  return ((await response.json()) as { sessions: number }).sessions;
}

async function expectSessions(server: ServerProcess, expected: number, what: string): Promise<void> {
  // Closes are seen by the server a moment after the client's close event.
  for (let attempt = 0; attempt < 50; attempt++) {
    if ((await serverSessions(server)) === expected) return;
    await sleep(100);
  }
  throw new Error(`${server.subject}: ${await serverSessions(server)} sessions ${what}, expected ${expected}`);
}

// One run ---------------------------------------------------------------------------------------------------

interface PerOperator {
  rss: number;
  heapUsed: number;
  /** Memory outside the V8 heap that V8 knows of (Buffers, ArrayBuffers). */
  external: number;
}

interface StormFigures {
  /** Calls completed inside the window. */
  calls: number;
  /**
   * Messages per second over the messages one call takes: the call work done in the window. Completions alone
   * come in waves (all pairs start together, and a server slower than the window finishes them all at once), so
   * their count moves in steps of up to one call per pair.
   */
  callsPerSec: number;
  frames: number;
  framesPerSec: number;
  framesPerCall: number;
  setupP50Ms: number;
  setupP99Ms: number;
  setupMaxMs: number;
  /** CPU the server process used during the window, in cores. */
  serverCores: number;
  /** Frames per second of server CPU time: moves less than framesPerSec when the machine is shared. */
  framesPerServerCpuSec: number;
  clientCores: number;
  otherCores: number | undefined;
  /** Requests per second each caller sent during the window (its callee sent half as many), against the default limit. */
  callerRequestsPerSec: number;
  /** The server's event-loop delay during the window, ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Calls completed over the whole storm, warm-up and drain included. */
  callsTotal: number;
  /** Heap still held after the storm, per call completed in it (the gateway remembers ended calls for a while). */
  heapPerCallAfterStorm: number;
}

interface RunFigures {
  subject: Subject;
  startMs: number;
  loginMs: number;
  loginsPerSec: number;
  memory: { base: MemorySample; connected: MemorySample; withExtra: MemorySample | undefined; afterStorm: MemorySample };
  perOperator: PerOperator;
  /** The same for the extra block of operators: close to perOperator when memory grows linearly. */
  perExtraOperator: PerOperator | undefined;
  storm: StormFigures;
}

function perOperatorOf(from: MemorySample, to: MemorySample, count: number): PerOperator {
  return {
    rss: (to.rss - from.rss) / count,
    heapUsed: (to.heapUsed - from.heapUsed) / count,
    external: (to.external - from.external) / count,
  };
}

async function measureRun(subject: Subject, tokens: readonly string[], template: string, dataDir: string, round: number): Promise<RunFigures> {
  let serverArgs: string[] = [];
  if (subject === 'gateway') {
    const database = join(dataDir, `run-${round}.sqlite`);
    copyFileSync(template, database);
    serverArgs = [dataDir, database, String(MESSAGES_PER_SECOND)];
  }
  const started = performance.now();
  const server = await startServer(subject, serverArgs);
  const startMs = performance.now() - started;
  const counters: Counters = { sent: 0, received: 0 };
  const open: BenchSession[] = [];
  try {
    // Warm-up: the first logins and calls compile the code paths and open the lazily created parts (the HTTP
    // route, the statement cache); that is start-up cost, not per-operator cost, so it goes into the baseline.
    const warmIndices = Array.from({ length: WARMUP_SESSIONS }, (_, i) => operators + extra + i);
    const warm = await connectSessions(server.port, warmIndices, tokens, extensions, concurrency, counters);
    const half = WARMUP_SESSIONS / 2;
    await callStorm(warm.sessions.slice(0, half), warm.sessions.slice(half), counters, { warmupMs: 0, runMs: 300, onEdge: () => {} });
    await closeSessions(warm.sessions);
    await expectSessions(server, 0, 'after the warm-up');
    const base = (await server.sample(true)).memory;

    const connected = await connectSessions(server.port, Array.from({ length: operators }, (_, i) => i), tokens, extensions, concurrency, counters);
    open.push(...connected.sessions);
    await expectSessions(server, operators, 'after the logins');
    const atConnected = (await server.sample(true)).memory;

    let withExtra: MemorySample | undefined;
    if (extra > 0) {
      const more = await connectSessions(server.port, Array.from({ length: extra }, (_, i) => operators + i), tokens, extensions, concurrency, counters);
      await expectSessions(server, operators + extra, 'with the extra block');
      withExtra = (await server.sample(true)).memory;
      await closeSessions(more.sessions);
      await expectSessions(server, operators, 'after the extra block left');
    }

    const pairs = operators / 2;
    const callers = connected.sessions.slice(0, pairs);
    const callees = connected.sessions.slice(pairs);
    const edges: { server: Promise<ServerSample>; client: NodeJS.CpuUsage; jiffies: ReturnType<typeof machineJiffies>; at: number }[] = [];
    const storm: StormResult = await callStorm(callers, callees, counters, {
      warmupMs: stormWarmupMs,
      runMs: stormMs,
      onEdge: () => edges.push({ server: server.sample(false), client: process.cpuUsage(), jiffies: machineJiffies(), at: performance.now() }),
    });
    const [from, to] = edges;
    const seconds = (to!.at - from!.at) / 1000;
    const serverFrom = await from!.server;
    const serverTo = await to!.server;
    const serverCores = (serverTo.cpuMicros - serverFrom.cpuMicros) / 1e6 / seconds;
    const clientCpu = (to!.client.user + to!.client.system - from!.client.user - from!.client.system) / 1e6;
    const clientCores = clientCpu / seconds;
    let otherCores: number | undefined;
    if (from!.jiffies !== undefined && to!.jiffies !== undefined) {
      // /proc/stat counts in USER_HZ, which is 100 on every architecture Node runs on.
      const busy = (to!.jiffies.busy - from!.jiffies.busy) / 100 / seconds;
      otherCores = Math.max(0, busy - serverCores - clientCores);
    }
    const afterStorm = (await server.sample(true)).memory;

    const loginsPerSec = (operators / connected.ms) * 1000;
    return {
      subject,
      startMs,
      loginMs: connected.ms,
      loginsPerSec,
      memory: { base, connected: atConnected, withExtra, afterStorm },
      perOperator: perOperatorOf(base, atConnected, operators),
      perExtraOperator: withExtra === undefined ? undefined : perOperatorOf(atConnected, withExtra, extra),
      storm: {
        calls: storm.calls,
        callsPerSec: (storm.frames / storm.framesPerCall / storm.windowMs) * 1000,
        frames: storm.frames,
        framesPerSec: (storm.frames / storm.windowMs) * 1000,
        framesPerCall: storm.framesPerCall,
        setupP50Ms: percentile(storm.setupMs, 0.5),
        setupP99Ms: percentile(storm.setupMs, 0.99),
        setupMaxMs: storm.setupMs.at(-1) ?? NaN,
        serverCores,
        framesPerServerCpuSec: storm.frames / (serverCores * seconds),
        clientCores,
        otherCores,
        // A caller sends call.start and call.hangup per call; its callee sends call.answer.
        callerRequestsPerSec: ((storm.frames / storm.framesPerCall / pairs) * 2 * 1000) / storm.windowMs,
        loopDelayP99Ms: serverTo.loopDelay.p99,
        loopDelayMaxMs: serverTo.loopDelay.max,
        callsTotal: storm.callsTotal,
        heapPerCallAfterStorm: (afterStorm.heapUsed - atConnected.heapUsed) / storm.callsTotal,
      },
    };
  } finally {
    await closeSessions(open);
    await server.stop();
  }
}

// The benchmark -------------------------------------------------------------------------------------------

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const kb = (bytes: number): string => (bytes / 1024).toFixed(1);
const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const ratio = (n: number): string => (n >= 10 ? n.toFixed(0) : n.toFixed(2)) + 'x';

const machine = describeMachine();
const fdLimit = (() => {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return undefined;
  }
})();
const startedAt = new Date();
const loadBefore = loadavg();

console.log(`Gateway sessions: memory per operator and call set-up storm (${machine.cores} cores: ${machine.cpu}, Node ${machine.node})`);
console.log(`per run: fresh server process, ${operators} operators log in (${concurrency} at a time)` +
  (extra > 0 ? `, ${extra} more for the linearity check` : '') +
  `, then ${operators / 2} caller/callee pairs call for ${stormWarmupMs} + ${stormMs} ms; ${runs} runs per subject, in turns`);
console.log(`SDP offer ${Buffer.byteLength(SDP_OFFER)} B, answer ${Buffer.byteLength(SDP_ANSWER)} B; gateway limits.messagesPerSecond ${MESSAGES_PER_SECOND}`);
console.log(`gateway: commit ${source.commit ?? '?'}${source.dirty ? ' + uncommitted changes' : ''}`);
if (source.staleBuild.length > 0) console.log(`WARNING: built output older than ${source.staleBuild.slice(0, 5).join(', ')}${source.staleBuild.length > 5 ? ', ...' : ''}: run \`npx tsc -b\` first`);
// Each connection is a descriptor here and another in the server process; the children inherit this limit.
const fdsNeeded = operators + extra + WARMUP_SESSIONS + 100;
if (fdLimit !== undefined && Number.isFinite(fdLimit) && fdLimit < fdsNeeded) {
  throw new Error(`ulimit -n is ${fdLimit}; ${fdsNeeded} descriptors are needed per process: raise it (ulimit -n ${fdsNeeded * 2})`);
}
console.log(`load average before: ${loadBefore.map((v) => v.toFixed(2)).join(' ')}\n`);

const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
// An interrupted run would otherwise leave its databases behind; the servers stop when their IPC channel closes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(130);
  });
}
try {
  // The CRM's side: one secret in the data directory, shared with the gateway's demo config, and a token each.
  const { secret } = ensureDemoSecret(dataDir);
  const issuer = new TokenIssuer({ secret });
  const tokens = await Promise.all(Array.from({ length: total }, (_, i) => issuer.issue({ operatorId: operatorId(i), ttl: '2h' }).then((t) => t.token)));

  // Seeded once; every gateway run gets a fresh copy, so call logs of earlier runs never weigh on later ones.
  const template = join(dataDir, 'template.sqlite');
  const store = await openStore({ kind: 'sqlite', file: template });
  for (let i = 0; i < total; i++) {
    await store.operators.upsert({ id: operatorId(i), displayName: `Bench Operator ${extensions[i]!}`, extension: extensions[i]! });
  }
  await store.close();

  const figures = new Map<Subject, RunFigures[]>(subjects.map((s) => [s, []]));
  for (let round = 0; round < runs; round++) {
    process.stdout.write(`  round ${round + 1}/${runs}:`);
    for (let k = 0; k < subjects.length; k++) {
      const subject = subjects[(round + k) % subjects.length]!;
      const run = await measureRun(subject, tokens, template, dataDir, round);
      figures.get(subject)!.push(run);
      process.stdout.write(` ${subject} ${kb(run.perOperator.rss)} KB/op, ${fmt(run.loginsPerSec)} logins/s, ${fmt(run.storm.callsPerSec)} calls/s;`);
    }
    process.stdout.write('\n');
  }
  const loadAfter = loadavg();

  const summarize = (subject: Subject) => {
    const list = figures.get(subject)!;
    const stat = (pick: (r: RunFigures) => number | undefined) => {
      const values = list.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
      return values.length === 0 ? undefined : { median: median(values), min: Math.min(...values), max: Math.max(...values) };
    };
    return {
      subject,
      label: LABELS[subject],
      rssPerOperator: stat((r) => r.perOperator.rss)!,
      heapPerOperator: stat((r) => r.perOperator.heapUsed)!,
      externalPerOperator: stat((r) => r.perOperator.external)!,
      rssPerExtraOperator: stat((r) => r.perExtraOperator?.rss),
      heapPerExtraOperator: stat((r) => r.perExtraOperator?.heapUsed),
      baseRss: stat((r) => r.memory.base.rss)!,
      baseHeap: stat((r) => r.memory.base.heapUsed)!,
      heapGrowthInStorm: stat((r) => r.memory.afterStorm.heapUsed - r.memory.connected.heapUsed)!,
      loginsPerSec: stat((r) => r.loginsPerSec)!,
      callsPerSec: stat((r) => r.storm.callsPerSec)!,
      framesPerSec: stat((r) => r.storm.framesPerSec)!,
      framesPerCall: stat((r) => r.storm.framesPerCall)!,
      setupP50Ms: stat((r) => r.storm.setupP50Ms)!,
      setupP99Ms: stat((r) => r.storm.setupP99Ms)!,
      serverCores: stat((r) => r.storm.serverCores)!,
      framesPerServerCpuSec: stat((r) => r.storm.framesPerServerCpuSec)!,
      clientCores: stat((r) => r.storm.clientCores)!,
      otherCores: stat((r) => r.storm.otherCores),
      callerRequestsPerSec: stat((r) => r.storm.callerRequestsPerSec)!,
      loopDelayP99Ms: stat((r) => r.storm.loopDelayP99Ms)!,
      loopDelayMaxMs: stat((r) => r.storm.loopDelayMaxMs)!,
      heapPerCallAfterStorm: stat((r) => r.storm.heapPerCallAfterStorm)!,
    };
  };
  const summaries = subjects.map(summarize);
  const gateway = summaries.find((s) => s.subject === 'gateway');
  const floor = summaries.find((s) => s.subject === 'floor');
  const range = (s: { median: number; min: number; max: number } | undefined, f: (n: number) => string): string =>
    s === undefined ? 'n/a' : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;

  const memoryTable = [
    '| server | RSS per operator, KB | heap per operator, KB | external per operator, KB | RSS per extra operator, KB | heap per extra operator, KB | RSS before logins, MB | logins/s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...summaries.map((s) => `| ${s.label} | ${range(s.rssPerOperator, kb)} | ${range(s.heapPerOperator, kb)} | ${range(s.externalPerOperator, kb)} | ` +
      `${range(s.rssPerExtraOperator, kb)} | ${range(s.heapPerExtraOperator, kb)} | ${(s.baseRss.median / 2 ** 20).toFixed(0)} | ${range(s.loginsPerSec, fmt)} |`),
  ].join('\n');
  const stormTable = [
    '| server | calls/s | messages/s | messages per call | set-up p50, ms | set-up p99, ms | server cores | messages per server CPU-s | loop delay p99 / max, ms | client cores | other load | heap held per call after, KB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...summaries.map((s) => `| ${s.label} | ${range(s.callsPerSec, fmt)} | ${range(s.framesPerSec, fmt)} | ${s.framesPerCall.median.toFixed(1)} | ` +
      `${range(s.setupP50Ms, ms)} | ${range(s.setupP99Ms, ms)} | ${s.serverCores.median.toFixed(2)} | ${range(s.framesPerServerCpuSec, fmt)} | ` +
      `${ms(s.loopDelayP99Ms.median)} / ${ms(s.loopDelayMaxMs.median)} | ` +
      `${s.clientCores.median.toFixed(2)} | ${s.otherCores === undefined ? 'n/a' : `≤ ${s.otherCores.max.toFixed(2)}`} | ${kb(s.heapPerCallAfterStorm.median)} |`),
  ].join('\n');
  console.log('\nMemory, after forced GC; median (min–max) over runs\n');
  console.log(memoryTable);
  console.log(`\nCall set-up storm: ${operators / 2} pairs, ${stormMs} ms measured after ${stormWarmupMs} ms; median (min–max) over runs\n`);
  console.log(stormTable);

  let ratios: Record<string, number> | undefined;
  if (gateway !== undefined && floor !== undefined) {
    ratios = {
      rssPerOperator: gateway.rssPerOperator.median / floor.rssPerOperator.median,
      heapPerOperator: gateway.heapPerOperator.median / floor.heapPerOperator.median,
      loginsPerSec: floor.loginsPerSec.median / gateway.loginsPerSec.median,
      framesPerSec: floor.framesPerSec.median / gateway.framesPerSec.median,
      framesPerServerCpuSec: floor.framesPerServerCpuSec.median / gateway.framesPerServerCpuSec.median,
      setupP50: gateway.setupP50Ms.median / floor.setupP50Ms.median,
    };
    console.log(`\ngateway / floor: RSS per operator ${ratio(ratios.rssPerOperator!)}, heap per operator ${ratio(ratios.heapPerOperator!)}; ` +
      `floor / gateway: logins/s ${ratio(ratios.loginsPerSec!)}, messages/s ${ratio(ratios.framesPerSec!)}, ` +
      `messages per server CPU-s ${ratio(ratios.framesPerServerCpuSec!)}; set-up p50 gateway / floor ${ratio(ratios.setupP50!)}`);
  }
  const maxOther = Math.max(0, ...summaries.map((s) => s.otherCores?.max ?? 0));
  const noisy = maxOther > NOISY_OTHER_CORES || loadBefore[0]! > NOISY_OTHER_CORES * 2;
  console.log(noisy
    ? `NOISY: other processes used up to ${maxOther.toFixed(2)} cores during the storms (load average before ${loadBefore[0]!.toFixed(2)}).`
    : `quiet: other processes used at most ${maxOther.toFixed(2)} cores during the storms.`);
  let target: { bytesPerOperator: number; measuredRss: number; met: boolean } | undefined;
  if (gateway !== undefined) {
    const worst = Math.max(gateway.rssPerOperator.median, gateway.rssPerExtraOperator?.median ?? 0);
    target = { bytesPerOperator: TARGET_BYTES_PER_OPERATOR, measuredRss: worst, met: worst <= TARGET_BYTES_PER_OPERATOR };
    console.log(`target: ≤ ${kb(TARGET_BYTES_PER_OPERATOR)} KB per operator (RSS); gateway ${kb(worst)} KB: ${target.met ? 'met' : 'NOT met'}`);
  }

  mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
  writeFileSync(resultsFile, JSON.stringify({
    benchmark: 'gateway-sessions',
    date: startedAt.toISOString(),
    machine,
    fdLimit,
    source,
    loadAverage: { before: loadBefore, after: loadAfter },
    noisy,
    settings: {
      operators, extra, runs, stormMs, stormWarmupMs, concurrency, messagesPerSecond: MESSAGES_PER_SECOND,
      sdpOfferBytes: Buffer.byteLength(SDP_OFFER), sdpAnswerBytes: Buffer.byteLength(SDP_ANSWER), processPerRun: true, runsInterleaved: true,
    },
    target,
    ratios,
    summaries,
    runs: Object.fromEntries(figures),
  }, null, 2) + '\n');
  console.log(`\nwrote ${resultsFile}`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
