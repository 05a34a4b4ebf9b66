/**
 * Calls through the gateway's SIP-to-SIP bridge (packages/gateway/src/calls/sip-bridge.ts) side by side with
 * Kamailio as a stateful, record-routing proxy, in the same run and with the same sipp scenario: sipp's built-in
 * `uac` (INVITE, 100/180 optional, 200 with rtd, ACK, pause of 0 ms, BYE, 200) against sipp's built-in `uas`, with
 * the same arguments on every path. Target: the gateway sustains at least 0.3x the calls per second Kamailio sustains.
 *
 * Gateway: the real gateway (packages/gateway/dist) in a process of its own with two registrar accounts, `uac` and
 * `uas`. Each sipp port is registered at the gateway from that very port before the sipp that uses it starts (the
 * gateway only bridges INVITEs from a registered source, and reaches a UDP phone where its REGISTER came from), so
 * the uac's INVITE for sip:uas@gateway is bridged to the uas. Kamailio: shared/reference/peers/kamailio-registrar.cfg
 * with only its port changed, `-m 1024 -M 32`; the uas is registered there as `uas` and the uac sends the same
 * INVITE for sip:uas@kamailio, which Kamailio looks up and relays statefully with record-route.
 *
 * 1. Capacity: a ladder of fixed-rate sipp uac runs at increasing rates (calls = rate x step length). A step passes
 *    when every call completed and none failed, the step ended within 10 % (+0.5 s) of its nominal
 *    length and under 1 % of the INVITEs and BYEs were retransmitted. A failing rate is tried once more; the ladder's
 *    figure is the highest rate that passed. Rounds alternate which side climbs first; reported: median per side.
 * 2. Set-up latency: at a fixed moderate rate, INVITE sent to 200 received at the uac, from sipp's message trace
 *    (microsecond timestamps; sipp's own -trace_rtt only has whole milliseconds), for three paths: direct (uac to
 *    uas, nothing between), via Kamailio and via the gateway. "Added" = path - direct, per round, then medians.
 *
 * Everything runs in a private network namespace on its loopback: started outside one, the script runs itself
 * again under `unshare -n -m -p -f --mount-proc --kill-child` with lo up (as registrar.bench.ts does).
 *
 * Options (arguments, or environment variables for `npm run` from the root, where npm keeps the arguments):
 *   --runs N            / B2BUA_BENCH_RUNS            rounds: ladders per side and latency runs per path (3)
 *   --step-s N          / B2BUA_BENCH_STEP_S          seconds of load per ladder step (4)
 *   --rates a,b         / B2BUA_BENCH_RATES           the ladder, calls/s
 *   --only a,b          / B2BUA_BENCH_ONLY            sides: gateway, kamailio (direct always runs for latency)
 *   --latency-rate N    / B2BUA_BENCH_LATENCY_RATE    calls/s of the latency runs (50)
 *   --latency-s N       / B2BUA_BENCH_LATENCY_S       seconds per latency run (10)
 *   --skip-ladder       / B2BUA_BENCH_SKIP_LADDER=1   latency only
 *   B2BUA_BENCH_GATEWAY_NODE_ARGS: more Node flags for the gateway process, e.g. "--cpu-prof --cpu-prof-dir=results/profile"
 */
import { execFileSync, fork, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, networkInterfaces, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startKamailio, type Kamailio } from '../test/e2e/support/kamailio.js';
import { namespaceInterfaces } from '../test/e2e/support/netns.js';
import { freePort, LOOPBACK } from '../test/e2e/support/ports.js';
import { stopAll, suiteDir } from '../test/e2e/support/processes.js';
import { REGISTER_SCENARIO, runSipp, startSipp, type SippServer } from '../test/e2e/support/sipp.js';
import type { B2buaGatewayMessage, B2buaGatewayRequest } from './lib/b2bua-gateway.js';

