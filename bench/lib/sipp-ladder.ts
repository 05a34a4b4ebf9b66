/**
 * The rate ladder both sipp benchmarks climb: fixed-rate sipp runs at increasing rates, each step judged by whether
 * the subject kept up, a failing rate tried once more, the ladder's figure the highest rate that passed. Also the
 * CPU accounting from /proc that goes with each step.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { SippResult } from '../../test/e2e/support/sipp.js';
import { log, round } from './netns-bench.js';

export const PAUSE_MS = 1500;
/** A step may take this much longer than its nominal length, plus sipp's start-up, and still count as kept up. */
export const KEEP_UP_FACTOR = 1.1;
export const STARTUP_S = 0.5;
/** Retransmitted requests allowed, as a share of the requests a step sends (2 per call or registration). */
export const MAX_RETRANSMISSION_SHARE = 0.01;

/** What every step records; each benchmark adds its own per-CPU figure and the like. */
export interface LadderStep {
  rate: number;
  calls: number;
  passed: boolean;
  successful: number;
  failed: number;
  unexpected: number;
  retransmissions: number;
  recvTimeouts: number;
  wallS: number;
  /** CPU time the subject used during the step (all its processes), seconds. */
  cpuS: number;
  /** Cores used on average by every other process of the machine during the step: sipp, and whatever else runs there (other namespaces included). */
  otherCores: number | undefined;
}

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime of each process whose /proc/<pid>/stat passes `match` (the private pid namespace has only ours). */
export function processTicks(match: (pid: number, comm: string) => boolean): number {
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

export interface Measured {
  result: SippResult;
  /** Unrounded, for the keep-up verdict. */
  wallS: number;
  cpuS: number;
  otherCores: number | undefined;
}

/** Runs one sipp step and accounts for the wall time, the subject's CPU (`cpuTicks`) and everyone else's. */
export async function measureStep(cpuTicks: () => number, run: () => Promise<SippResult>): Promise<Measured> {
  const cpuBefore = cpuTicks();
  const machineBefore = machineBusyTicks();
  const started = performance.now();
  const result = await run();
  const wallS = (performance.now() - started) / 1000;
  const ticks = cpuTicks() - cpuBefore;
  const machineAfter = machineBusyTicks();
  const othersTicks = machineBefore === undefined || machineAfter === undefined ? undefined : machineAfter - machineBefore - ticks;
  return { result, wallS, cpuS: ticks / CLK_TCK, otherCores: othersTicks === undefined ? undefined : round(othersTicks / CLK_TCK / wallS, 2) };
}

/**
 * The step's common fields. Kept up: everything succeeded within the step (a subject that falls behind stretches it,
 * and sipp's retransmissions of the unanswered requests pile onto the load), with few enough retransmissions.
 * `allowUnexpected` leaves out the no-unexpected-messages condition for scenarios that tolerate them.
 */
export function stepFields(m: Measured, rate: number, calls: number, stepS: number, allowUnexpected = false): LadderStep {
  const s = m.result.stats;
  return {
    rate,
    calls,
    passed:
      m.result.exitCode === 0 && !m.result.timedOut && s.failed === 0 && s.successful === calls && (allowUnexpected || s.unexpectedMessages === 0) &&
      m.wallS <= stepS * KEEP_UP_FACTOR + STARTUP_S && s.retransmissions <= calls * 2 * MAX_RETRANSMISSION_SHARE,
    successful: s.successful,
    failed: s.failed,
    unexpected: s.unexpectedMessages,
    retransmissions: s.retransmissions,
    recvTimeouts: s.recvTimeouts,
    wallS: round(m.wallS, 2),
    cpuS: round(m.cpuS, 2),
    otherCores: m.otherCores,
  };
}

export interface Climb<S extends LadderStep> {
  rates: number[];
  /** Printed before each step's line. */
  name: string;
  rateWidth: number;
  step(rate: number): Promise<S>;
  describe(step: S): string;
  /** Runs after each step's line is printed. */
  afterStep?(): Promise<void>;
}

/** Climbs the rates until one fails twice in a row; maxRate is 0 when the lowest failed. */
export async function climb<S extends LadderStep>(c: Climb<S>): Promise<{ maxRate: number; steps: S[] }> {
  const steps: S[] = [];
  let maxRate = 0;
  const line = (rate: number, s: S, note: string): void => log(`  ${c.name.padEnd(8)} ${String(rate).padStart(c.rateWidth)}/s ${c.describe(s)}${note}`);
  for (const rate of c.rates) {
    let result = await c.step(rate);
    steps.push(result);
    line(rate, result, '');
    await c.afterStep?.();
    if (!result.passed) {
      // Once more: one bad step on a shared machine is not yet the limit.
      result = await c.step(rate);
      steps.push(result);
      line(rate, result, ' (again)');
      await c.afterStep?.();
      if (!result.passed) break;
    }
    maxRate = rate;
  }
  return { maxRate, steps };
}

/** The common part of a step's line: verdict, outcome, retransmissions and time; `failedNote` follows "failed". */
export function describeStep(s: LadderStep, perCpu: string, failedNote = ''): string {
  const verdict = s.passed ? 'ok  ' : 'FAIL';
  return `${verdict} ${s.successful}/${s.calls} ok, ${s.failed} failed${failedNote}, ${s.retransmissions} retrans, ${s.wallS} s, ${s.cpuS} CPU-s, ${perCpu}, others ${s.otherCores ?? '?'} cores`;
}
