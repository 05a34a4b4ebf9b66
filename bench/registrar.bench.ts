/**
 * REGISTER with digest authentication: the gateway's registrar side by side with Kamailio's in the same run, both
 * driven by the same sipp scenario with the same settings. Target: the gateway sustains at least 0.5x the rate
 * Kamailio sustains.
 *
 * Kamailio runs shared/reference/peers/kamailio-registrar.cfg (2 UDP workers, usrloc in memory, one fixed password)
 * with only its port changed; the gateway runs from packages/gateway/dist in a process of its own with one registrar
 * account. Each registration is sipp's test/e2e/scenarios/register-auth.xml over UDP: REGISTER, 401, REGISTER with
 * credentials, 200, a new Call-ID each time, for one AOR whose Contact is refreshed (sipp cannot give each call its
 * own digest user name, so every call registers the same account; both registrars update one binding each time).
 *
 * One ladder: fixed-rate sipp runs at increasing rates (calls = rate x step length); a step passes when every
 * registration ends in 200 with nothing failed or unexpected, the step ends within 10 % (+0.5 s) of its nominal
 * length (the registrar kept up) and under 1 % of the REGISTERs were retransmitted. A failing rate is tried once more before the ladder
 * stops; the ladder's figure is the highest rate that passed. Rounds alternate which registrar climbs first;
 * the result per registrar is the median over rounds.
 *
 * Everything runs in a private network namespace on its loopback: started outside one, the script runs itself
 * again under `unshare -n -m -p -f --mount-proc --kill-child` with lo up (as scripts/run-tests.mjs does for e2e).
 *
 * Options (arguments, or environment variables for `npm run` from the root, where npm keeps the arguments):
 *   --runs N      / REGISTRAR_BENCH_RUNS     ladders per registrar (3)
 *   --step-s N    / REGISTRAR_BENCH_STEP_S   seconds of load per step (4)
 *   --rates a,b   / REGISTRAR_BENCH_RATES    the ladder, registrations/s
 *   --only a,b    / REGISTRAR_BENCH_ONLY     registrars: gateway, kamailio
 *   REGISTRAR_BENCH_GATEWAY_NODE_ARGS: more Node flags for the gateway process, e.g. "--cpu-prof --cpu-prof-dir=results/profile"
 */
import { execFileSync, fork, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, networkInterfaces, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startKamailio, type Kamailio } from '../test/e2e/support/kamailio.js';
import { namespaceInterfaces } from '../test/e2e/support/netns.js';
import { freePort, LOOPBACK } from '../test/e2e/support/ports.js';
import { stopAll, suiteDir } from '../test/e2e/support/processes.js';
import { REGISTER_SCENARIO, runSipp } from '../test/e2e/support/sipp.js';
import type { RegistrarGatewayMessage, RegistrarGatewayRequest } from './lib/registrar-gateway.js';

const TARGET_RATIO = 0.5;
const SUITE = 'bench-registrar';
const USER = 'bench';
const PASSWORD = 'secret';
/** The AOR domain; Kamailio's reference config takes the From domain as its realm, the gateway is given the same. */
const DOMAIN = 'example.com';
const REFERENCE_CFG = join(process.env.SWITCHBOARD_SHARED ?? fileURLToPath(new URL('../../shared/', import.meta.url)), 'reference/peers/kamailio-registrar.cfg');
const DEFAULT_RATES = [250, 500, 750, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 7000, 8000, 10_000];
const PAUSE_MS = 1500;
/** A step may take this much longer than its nominal length, plus sipp's start-up, and still count as kept up. */
const KEEP_UP_FACTOR = 1.1;
const STARTUP_S = 0.5;
/** Retransmitted REGISTERs allowed, as a share of the REGISTERs a step sends (2 per registration). */
const MAX_RETRANSMISSION_SHARE = 0.01;