const TARGET_RATIO = 0.3;
const SUITE = 'bench-b2bua';
const PASSWORD = 'secret';
const DOMAIN = 'example.com';
/** The user the uac calls; the uac registers at the gateway as UAC_USER. */
const UAS_USER = 'uas';
const UAC_USER = 'uac';
const REFERENCE_CFG = join(process.env.SWITCHBOARD_SHARED ?? fileURLToPath(new URL('../../shared/', import.meta.url)), 'reference/peers/kamailio-registrar.cfg');
const DEFAULT_RATES = [25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000];
const PAUSE_MS = 1500;
const KEEP_UP_FACTOR = 1.1;
const STARTUP_S = 0.5;
/** Retransmitted requests allowed, as a share of the INVITEs and BYEs a step sends. */
const MAX_RETRANSMISSION_SHARE = 0.01;

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string' },
    'step-s': { type: 'string' },
    rates: { type: 'string' },
    only: { type: 'string' },
    'latency-rate': { type: 'string' },
    'latency-s': { type: 'string' },
    'skip-ladder': { type: 'boolean' },
  },
});
const env = process.env;
const runs = Number(args.runs ?? env.B2BUA_BENCH_RUNS ?? 3);
const stepS = Number(args['step-s'] ?? env.B2BUA_BENCH_STEP_S ?? 4);
const rates = (args.rates ?? env.B2BUA_BENCH_RATES)?.split(',').map(Number) ?? DEFAULT_RATES;
const latencyRate = Number(args['latency-rate'] ?? env.B2BUA_BENCH_LATENCY_RATE ?? 50);
const latencyS = Number(args['latency-s'] ?? env.B2BUA_BENCH_LATENCY_S ?? 10);
const skipLadder = args['skip-ladder'] ?? env.B2BUA_BENCH_SKIP_LADDER === '1';
const SIDES = ['gateway', 'kamailio'] as const;
type Side = (typeof SIDES)[number];
type Path = Side | 'direct';
const sides = ((args.only ?? env.B2BUA_BENCH_ONLY)?.split(',').map((s) => s.trim()) ?? [...SIDES]) as Side[];
for (const s of sides) if (!SIDES.includes(s)) throw new Error(`unknown side ${s}; known: ${SIDES.join(', ')}`);
if (!(Number.isInteger(runs) && runs >= 1 && stepS > 0 && latencyRate > 0 && latencyS > 0 && rates.length > 0 && rates.every((r) => Number.isInteger(r) && r > 0))) {
  throw new Error('runs, step-s, latency-rate, latency-s and rates must be positive (rates whole numbers)');
}

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const resultsFile = fileURLToPath(new URL('./results/b2bua.json', import.meta.url));
const gatewayScript = fileURLToPath(new URL('./lib/b2bua-gateway.ts', import.meta.url));

function inPrivateNetns(): boolean {
  try {
    const names = namespaceInterfaces();
    return names.length === 1 && names[0] === 'lo' && (networkInterfaces()['lo'] ?? []).some((a) => a.address === LOOPBACK);
  } catch {
    return false;
  }
}

if (!inPrivateNetns()) {
  if (env.B2BUA_BENCH_NETNS === '1') throw new Error('unshare gave no private network namespace with lo up');
  const command = [process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)];
  const quoted = command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawnSync('unshare', ['-n', '-m', '-p', '-f', '--mount-proc', '--kill-child', 'sh', '-c', `ip link set lo up && exec ${quoted}`], {
    cwd: benchDir,
    stdio: 'inherit',
    env: { ...env, B2BUA_BENCH_NETNS: '1' },
  });
  if (child.error) throw child.error;
  process.exit(child.status ?? 1);
}

interface Step {
  rate: number;
  calls: number;
  passed: boolean;
  successful: number;
  failed: number;
  unexpected: number;
  retransmissions: number;
  recvTimeouts: number;
  /** Calls the uas counted as failed during the step (read after the pause that follows it). */
  uasFailed: number;
  wallS: number;
  /** CPU time the middle (gateway or Kamailio, all its processes) used during the step, seconds. */
  cpuS: number;
  callsPerCpuSecond: number;
  /** Cores used on average by every other process of the machine during the step: both sipps and whatever else runs there. */
  otherCores: number | undefined;
}

