import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isUdpPortBound, LOOPBACK, tcpAccepts } from './ports.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Logs, generated configs and traces of every suite; kept after the run for inspection (gitignored). */
export const OUTPUT_ROOT = join(REPO_ROOT, 'test-output');

export class HarnessError extends Error {
  constructor(
    readonly component: string,
    readonly reason: string,
    readonly logPath?: string,
    logTail?: string,
  ) {
    const where = logPath ? ` (log: ${relative(REPO_ROOT, logPath)})` : '';
    const tail = logTail ? `\n--- last lines of the ${component} log ---\n${logTail}\n--- end of log ---` : '';
    super(`${component}: ${reason}${where}${tail}`);
    this.name = 'HarnessError';
  }
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function describeExit(status: ExitStatus): string {
  return status.signal ? `killed by ${status.signal}` : `exit code ${status.code}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** Polls check until it holds or timeoutMs passes; resolves with whether it held. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(intervalMs, left));
  }
}

const cleanedSuites = new Set<string>();

/** test-output/<suite>, emptied the first time this process asks for it so it holds only the latest run. */
export function suiteDir(suite: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(suite)) throw new Error(`bad suite name ${JSON.stringify(suite)}`);
  const dir = join(OUTPUT_ROOT, suite);
  if (!cleanedSuites.has(suite)) {
    rmSync(dir, { recursive: true, force: true });
    cleanedSuites.add(suite);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

const componentCounts = new Map<string, number>();
const unusedNames = new Set<string>();

/** A component name unique within the suite (sipp-uac, sipp-uac-2, ...), so every run keeps its own log. */
export function uniqueComponent(suite: string, component: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(component)) throw new Error(`bad component name ${JSON.stringify(component)}`);
  for (;;) {
    const key = `${suite}/${component}`;
    const n = (componentCounts.get(key) ?? 0) + 1;
    componentCounts.set(key, n);
    const name = n === 1 ? component : `${component}-${n}`;
    // "x-2" asked for by itself must not take the name a second "x" already got.
    if (n > 1 && componentCounts.has(`${suite}/${name}`)) continue;
    componentCounts.set(`${suite}/${name}`, Math.max(componentCounts.get(`${suite}/${name}`) ?? 0, 1));
    unusedNames.add(`${suite}/${name}`);
    return name;
  }
}

/** The name given by uniqueComponent() if it has no log yet, else a fresh unique one. */
function claimComponent(suite: string, component: string): string {
  const name = unusedNames.has(`${suite}/${component}`) ? component : uniqueComponent(suite, component);
  unusedNames.delete(`${suite}/${name}`);
  return name;
}

/** The last `lines` lines of a log file (reads only its end: sipp and Kamailio logs can grow large). */
export function tailLines(path: string, lines = 20): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '(no log file)';
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const all = buffer.toString('utf8').replace(/\s+$/, '').split('\n');
    return all.slice(-lines).join('\n') || '(empty log)';
  } finally {
    closeSync(fd);
  }
}

function readLogFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

// ---- process groups that must not outlive this process ------------------------------------------------------

const liveGroups = new Map<number, string>();
let hooksInstalled = false;
let groupsFile: string | undefined;

function killGroupSync(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

function groupExists(pgid: number): boolean {
  return killGroupSync(pgid, 0);
}

function writeGroupsFile(): void {
  if (groupsFile) writeFileSync(groupsFile, [...liveGroups.keys()].map((g) => `${g}\n`).join(''));
}

function killAllSync(): void {
  for (const pgid of liveGroups.keys()) killGroupSync(pgid, 'SIGKILL');
  liveGroups.clear();
  if (groupsFile) rmSync(groupsFile, { force: true });
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllSync();
      process.removeListener(signal, onSignal);
      // With nobody else listening, die of the signal as we would have without this hook.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
  // 'exit' and signal hooks cannot run when this process is SIGKILLed (a runner's hard timeout, the OOM killer):
  // a shell in a session of its own notices that we are gone and kills the groups still listed in the file.
  mkdirSync(join(OUTPUT_ROOT, '.groups'), { recursive: true });
  groupsFile = join(OUTPUT_ROOT, '.groups', String(process.pid));
  writeGroupsFile();
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 0.5; done; ' +
    '[ -f "$2" ] || exit 0; while read -r g; do kill -s KILL -- "-$g" 2>/dev/null; done < "$2"; rm -f "$2"';
  const watchdog = spawn('sh', ['-c', script, 'watchdog', String(process.pid), groupsFile], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.on('error', () => {});
  watchdog.unref();
}

function trackGroup(pgid: number, component: string): void {
  installHooks();
  liveGroups.set(pgid, component);
  writeGroupsFile();
}

function untrackGroup(pgid: number): void {
  liveGroups.delete(pgid);
  writeGroupsFile();
}

// ---- managed processes --------------------------------------------------------------------------------------

export type ReadyCheck =
  | { log: RegExp }
  | { tcpPort: number; host?: string }
  | { udpPort: number }
  | { probe: () => Promise<boolean>; what: string };

function describeReady(ready: ReadyCheck): string {
  if ('log' in ready) return `a log line matching ${ready.log}`;
  if ('tcpPort' in ready) return `TCP ${ready.host ?? LOOPBACK}:${ready.tcpPort} to accept connections`;
  if ('udpPort' in ready) return `UDP port ${ready.udpPort} to be bound`;
  return ready.what;
}

export interface ProcessSpec {
  suite: string;
  /** Log file name in the suite folder; made unique (name-2, ...) when reused. */
  component: string;
  command: string;
  args: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface StartSpec extends ProcessSpec {
  ready?: ReadyCheck;
  /** Default 10 s. */
  readyTimeoutMs?: number;
  /** Sent to the whole group by stop(); default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** Grace before SIGKILL; default 3 s. */
  stopTimeoutMs?: number;
}

export interface ManagedProcess {
  readonly component: string;
  readonly pid: number;
  readonly logPath: string;
  isRunning(): boolean;
  /** Undefined while running, and for a daemon we did not start ourselves. */
  exitStatus(): ExitStatus | undefined;
  readLog(): string;
  tail(lines?: number): string;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Signals the whole process group (its stop signal unless given), SIGKILLs it after the grace period; idempotent. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const everyProcess = new Set<ManagedProcess>();

/** Stops every process this file started and has not stopped yet (for after() hooks). */
export async function stopAll(): Promise<void> {
  await Promise.all([...everyProcess].map((p) => p.stop()));
}

abstract class BaseProcess implements ManagedProcess {
  private stopping: Promise<void> | undefined;

  constructor(
    readonly component: string,
    readonly pid: number,
    readonly pgid: number,
    readonly logPath: string,
    private readonly stopSignal: NodeJS.Signals,
    private readonly stopTimeoutMs: number,
  ) {
    everyProcess.add(this);
  }

  abstract isRunning(): boolean;
  abstract exitStatus(): ExitStatus | undefined;

  readLog(): string {
    return readLogFile(this.logPath);
  }

  tail(lines = 20): string {
    return tailLines(this.logPath, lines);
  }

  async waitForLog(pattern: RegExp, timeoutMs = 5000): Promise<RegExpExecArray> {
    let match: RegExpExecArray | null = null;
    const found = await waitFor(() => (match = pattern.exec(this.readLog())) !== null, timeoutMs);
    if (!found || !match) {
      throw new HarnessError(this.component, `no log line matching ${pattern} within ${timeoutMs} ms`, this.logPath, this.tail());
    }
    return match;
  }

  stop(signal?: NodeJS.Signals): Promise<void> {
    this.stopping ??= this.doStop(signal ?? this.stopSignal);
    return this.stopping;
  }

  private async doStop(signal: NodeJS.Signals): Promise<void> {
    try {
      if (this.isRunning()) {
        killGroupSync(this.pgid, signal);
        if (!(await waitFor(() => !this.isRunning(), this.stopTimeoutMs))) {
          killGroupSync(this.pgid, 'SIGKILL');
          if (!(await waitFor(() => !this.isRunning(), 2000))) {
            throw new HarnessError(this.component, `pid ${this.pid} still running 2 s after SIGKILL`, this.logPath);
          }
        }
      }
      // Anything the main process left behind in its group (workers of a crashed Kamailio).
      if (groupExists(this.pgid)) killGroupSync(this.pgid, 'SIGKILL');
    } finally {
      untrackGroup(this.pgid);
      everyProcess.delete(this);
    }
  }
}

class SpawnedProcess extends BaseProcess {
  status: ExitStatus | undefined;

  isRunning(): boolean {
    return this.status === undefined;
  }

  exitStatus(): ExitStatus | undefined {
    return this.status;
  }
}

/** Linux keeps a dead process as a zombie until its parent reaps it; a reparented daemon may never be reaped. */
function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

class AdoptedProcess extends BaseProcess {
  isRunning(): boolean {
    return pidAlive(this.pid);
  }

  exitStatus(): ExitStatus | undefined {
    return undefined;
  }
}

function openLog(suite: string, component: string, command: string, args: readonly string[]): { logPath: string; fd: number } {
  const logPath = join(suiteDir(suite), `${component}.log`);
  const fd = openSync(logPath, 'w');
  const quoted = [command, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`));
  writeSync(fd, `# ${new Date().toISOString()} $ ${quoted.join(' ')}\n`);
  return { logPath, fd };
}

