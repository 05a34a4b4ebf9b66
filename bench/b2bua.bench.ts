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
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startKamailio, type Kamailio } from '../test/e2e/support/kamailio.js';
import { freePort, LOOPBACK } from '../test/e2e/support/ports.js';
import { stopAll, suiteDir } from '../test/e2e/support/processes.js';
import { REGISTER_SCENARIO, runSipp, startSipp, type SippServer } from '../test/e2e/support/sipp.js';
import { startGatewayProcess } from './lib/gateway-process.js';
import { ensurePrivateNetns, gitState, log, machine, median, numberSetting, onlySetting, ratesSetting, round, sleep } from './lib/netns-bench.js';
import { climb, describeStep, measureStep, PAUSE_MS, processTicks, stepFields, type LadderStep } from './lib/sipp-ladder.js';

const TARGET_RATIO = 0.3;
const SUITE = 'bench-b2bua';
const PASSWORD = 'secret';
const DOMAIN = 'example.com';
/** The user the uac calls; the uac registers at the gateway as UAC_USER. */
const UAS_USER = 'uas';
const UAC_USER = 'uac';
const REFERENCE_CFG = join(process.env.SWITCHBOARD_SHARED ?? fileURLToPath(new URL('../../shared/', import.meta.url)), 'reference/peers/kamailio-registrar.cfg');
const DEFAULT_RATES = [25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000];

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
const runs = numberSetting(args.runs, 'B2BUA_BENCH_RUNS', 3);
const stepS = numberSetting(args['step-s'], 'B2BUA_BENCH_STEP_S', 4);
const rates = ratesSetting(args.rates, 'B2BUA_BENCH_RATES', DEFAULT_RATES);
const latencyRate = numberSetting(args['latency-rate'], 'B2BUA_BENCH_LATENCY_RATE', 50);
const latencyS = numberSetting(args['latency-s'], 'B2BUA_BENCH_LATENCY_S', 10);
const skipLadder = args['skip-ladder'] ?? process.env.B2BUA_BENCH_SKIP_LADDER === '1';
const SIDES = ['gateway', 'kamailio'] as const;
type Side = (typeof SIDES)[number];
type Path = Side | 'direct';
const sides = onlySetting(args.only, 'B2BUA_BENCH_ONLY', SIDES, 'side');
if (!(Number.isInteger(runs) && runs >= 1 && stepS > 0 && latencyRate > 0 && latencyS > 0 && rates.length > 0 && rates.every((r) => Number.isInteger(r) && r > 0))) {
  throw new Error('runs, step-s, latency-rate, latency-s and rates must be positive (rates whole numbers)');
}

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const resultsFile = fileURLToPath(new URL('./results/b2bua.json', import.meta.url));

ensurePrivateNetns(import.meta.url, 'B2BUA_BENCH_NETNS', benchDir);

interface Step extends LadderStep {
  /** Calls the uas counted as failed during the step (read after the pause that follows it). */
  uasFailed: number;
  callsPerCpuSecond: number;
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
  const gateway = await startGatewayProcess({ suite: SUITE, realm: DOMAIN, password: PASSWORD, users: [UAC_USER, UAS_USER], nodeArgsEnv: 'B2BUA_BENCH_GATEWAY_NODE_ARGS' });
  const [uacPort, uasPort] = [await freePort(), await freePort()];
  const address = `${LOOPBACK}:${gateway.udpPort}`;
  // Each from the port its sipp will use: the gateway takes INVITEs only from a registered source and sends to the
  // address a UDP REGISTER came from.
  await register(address, UAC_USER, uacPort);
  await register(address, UAS_USER, uasPort);
  const uas = await startUas('gateway', uasPort);
  return {
    path: 'gateway',
    address,
    uacPort,
    uas,
    cpuTicks: () => processTicks((p) => p === gateway.pid),
    async stop() {
      await uas.stop({ graceful: false }).catch(() => undefined);
      await gateway.stop();
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
  const uasFailedBefore = subject.uas.stats().failed;
  const measured = await measureStep(subject.cpuTicks, () => runUac(subject, `sipp-uac-${subject.path}-${rate}`, rate, calls, false));
  await sleep(PAUSE_MS);
  // Unexpected messages are tolerated here as in the scenario's arguments (see runUac).
  const { wallS, cpuS, otherCores, ...fields } = stepFields(measured, rate, calls, stepS, true);
  return {
    ...fields,
    uasFailed: subject.uas.stats().failed - uasFailedBefore,
    wallS,
    cpuS,
    callsPerCpuSecond: measured.cpuS > 0 ? Math.round(measured.result.stats.successful / measured.cpuS) : 0,
    otherCores,
  };
}

async function ladder(subject: Subject & { path: Side }, roundNo: number): Promise<Ladder> {
  const { maxRate, steps } = await climb({
    rates,
    name: subject.path,
    rateWidth: 5,
    step: (rate) => step(subject, rate),
    describe: (s) => describeStep(s, `${s.callsPerCpuSecond} calls/CPU-s`, ` (uas ${s.uasFailed})`),
  });
  return { round: roundNo, side: subject.path, maxRate, steps };
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
          machine: machine(),
          loadAverageAtEnd: loadavg(),
          source: gitState(benchDir, ['../packages/gateway/src', '../packages/sip/src']),
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
