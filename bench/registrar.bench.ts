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
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startKamailio, type Kamailio } from '../test/e2e/support/kamailio.js';
import { freePort, LOOPBACK } from '../test/e2e/support/ports.js';
import { stopAll } from '../test/e2e/support/processes.js';
import { REGISTER_SCENARIO, runSipp } from '../test/e2e/support/sipp.js';
import { startGatewayProcess } from './lib/gateway-process.js';
import { ensurePrivateNetns, gitState, log, machine, median, numberSetting, onlySetting, ratesSetting, sleep } from './lib/netns-bench.js';
import { climb, describeStep, measureStep, PAUSE_MS, processTicks, stepFields, type LadderStep } from './lib/sipp-ladder.js';

const TARGET_RATIO = 0.5;
const SUITE = 'bench-registrar';
const USER = 'bench';
const PASSWORD = 'secret';
/** The AOR domain; Kamailio's reference config takes the From domain as its realm, the gateway is given the same. */
const DOMAIN = 'example.com';
const REFERENCE_CFG = join(process.env.SWITCHBOARD_SHARED ?? fileURLToPath(new URL('../../shared/', import.meta.url)), 'reference/peers/kamailio-registrar.cfg');
const DEFAULT_RATES = [250, 500, 750, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 7000, 8000, 10_000];

const { values: args } = parseArgs({
  options: { runs: { type: 'string' }, 'step-s': { type: 'string' }, rates: { type: 'string' }, only: { type: 'string' } },
});
const runs = numberSetting(args.runs, 'REGISTRAR_BENCH_RUNS', 3);
const stepS = numberSetting(args['step-s'], 'REGISTRAR_BENCH_STEP_S', 4);
const rates = ratesSetting(args.rates, 'REGISTRAR_BENCH_RATES', DEFAULT_RATES);
const SUBJECTS = ['gateway', 'kamailio'] as const;
type Subject = (typeof SUBJECTS)[number];
const subjects = onlySetting(args.only, 'REGISTRAR_BENCH_ONLY', SUBJECTS, 'registrar');
if (!(Number.isInteger(runs) && runs >= 1 && stepS > 0 && rates.length > 0 && rates.every((r) => Number.isInteger(r) && r > 0))) {
  throw new Error('runs, step-s and rates must be positive (rates whole numbers)');
}

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const resultsFile = fileURLToPath(new URL('./results/registrar.json', import.meta.url));

ensurePrivateNetns(import.meta.url, 'REGISTRAR_BENCH_NETNS', benchDir);

interface Step extends LadderStep {
  /** Registrations per CPU-second of the registrar: what it costs, whatever else competes for the cores. */
  perCpuSecond: number;
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

async function startGatewayTarget(): Promise<Target> {
  const gateway = await startGatewayProcess({ suite: SUITE, realm: DOMAIN, password: PASSWORD, users: [USER], nodeArgsEnv: 'REGISTRAR_BENCH_GATEWAY_NODE_ARGS' });
  return {
    subject: 'gateway',
    address: `${LOOPBACK}:${gateway.udpPort}`,
    cpuTicks: () => processTicks((p) => p === gateway.pid),
    stop: () => gateway.stop(),
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
  const measured = await measureStep(target.cpuTicks, () =>
    runSipp({
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
    }),
  );
  const { otherCores, ...fields } = stepFields(measured, rate, calls, stepS);
  return { ...fields, perCpuSecond: measured.cpuS > 0 ? Math.round(measured.result.stats.successful / measured.cpuS) : 0, otherCores };
}

async function ladder(target: Target, roundNo: number): Promise<Ladder> {
  const { maxRate, steps } = await climb({
    rates,
    name: target.subject,
    rateWidth: 6,
    step: (rate) => step(target, rate),
    describe: (s) => describeStep(s, `${s.perCpuSecond}/CPU-s`),
    afterStep: () => sleep(PAUSE_MS),
  });
  return { round: roundNo, subject: target.subject, maxRate, steps };
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
          machine: machine(),
          loadAverageAtEnd: loadavg(),
          source: gitState(benchDir, ['../packages/gateway/src/sip', '../packages/sip/src']),
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