async function spawnLogged(spec: ProcessSpec, stopSignal: NodeJS.Signals, stopTimeoutMs: number): Promise<SpawnedProcess> {
  const component = claimComponent(spec.suite, spec.component);
  const { logPath, fd } = openLog(spec.suite, component, spec.command, spec.args);
  // The child writes straight into the log file: nothing is lost if this process dies, and no pipe keeps it alive.
  // detached = own session and process group, so teardown reaches every process it forks.
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd ?? suiteDir(spec.suite),
    env: spec.env ?? process.env,
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) {
    const err = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new HarnessError(component, `could not start ${spec.command}: ${err.message}`, logPath);
  }
  trackGroup(pid, component);
  const proc = new SpawnedProcess(component, pid, pid, logPath, stopSignal, stopTimeoutMs);
  child.on('exit', (code, signal) => {
    proc.status = { code, signal };
  });
  // A forgotten process must not keep the test file alive; the exit hooks still kill it.
  child.unref();
  return proc;
}

async function checkReady(ready: ReadyCheck, proc: ManagedProcess): Promise<boolean> {
  if ('log' in ready) return ready.log.test(proc.readLog());
  if ('tcpPort' in ready) return tcpAccepts(ready.tcpPort, ready.host ?? LOOPBACK, 300);
  if ('udpPort' in ready) return isUdpPortBound(ready.udpPort);
  return ready.probe();
}