const { values: args } = parseArgs({
  options: { runs: { type: 'string' }, 'step-s': { type: 'string' }, rates: { type: 'string' }, only: { type: 'string' } },
});
const env = process.env;
const runs = Number(args.runs ?? env.REGISTRAR_BENCH_RUNS ?? 3);
const stepS = Number(args['step-s'] ?? env.REGISTRAR_BENCH_STEP_S ?? 4);
const rates = (args.rates ?? env.REGISTRAR_BENCH_RATES)?.split(',').map(Number) ?? DEFAULT_RATES;
const SUBJECTS = ['gateway', 'kamailio'] as const;
type Subject = (typeof SUBJECTS)[number];
const subjects = ((args.only ?? env.REGISTRAR_BENCH_ONLY)?.split(',').map((s) => s.trim()) ?? [...SUBJECTS]) as Subject[];
for (const s of subjects) if (!SUBJECTS.includes(s)) throw new Error(`unknown registrar ${s}; known: ${SUBJECTS.join(', ')}`);
if (!(Number.isInteger(runs) && runs >= 1 && stepS > 0 && rates.length > 0 && rates.every((r) => Number.isInteger(r) && r > 0))) {
  throw new Error('runs, step-s and rates must be positive (rates whole numbers)');
}

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const resultsFile = fileURLToPath(new URL('./results/registrar.json', import.meta.url));
const gatewayScript = fileURLToPath(new URL('./lib/registrar-gateway.ts', import.meta.url));

function inPrivateNetns(): boolean {
  try {
    const names = namespaceInterfaces();
    return names.length === 1 && names[0] === 'lo' && (networkInterfaces()['lo'] ?? []).some((a) => a.address === LOOPBACK);
  } catch {
    return false;
  }
}

