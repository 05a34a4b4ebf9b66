/**
 * Measures one parser in a process of its own, driven over IPC by sip-parse.bench.ts (forked with --expose-gc):
 * on start it loads the parser, checks it and warms it up, then reports `ready`; each `run` request is one timed
 * run. The parent asks the parsers for their runs in turns, so a burst of load from elsewhere on the machine lands
 * on all of them rather than on whichever one happened to be running.
 *
 * Arguments: <parser-id> <run-ms> <warmup-ms>
 */
import { readFileSync } from 'node:fs';
import { MIX } from '../fixtures/sip-mix.js';
import { checkParser, loadParser, type ParserId, type ParserUnderTest } from './parsers.js';

export interface RunFigure {
  msgsPerSec: number;
  messages: number;
  ms: number;
  /** CPU this process used during the run, in cores (1 = one core fully busy). */
  ownCores: number;
  /** CPU the rest of the machine used during the run, in cores, from /proc/stat; undefined where unavailable. */
  otherCores: number | undefined;
  /**
   * Share of the run's wall time the main (parsing) thread was on a CPU, from /proc/self/task; below 1 it waited for
   * a core. undefined where unavailable.
   */
  mainThreadShare: number | undefined;
  /** Messages per second of main-thread CPU time: less sensitive to being descheduled than msgsPerSec. */
  msgsPerCpuSec: number | undefined;
}

export interface ParserMeta {
  id: ParserId;
  label: string;
  packageName: string;
  version: string;
  work: string;
  serializes: boolean;
  warmupMessages: number;
  batch: number;
}

/** Child to parent. */
export type WorkerMessage =
  | { type: 'ready'; meta: ParserMeta }
  | { type: 'run'; figure: RunFigure }
  | { type: 'error'; error: string };

/** Parent to child. */
export type ParentMessage = { type: 'run' } | { type: 'exit' };

const [idArg, runMsArg = '1000', warmupMsArg = '2000'] = process.argv.slice(2);
const runMs = Number(runMsArg);
const warmupMs = Number(warmupMsArg);

const texts = MIX.map((m) => m.text);
const gc = (globalThis as { gc?: () => void }).gc;

/** Busy and total jiffies of the whole machine (all cores), or undefined off Linux. */
function machineJiffies(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already counted in user.
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = fields[3]! + fields[4]!;
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** CPU time of the main thread (whose thread id is the process id), in jiffies. */
function mainThreadJiffies(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'latin1');
    // The command name in parentheses may contain spaces: count fields from after it (utime, stime are 14 and 15).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

// Linux reports /proc/stat in USER_HZ, which is 100 on every architecture Node runs on.
const USER_HZ = 100;

function timedRun(parser: ParserUnderTest, batch: number, ms: number): RunFigure {
  const run = parser.run;
  const n = texts.length;
  gc?.();
  const jiffiesBefore = machineJiffies();
  const mainBefore = mainThreadJiffies();
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  let now = start;
  let messages = 0;
  let sink = 0;
  let i = 0;
  do {
    for (let k = 0; k < batch; k++) {
      sink += run(texts[i]!);
      if (++i === n) i = 0;
    }
    messages += batch;
    now = performance.now();
  } while (now - start < ms);
  const elapsed = now - start;
  const cpu = process.cpuUsage(cpuBefore);
  const jiffiesAfter = machineJiffies();
  const mainAfter = mainThreadJiffies();
  if (!(sink > 0)) throw new Error('the parser produced nothing');
  const ownCores = (cpu.user + cpu.system) / 1000 / elapsed;
  let otherCores: number | undefined;
  if (jiffiesBefore !== undefined && jiffiesAfter !== undefined) {
    const busyCores = (jiffiesAfter.busy - jiffiesBefore.busy) / USER_HZ / (elapsed / 1000);
    otherCores = Math.max(0, busyCores - ownCores);
  }
  let mainThreadShare: number | undefined;
  let msgsPerCpuSec: number | undefined;
  if (mainBefore !== undefined && mainAfter !== undefined && mainAfter > mainBefore) {
    const mainSeconds = (mainAfter - mainBefore) / USER_HZ;
    mainThreadShare = Math.min(1, mainSeconds / (elapsed / 1000));
    msgsPerCpuSec = messages / mainSeconds;
  }
  return { msgsPerSec: (messages / elapsed) * 1000, messages, ms: elapsed, ownCores, otherCores, mainThreadShare, msgsPerCpuSec };
}

async function prepare(): Promise<{ parser: ParserUnderTest; meta: ParserMeta } | { error: string }> {
  const id = idArg as ParserId;
  const parser = await loadParser(id);
  const problems = checkParser(parser);
  if (problems.length > 0) return { error: `correctness check failed:\n  ${problems.join('\n  ')}` };

  // Warm-up, time-bound so the slow parsers get through it too; its rate sizes the batches between clock reads
  // (about 5 ms each, a whole number of passes over the mix so every run sees the same proportions).
  const first = timedRun(parser, texts.length, warmupMs / 2);
  const warm = timedRun(parser, texts.length, warmupMs / 2);
  const batch = Math.max(1, Math.round((warm.msgsPerSec * 0.005) / texts.length)) * texts.length;
  const { label, packageName, version, work, serializes } = parser;
  return { parser, meta: { id, label, packageName, version, work, serializes, warmupMessages: first.messages + warm.messages, batch } };
}

function send(message: WorkerMessage): void {
  process.send!(message);
}

if (process.send === undefined) throw new Error('lib/measure.ts runs under sip-parse.bench.ts, which talks to it over IPC');

prepare().then(
  (prepared) => {
    if ('error' in prepared) {
      send({ type: 'error', error: prepared.error });
      process.disconnect();
      return;
    }
    const { parser, meta } = prepared;
    process.on('message', (message: ParentMessage) => {
      if (message.type === 'exit') {
        process.disconnect();
        return;
      }
      try {
        send({ type: 'run', figure: timedRun(parser, meta.batch, runMs) });
      } catch (error) {
        send({ type: 'error', error: String((error as Error)?.stack ?? error) });
      }
    });
    send({ type: 'ready', meta });
  },
  (error: unknown) => {
    send({ type: 'error', error: String((error as Error)?.stack ?? error) });
    process.disconnect();
  },
);