/**
 * Starts a long-running component (own process group, output in test-output/<suite>/<component>.log) and waits
 * until it is ready. Rejects with a HarnessError naming the component, the reason and the log's last lines when it
 * exits first or is not ready in time; the group is killed then.
 */
export async function startProcess(spec: StartSpec): Promise<ManagedProcess> {
  const proc = await spawnLogged(spec, spec.stopSignal ?? 'SIGTERM', spec.stopTimeoutMs ?? 3000);
  if (!spec.ready) return proc;
  const ready = spec.ready;
  const timeoutMs = spec.readyTimeoutMs ?? 10_000;
  let readyNow = false;
  await waitFor(async () => !proc.isRunning() || (readyNow = await checkReady(ready, proc)), timeoutMs);
  if (readyNow && proc.isRunning()) return proc;
  const status = proc.exitStatus();
  await proc.stop();
  const reason = status
    ? `exited (${describeExit(status)}) before it was ready`
    : `not ready within ${timeoutMs} ms (waiting for ${describeReady(ready)})`;
  throw new HarnessError(proc.component, reason, proc.logPath, proc.tail());
}

export interface RunResult {
  component: string;
  logPath: string;
  pid: number;
  status: ExitStatus;
  /** It was still running at timeoutMs and got stopped (stop signal, SIGKILL after the grace period). */
  timedOut: boolean;
  elapsedMs: number;
}

/**
 * Runs a command to completion, bounded by timeoutMs. With keepGroup the group stays alive after the command exits
 * (for tools that daemonize); otherwise leftovers die with it.
 */
export async function runProcess(
  spec: ProcessSpec & { timeoutMs: number; keepGroup?: boolean; stopSignal?: NodeJS.Signals; stopTimeoutMs?: number },
): Promise<RunResult> {
  const started = Date.now();
  const proc = await spawnLogged(spec, spec.stopSignal ?? 'SIGTERM', spec.stopTimeoutMs ?? 2000);
  const done = await waitFor(() => !proc.isRunning(), spec.timeoutMs, 20);
  if (!done || !spec.keepGroup) await proc.stop();
  else everyProcess.delete(proc);
  const status = proc.exitStatus() ?? { code: null, signal: 'SIGKILL' };
  return { component: proc.component, logPath: proc.logPath, pid: proc.pid, status, timedOut: !done, elapsedMs: Date.now() - started };
}

/**
 * Takes charge of a process that daemonized out of a group we started (its pgid stays the group leader's pid), so
 * stop() and the exit hooks reach it.
 */
export function adoptDaemon(args: {
  component: string;
  pid: number;
  pgid: number;
  logPath: string;
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
}): ManagedProcess {
  trackGroup(args.pgid, args.component);
  return new AdoptedProcess(args.component, args.pid, args.pgid, args.logPath, args.stopSignal ?? 'SIGTERM', args.stopTimeoutMs ?? 3000);
}