if (!inPrivateNetns()) {
  if (env.REGISTRAR_BENCH_NETNS === '1') throw new Error('unshare gave no private network namespace with lo up');
  const command = [process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)];
  const quoted = command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawnSync('unshare', ['-n', '-m', '-p', '-f', '--mount-proc', '--kill-child', 'sh', '-c', `ip link set lo up && exec ${quoted}`], {
    cwd: benchDir,
    stdio: 'inherit',
    env: { ...env, REGISTRAR_BENCH_NETNS: '1' },
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
  wallS: number;
  /** CPU time the registrar used during the step (all its processes), seconds. */
  cpuS: number;
  /** Registrations per CPU-second of the registrar: what it costs, whatever else competes for the cores. */
  perCpuSecond: number;
  /** Cores used on average by every process of the machine but the registrar during the step: sipp, and whatever else runs there (other namespaces included). */
  otherCores: number | undefined;
}

interface Ladder {
  round: number;
  subject: Subject;
  /** Highest rate that passed; 0 when the lowest failed. */
  maxRate: number;
  steps: Step[];
}

interface Target {
  subject: Subject;
  address: string;
  /** CPU ticks of its processes so far. */
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

async function startGatewayTarget(): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-registrar-'));
  const logFd = openSync(join(suiteDir(SUITE), 'gateway.log'), 'w');
  const [sipPort, httpPort] = [await freePort(), await freePort()];
  const child: ChildProcess = fork(gatewayScript, [dataDir, String(sipPort), String(httpPort), USER, PASSWORD, DOMAIN], {
    cwd: benchDir,
    execArgv: ['--import', 'tsx', ...(env.REGISTRAR_BENCH_GATEWAY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)],
    stdio: ['ignore', logFd, logFd, 'ipc'],
  });
  const ready = await new Promise<RegistrarGatewayMessage>((resolve, reject) => {
    child.once('message', (message: RegistrarGatewayMessage) => resolve(message));
    child.once('exit', (code) => reject(new Error(`the gateway exited (${code}) before it was ready; see test-output/${SUITE}/gateway.log`)));
  });
  if (ready.type !== 'ready') throw new Error(`the gateway did not start: ${ready.error}`);
  const pid = child.pid!;
  return {
    subject: 'gateway',
    address: `${LOOPBACK}:${ready.udpPort}`,
    cpuTicks: () => processTicks((p) => p === pid),
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'exit' } satisfies RegistrarGatewayRequest);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      child.kill('SIGKILL');
      closeSync(logFd);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startKamailioTarget(): Promise<Target> {
  const port = await freePort();
  const reference = readFileSync(REFERENCE_CFG, 'utf8');
  if (!reference.includes(':5090')) throw new Error(`${REFERENCE_CFG} no longer listens on 5090; adapt the port rewrite`);
  const kamailio: Kamailio = await startKamailio({ suite: SUITE, name: 'kamailio', config: reference.replaceAll(':5090', `:${port}`), port, shmMb: 256, pkgMb: 16 });
  return {
    subject: 'kamailio',
    address: kamailio.address,
    cpuTicks: () => processTicks((_, comm) => comm === 'kamailio'),
    stop: () => kamailio.stop(),
  };
}

async function step(target: Target, rate: number): Promise<Step> {
  const calls = Math.round(rate * stepS);
  const localPort = await freePort();
  const cpuBefore = target.cpuTicks();
  const machineBefore = machineBusyTicks();
  const started = performance.now();
  const result = await runSipp({
    suite: SUITE,
    name: `sipp-${target.subject}-${rate}`,
    scenario: { file: REGISTER_SCENARIO },
    target: target.address,
    localPort,
    transport: 'udp',
    service: USER,
    authUser: USER,
    authPassword: PASSWORD,
    calls,
    rate,
    timeoutS: Math.ceil(stepS * 3 + 10),
    keys: { aor_domain: DOMAIN, reg_contact: `sip:${USER}@${LOOPBACK}:${localPort}`, reg_expires: '600' },
  });
  const wallS = (performance.now() - started) / 1000;
  const cpuTicks = target.cpuTicks() - cpuBefore;
  const cpuS = cpuTicks / CLK_TCK;
  const machineAfter = machineBusyTicks();
  const othersTicks = machineBefore === undefined || machineAfter === undefined ? undefined : machineAfter - machineBefore - cpuTicks;
  const s = result.stats;
  return {
    rate,
    calls,
    // Kept up: everything answered 200 within the step (a registrar that falls behind stretches it, and sipp's
    // retransmissions of the unanswered REGISTERs pile onto the load), with few enough retransmissions.
    passed:
      result.exitCode === 0 && !result.timedOut && s.failed === 0 && s.successful === calls && s.unexpectedMessages === 0 &&
      wallS <= stepS * KEEP_UP_FACTOR + STARTUP_S && s.retransmissions <= calls * 2 * MAX_RETRANSMISSION_SHARE,
    successful: s.successful,
    failed: s.failed,
    unexpected: s.unexpectedMessages,
    retransmissions: s.retransmissions,
    recvTimeouts: s.recvTimeouts,
    wallS: round(wallS, 2),
    cpuS: round(cpuS, 2),
    perCpuSecond: cpuS > 0 ? Math.round(s.successful / cpuS) : 0,
    otherCores: othersTicks === undefined ? undefined : round(othersTicks / CLK_TCK / wallS, 2),
  };
}

async function ladder(target: Target, roundNo: number): Promise<Ladder> {
  const steps: Step[] = [];
  let maxRate = 0;
  for (const rate of rates) {
    let result = await step(target, rate);
    steps.push(result);
    log(`  ${target.subject.padEnd(8)} ${String(rate).padStart(6)}/s ${describe(result)}`);
    await sleep(PAUSE_MS);
    if (!result.passed) {
      // Once more: one bad step on a shared machine is not yet the limit.
      result = await step(target, rate);
      steps.push(result);
      log(`  ${target.subject.padEnd(8)} ${String(rate).padStart(6)}/s ${describe(result)} (again)`);
      await sleep(PAUSE_MS);
      if (!result.passed) break;
    }
    maxRate = rate;
  }
  return { round: roundNo, subject: target.subject, maxRate, steps };
}

function describe(s: Step): string {
  const verdict = s.passed ? 'ok  ' : 'FAIL';
  return `${verdict} ${s.successful}/${s.calls} ok, ${s.failed} failed, ${s.retransmissions} retrans, ${s.wallS} s, ${s.cpuS} CPU-s, ${s.perCpuSecond}/CPU-s, others ${s.otherCores ?? '?'} cores`;
}

function median(values: number[]): number {
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
  const status = git(['status', '--porcelain', '--', '../packages/gateway/src/sip', '../packages/sip/src']);
  return { commit: git(['rev-parse', '--short=12', 'HEAD']), dirty: status === undefined ? undefined : status.length > 0 };
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  log(`REGISTER with digest, sipp over UDP: ${runs} ladder(s) per registrar, ${stepS} s per step, rates ${rates.join(', ')}`);
  const targets: Target[] = [];
  try {
    for (const subject of subjects) targets.push(subject === 'gateway' ? await startGatewayTarget() : await startKamailioTarget());
    const ladders: Ladder[] = [];
    for (let r = 0; r < runs; r++) {
      log(`round ${r + 1}/${runs}`);
      // Alternate who climbs first, so a slow spell on the machine does not always hit the same one.
      const order = r % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) ladders.push(await ladder(target, r + 1));
    }
    const summary = subjects.map((subject) => {
      const mine = ladders.filter((l) => l.subject === subject);
      const passing = mine.flatMap((l) => l.steps.filter((s) => s.passed && s.rate === l.maxRate));
      return {
        subject,
        maxRates: mine.map((l) => l.maxRate),
        medianMaxRate: median(mine.map((l) => l.maxRate)),
        /** At the highest passing rate of each ladder. */
        medianPerCpuSecond: passing.length === 0 ? 0 : median(passing.map((s) => s.perCpuSecond)),
      };
    });
    const gateway = summary.find((s) => s.subject === 'gateway');
    const kamailio = summary.find((s) => s.subject === 'kamailio');
    const ratio = gateway && kamailio && kamailio.medianMaxRate > 0 ? gateway.medianMaxRate / kamailio.medianMaxRate : undefined;
    const cpuRatio = gateway && kamailio && kamailio.medianPerCpuSecond > 0 ? gateway.medianPerCpuSecond / kamailio.medianPerCpuSecond : undefined;
    log('');
    log('| registrar | max rate without failures, per ladder | median | registrations per CPU-s |');
    log('|---|---|---:|---:|');
    for (const s of summary) log(`| ${s.subject} | ${s.maxRates.join(', ')} | ${s.medianMaxRate} | ${s.medianPerCpuSecond} |`);
    if (ratio !== undefined) {
      log(`gateway / Kamailio: ${ratio.toFixed(2)}x by rate (target ≥ ${TARGET_RATIO}x: ${ratio >= TARGET_RATIO ? 'met' : 'NOT met'}), ${cpuRatio?.toFixed(2)}x per CPU-second`);
    }
    mkdirSync(join(benchDir, 'results'), { recursive: true });
    writeFileSync(
      resultsFile,
      `${JSON.stringify(
        {
          benchmark: 'registrar',
          startedAt,
          finishedAt: new Date().toISOString(),
          machine: { platform: platform(), release: release(), arch: arch(), cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemBytes: totalmem(), node: process.version },
          loadAverageAtEnd: loadavg(),
          source: gitState(),
          settings: { runs, stepS, rates, scenario: 'test/e2e/scenarios/register-auth.xml', transport: 'udp', kamailioConfig: REFERENCE_CFG, gatewayLogLevel: 'info' },
          summary,
          ratio,
          cpuRatio,
          targetRatio: TARGET_RATIO,
          targetMet: ratio === undefined ? undefined : ratio >= TARGET_RATIO,
          ladders,
        },
        null,
        2,
      )}\n`,
    );
    log(`results: ${resultsFile}; logs: test-output/${SUITE}/`);
  } finally {
    for (const target of targets) await target.stop().catch(() => undefined);
    await stopAll();
  }
}

await main();