interface Ladder {
  round: number;
  side: Side;
  maxRate: number;
  steps: Step[];
}

interface LatencyRun {
  round: number;
  path: Path;
  calls: number;
  successful: number;
  failed: number;
  retransmissions: number;
  /** INVITEs matched with their 200 in the message trace. */
  samples: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Where the uac sends, with the uas behind it. */
interface Subject {
  path: Path;
  /** host:port the uac's INVITEs go to (and its Request-URI names). */
  address: string;
  /** The port the uac sends from (registered at the gateway for its side). */
  uacPort: number;
  uas: SippServer;
  cpuTicks(): number;
  stop(): Promise<void>;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime of each process whose /proc/<pid>/stat passes `match` (the private pid namespace has only ours). */
function processTicks(match: (pid: number, comm: string) => boolean): number {
  let ticks = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      if (!match(Number(name), comm)) continue;
      const fields = stat.slice(close + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks;
}

/** Busy jiffies of the whole machine (/proc/stat is not per namespace). */
function machineBusyTicks(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    return fields.slice(0, 8).reduce((a, b) => a + b, 0) - fields[3]! - fields[4]!;
  } catch {
    return undefined;
  }
}

/** One REGISTER with digest from `localPort`, binding `user` to that same address for an hour. */
async function register(registrar: string, user: string, localPort: number, contactPort = localPort): Promise<void> {
  const result = await runSipp({
    suite: SUITE,
    name: `register-${user}`,
    scenario: { file: REGISTER_SCENARIO },
    target: registrar,
    localPort,
    transport: 'udp',
    service: user,
    authUser: user,
    authPassword: PASSWORD,
    calls: 1,
    timeoutS: 10,
    keys: { aor_domain: DOMAIN, reg_contact: `sip:${user}@${LOOPBACK}:${contactPort}`, reg_expires: '3600' },
  });
  if (result.stats.successful !== 1) throw new Error(`registering ${user} at ${registrar} failed; see ${result.logPath} and ${result.errorsPath}`);
}

function startUas(path: Path, localPort?: number): Promise<SippServer> {
  // Long enough for the whole run; the uas is stopped at the end.
  return startSipp({ suite: SUITE, name: `sipp-uas-${path}`, scenario: 'uas', ...(localPort === undefined ? {} : { localPort }), timeoutS: 3600 });
}

async function startDirect(): Promise<Subject> {
  const uas = await startUas('direct');
  return { path: 'direct', address: uas.address, uacPort: await freePort(), uas, cpuTicks: () => 0, stop: () => uas.stop({ graceful: false }).then(() => undefined) };
}

async function startGatewaySide(): Promise<Subject> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-b2bua-'));
  const logFd = openSync(join(suiteDir(SUITE), 'gateway.log'), 'w');
  const [sipPort, httpPort, uacPort, uasPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const child: ChildProcess = fork(gatewayScript, [dataDir, String(sipPort), String(httpPort), DOMAIN, PASSWORD, UAC_USER, UAS_USER], {
    cwd: benchDir,
    execArgv: ['--import', 'tsx', ...(env.B2BUA_BENCH_GATEWAY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)],
    stdio: ['ignore', logFd, logFd, 'ipc'],
  });
  const ready = await new Promise<B2buaGatewayMessage>((resolve, reject) => {
    child.once('message', (message: B2buaGatewayMessage) => resolve(message));
    child.once('exit', (code) => reject(new Error(`the gateway exited (${code}) before it was ready; see test-output/${SUITE}/gateway.log`)));
  });
  if (ready.type !== 'ready') throw new Error(`the gateway did not start: ${ready.error}`);
  const address = `${LOOPBACK}:${ready.udpPort}`;
  // Each from the port its sipp will use: the gateway takes INVITEs only from a registered source and sends to the
  // address a UDP REGISTER came from.
  await register(address, UAC_USER, uacPort);
  await register(address, UAS_USER, uasPort);
  const uas = await startUas('gateway', uasPort);
  const pid = child.pid!;
  return {
    path: 'gateway',
    address,
    uacPort,
    uas,
    cpuTicks: () => processTicks((p) => p === pid),
    async stop() {
      await uas.stop({ graceful: false }).catch(() => undefined);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'exit' } satisfies B2buaGatewayRequest);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      child.kill('SIGKILL');
      closeSync(logFd);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startKamailioSide(): Promise<Subject> {
  const port = await freePort();
  const reference = readFileSync(REFERENCE_CFG, 'utf8');
  if (!reference.includes(':5090')) throw new Error(`${REFERENCE_CFG} no longer listens on 5090; adapt the port rewrite`);
  const kamailio: Kamailio = await startKamailio({ suite: SUITE, name: 'kamailio', config: reference.replaceAll(':5090', `:${port}`), port, shmMb: 1024, pkgMb: 32 });
  const uas = await startUas('kamailio');
  // Kamailio sends to the Contact, so the REGISTER may come from anywhere.
  await register(kamailio.address, UAS_USER, await freePort(), uas.localPort);
  return {
    path: 'kamailio',
    address: kamailio.address,
    uacPort: await freePort(),
    uas,
    cpuTicks: () => processTicks((_, comm) => comm === 'kamailio'),
    async stop() {
      await uas.stop({ graceful: false }).catch(() => undefined);
      await kamailio.stop();
    },
  };
}

function runUac(subject: Subject, name: string, rate: number, calls: number, traceMessages: boolean) {
  return runSipp({
    suite: SUITE,
    name,
    scenario: 'uac',
    target: subject.address,
    localPort: subject.uacPort,
    transport: 'udp',
    service: UAS_USER,
    calls,
    rate,
    // A side that fell behind has failed the step already; waiting longer only delays the next one.
    timeoutS: Math.ceil((calls / rate) * 2 + 5),
    traceMessages,
    // Calls end as soon as they are set up: the load is signalling only. A call is not aborted on an unexpected
    // message: Kamailio relays a call's 180 and 200 in different workers, and on a loaded machine the 180 can come
    // after the 200, which the built-in scenario would count against a call that went through. A call that really
    // goes wrong (an error response, a lost answer) still never completes and fails the step.
    extraArgs: ['-d', '0', '-default_behaviors', 'all,-abortunexp'],
  });
}

async function step(subject: Subject, rate: number): Promise<Step> {
  const calls = Math.round(rate * stepS);
  const cpuBefore = subject.cpuTicks();
  const machineBefore = machineBusyTicks();
  const uasFailedBefore = subject.uas.stats().failed;
  const started = performance.now();
  const result = await runUac(subject, `sipp-uac-${subject.path}-${rate}`, rate, calls, false);
  const wallS = (performance.now() - started) / 1000;
  const cpuTicks = subject.cpuTicks() - cpuBefore;
  const cpuS = cpuTicks / CLK_TCK;
  const machineAfter = machineBusyTicks();
  const othersTicks = machineBefore === undefined || machineAfter === undefined ? undefined : machineAfter - machineBefore - cpuTicks;
  await sleep(PAUSE_MS);
  const s = result.stats;
  return {
    rate,
    calls,
    passed:
      result.exitCode === 0 && !result.timedOut && s.failed === 0 && s.successful === calls &&
      wallS <= stepS * KEEP_UP_FACTOR + STARTUP_S && s.retransmissions <= calls * 2 * MAX_RETRANSMISSION_SHARE,
    successful: s.successful,
    failed: s.failed,
    unexpected: s.unexpectedMessages,
    retransmissions: s.retransmissions,
    recvTimeouts: s.recvTimeouts,
    uasFailed: subject.uas.stats().failed - uasFailedBefore,
    wallS: round(wallS, 2),
    cpuS: round(cpuS, 2),
    callsPerCpuSecond: cpuS > 0 ? Math.round(s.successful / cpuS) : 0,
    otherCores: othersTicks === undefined ? undefined : round(othersTicks / CLK_TCK / wallS, 2),
  };
}

async function ladder(subject: Subject & { path: Side }, roundNo: number): Promise<Ladder> {
  const steps: Step[] = [];
  let maxRate = 0;
  for (const rate of rates) {
    let result = await step(subject, rate);
    steps.push(result);
    log(`  ${subject.path.padEnd(8)} ${String(rate).padStart(5)}/s ${describe(result)}`);
    if (!result.passed) {
      // Once more: one bad step on a shared machine is not yet the limit.
      result = await step(subject, rate);
      steps.push(result);
      log(`  ${subject.path.padEnd(8)} ${String(rate).padStart(5)}/s ${describe(result)} (again)`);
      if (!result.passed) break;
    }
    maxRate = rate;
  }
  return { round: roundNo, side: subject.path, maxRate, steps };
}

function describe(s: Step): string {
  const verdict = s.passed ? 'ok  ' : 'FAIL';
  return `${verdict} ${s.successful}/${s.calls} ok, ${s.failed} failed (uas ${s.uasFailed}), ${s.retransmissions} retrans, ${s.wallS} s, ${s.cpuS} CPU-s, ${s.callsPerCpuSecond} calls/CPU-s, others ${s.otherCores ?? '?'} cores`;
}

/** "2026-11-22 14:35:48.485922" as microseconds; sipp writes local time, and only differences are used. */
function traceTimeUs(stamp: string): number {
  const m = /^(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+)\.(\d{6})$/.exec(stamp);
  if (!m) throw new Error(`unexpected sipp trace timestamp ${stamp}`);
  const [, y, mo, d, h, mi, s, us] = m.map(Number) as [number, number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s) * 1000 + us;
}

/**
 * INVITE sent to 200 received, per Call-ID, from a sipp -trace_msg log: the first transmission of the INVITE and
 * the first 200 for it, so a retransmitted INVITE counts from its original sending.
 */
function setupTimesMs(trace: string): number[] {
  const invites = new Map<string, number>();
  const times: number[] = [];
  const answered = new Set<string>();
  for (const block of trace.split(/^-{20,} /m)) {
    const newline = block.indexOf('\n');
    if (newline < 0) continue;
    const stamp = block.slice(0, newline).trim();
    const rest = block.slice(newline + 1);
    const sent = rest.startsWith('UDP message sent');
    if (!sent && !rest.startsWith('UDP message received')) continue;
    const message = rest.slice(rest.indexOf('\n\n') + 2);
    const callId = /^Call-ID:\s*(\S+)/im.exec(message)?.[1];
    if (callId === undefined) continue;
    if (sent && message.startsWith('INVITE ')) {
      if (!invites.has(callId)) invites.set(callId, traceTimeUs(stamp));
    } else if (!sent && message.startsWith('SIP/2.0 200') && /^CSeq:\s*\d+\s+INVITE/im.test(message) && !answered.has(callId)) {
      const start = invites.get(callId);
      if (start === undefined) continue;
      answered.add(callId);
      times.push((traceTimeUs(stamp) - start) / 1000);
    }
  }
  return times;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

async function latencyRun(subject: Subject, roundNo: number): Promise<LatencyRun> {
  const calls = Math.round(latencyRate * latencyS);
  const result = await runUac(subject, `sipp-uac-latency-${subject.path}`, latencyRate, calls, true);
  await sleep(PAUSE_MS);
  const trace = result.messagesPath !== undefined && existsSync(result.messagesPath) ? readFileSync(result.messagesPath, 'latin1') : '';
  const times = setupTimesMs(trace).sort((a, b) => a - b);
  // The traces are large and only the figures are kept.
  if (result.messagesPath !== undefined) rmSync(result.messagesPath, { force: true });
  return {
    round: roundNo,
    path: subject.path,
    calls,
    successful: result.stats.successful,
    failed: result.stats.failed,
    retransmissions: result.stats.retransmissions,
    samples: times.length,
    p50Ms: round(percentile(times, 50), 3),
    p90Ms: round(percentile(times, 90), 3),
    p99Ms: round(percentile(times, 99), 3),
    maxMs: round(times[times.length - 1] ?? Number.NaN, 3),
    meanMs: round(times.reduce((a, b) => a + b, 0) / Math.max(1, times.length), 3),
  };
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string): void => void process.stdout.write(`${line}\n`);

function gitState(): { commit: string | undefined; dirty: boolean | undefined } {
  const git = (a: string[]): string | undefined => {
    try {
      return execFileSync('git', a, { cwd: benchDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return undefined;
    }
  };
  const status = git(['status', '--porcelain', '--', '../packages/gateway/src', '../packages/sip/src']);
  return { commit: git(['rev-parse', '--short=12', 'HEAD']), dirty: status === undefined ? undefined : status.length > 0 };
}

/** Errors and warnings the gateway logged (pino levels 40 and up), by message. */
function gatewayComplaints(): Record<string, number> {
  const path = join(suiteDir(SUITE), 'gateway.log');
  const counts: Record<string, number> = {};
  if (!existsSync(path)) return counts;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      if ((entry.level ?? 0) >= 40) counts[`${entry.level} ${entry.msg ?? ''}`] = (counts[`${entry.level} ${entry.msg ?? ''}`] ?? 0) + 1;
    } catch {
      // not a log line
    }
  }
  return counts;
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  log(`calls through a B2BUA/proxy, sipp uac -> middle -> sipp uas over UDP: ${runs} round(s); ladder ${skipLadder ? 'skipped' : `${stepS} s per step, rates ${rates.join(', ')}`}; latency at ${latencyRate}/s for ${latencyS} s`);
  const subjects: Subject[] = [];
  const ladders: Ladder[] = [];
  const latency: LatencyRun[] = [];
  try {
    subjects.push(await startDirect());
    for (const side of sides) subjects.push(side === 'gateway' ? await startGatewaySide() : await startKamailioSide());
    const middles = subjects.filter((s): s is Subject & { path: Side } => s.path !== 'direct');
    for (let r = 0; r < runs; r++) {
      log(`round ${r + 1}/${runs}`);
      // Alternate who goes first, so a slow spell on the machine does not always hit the same one.
      const order = r % 2 === 0 ? middles : [...middles].reverse();
      if (!skipLadder) for (const subject of order) ladders.push(await ladder(subject, r + 1));
      const latencyOrder = [subjects[0]!, ...order];
      for (let i = 0; i < r % latencyOrder.length; i++) latencyOrder.push(latencyOrder.shift()!);
      for (const subject of latencyOrder) {
        const run = await latencyRun(subject, r + 1);
        latency.push(run);
        log(`  latency ${subject.path.padEnd(8)} ${run.successful}/${run.calls} ok, ${run.samples} samples: p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, max ${run.maxMs} ms`);
      }
    }

    const capacity = sides.map((side) => {
      const mine = ladders.filter((l) => l.side === side);
      const passing = mine.flatMap((l) => l.steps.filter((s) => s.passed && s.rate === l.maxRate));
      return {
        side,
        maxRates: mine.map((l) => l.maxRate),
        medianMaxRate: median(mine.map((l) => l.maxRate)),
        medianCallsPerCpuSecond: passing.length === 0 ? 0 : median(passing.map((s) => s.callsPerCpuSecond)),
      };
    });
    const gw = capacity.find((c) => c.side === 'gateway');
    const kam = capacity.find((c) => c.side === 'kamailio');
    const ratio = gw && kam && kam.medianMaxRate > 0 ? gw.medianMaxRate / kam.medianMaxRate : undefined;
    const cpuRatio = gw && kam && kam.medianCallsPerCpuSecond > 0 ? gw.medianCallsPerCpuSecond / kam.medianCallsPerCpuSecond : undefined;

    const paths: Path[] = ['direct', ...sides];
    const latencySummary = paths.map((path) => {
      const mine = latency.filter((l) => l.path === path);
      const added = (pick: (l: LatencyRun) => number): number =>
        median(mine.map((l) => pick(l) - pick(latency.find((d) => d.path === 'direct' && d.round === l.round)!)));
      return {
        path,
        p50Ms: round(median(mine.map((l) => l.p50Ms)), 3),
        p99Ms: round(median(mine.map((l) => l.p99Ms)), 3),
        addedP50Ms: path === 'direct' ? 0 : round(added((l) => l.p50Ms), 3),
        addedP99Ms: path === 'direct' ? 0 : round(added((l) => l.p99Ms), 3),
        allSucceeded: mine.every((l) => l.successful === l.calls && l.failed === 0),
      };
    });

    log('');
    if (!skipLadder) {
      log('| side | max calls/s without failures, per ladder | median | calls per CPU-s of the middle |');
      log('|---|---|---:|---:|');
      for (const c of capacity) log(`| ${c.side} | ${c.maxRates.join(', ')} | ${c.medianMaxRate} | ${c.medianCallsPerCpuSecond} |`);
      if (ratio !== undefined) {
        log(`gateway / Kamailio: ${ratio.toFixed(2)}x by rate (target ≥ ${TARGET_RATIO}x: ${ratio >= TARGET_RATIO ? 'met' : 'NOT met'}), ${cpuRatio?.toFixed(2)}x per CPU-second`);
      }
      log('');
    }
    log(`| path | set-up p50 | set-up p99 | added p50 | added p99 |   (at ${latencyRate} calls/s, median of ${runs})`);
    log('|---|---:|---:|---:|---:|');
    for (const l of latencySummary) log(`| ${l.path} | ${l.p50Ms} ms | ${l.p99Ms} ms | ${l.addedP50Ms} ms | ${l.addedP99Ms} ms |${l.allSucceeded ? '' : ' (some calls failed)'}`);
    const complaints = gatewayComplaints();
    if (Object.keys(complaints).length > 0) log(`gateway warnings/errors: ${JSON.stringify(complaints)}`);

    mkdirSync(join(benchDir, 'results'), { recursive: true });
    writeFileSync(
      resultsFile,
      `${JSON.stringify(
        {
          benchmark: 'b2bua',
          startedAt,
          finishedAt: new Date().toISOString(),
          machine: { platform: platform(), release: release(), arch: arch(), cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemBytes: totalmem(), node: process.version },
          loadAverageAtEnd: loadavg(),
          source: gitState(),
          settings: {
            runs,
            stepS,
            rates: skipLadder ? [] : rates,
            latencyRate,
            latencyS,
            scenario: 'sipp built-in uac (-d 0, -default_behaviors all,-abortunexp) against sipp built-in uas, UDP',
            kamailioConfig: REFERENCE_CFG,
            kamailioMemory: '-m 1024 -M 32',
            gatewayLogLevel: 'info',
          },
          capacity,
          ratio,
          cpuRatio,
          targetRatio: TARGET_RATIO,
          targetMet: ratio === undefined ? undefined : ratio >= TARGET_RATIO,
          latency: latencySummary,
          gatewayComplaints: complaints,
          ladders,
          latencyRuns: latency,
        },
        null,
        2,
      )}\n`,
    );
    log(`results: ${resultsFile}; logs: test-output/${SUITE}/`);
  } finally {
    for (const subject of subjects) await subject.stop().catch(() => undefined);
    await stopAll();
  }
}

await main();
