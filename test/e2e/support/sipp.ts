import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertPrivateNetns } from './netns.js';
import { freePort, isTcpPortBound, isUdpPortBound, LOOPBACK, type Transport } from './ports.js';
import {
  adoptDaemon,
  describeExit,
  HarnessError,
  runProcess,
  suiteDir,
  tailLines,
  uniqueComponent,
  waitFor,
  type ManagedProcess,
  type RunResult,
} from './processes.js';

export const SCENARIOS_DIR = fileURLToPath(new URL('../scenarios/', import.meta.url));
/** REGISTER, 401, REGISTER with digest credentials, 200 (see the file for its keys). */
export const REGISTER_SCENARIO = join(SCENARIOS_DIR, 'register-auth.xml');

export interface SippOptions {
  suite: string;
  /** Component name for the log files; default "sipp-<scenario>". */
  name?: string;
  /** A scenario built into sipp (-sn uac, uas, ...) or an XML scenario file (-sf). */
  scenario: string | { file: string };
  /** host:port the scenario talks to ([remote_ip]:[remote_port]); required for a UAC. */
  target?: string;
  /** host:port to send to instead of the target (-rsa): an outbound proxy while the Request-URI names the target. */
  proxy?: string;
  /** -p; default a free port. */
  localPort?: number;
  /** -t u1 / -t t1; default udp. */
  transport?: Transport;
  /** User part of the Request-URI, [service] (-s). */
  service?: string;
  /** Digest credentials for [authentication] (-au, -ap). */
  authUser?: string;
  authPassword?: string;
  /** Calls to process before exiting (-m). */
  calls?: number;
  /** Calls per second (-r), per ratePeriodMs (-rp) if given. */
  rate?: number;
  ratePeriodMs?: number;
  /** Most simultaneous calls (-l). */
  concurrency?: number;
  /** Percentage of packets to drop (-lost). */
  lostPercent?: number;
  /** sipp's own global timeout (-timeout); default 20 s for runSipp, 120 s for startSipp. */
  timeoutS?: number;
  /** Count reaching the global timeout as a failure (-timeout_error). */
  timeoutIsError?: boolean;
  /** Default receive timeout for every <recv> (-recv_timeout), ms. */
  recvTimeoutMs?: number;
  /** [keyword] values (-key). */
  keys?: Record<string, string>;
  /** Global scenario variables (-set). */
  vars?: Record<string, string>;
  /** Also keep every message sent and received (-trace_msg). */
  traceMessages?: boolean;
  extraArgs?: string[];
}

export interface SippStats {
  successful: number;
  failed: number;
  retransmissions: number;
  created: number;
  outgoing: number;
  incoming: number;
  /** Calls still running when the statistics were written. */
  current: number;
  unexpectedMessages: number;
  recvTimeouts: number;
  maxUdpRetrans: number;
  /** Every cumulative column of the last statistics row, by its name in the CSV header. */
  raw: Record<string, string>;
}

export interface SippResult {
  component: string;
  /** Exit code of sipp (0 all calls succeeded, 1 some failed, 97 stopped, 99 none processed); null in background. */
  exitCode: number | null;
  /** The global timeout (-timeout) passed with calls still running. */
  timedOut: boolean;
  stats: SippStats;
  localPort: number;
  logPath: string;
  statsPath: string;
  errorsPath: string;
  screenPath: string;
  messagesPath?: string;
  /** Contents of the unexpected-events log (-trace_err), '' when there were none. */
  errors(): string;
}

export interface SippServer {
  component: string;
  localPort: number;
  transport: Transport;
  /** "127.0.0.1:port" */
  address: string;
  /** A Contact URI for this sipp, to register it as `user`. */
  contact(user: string): string;
  process: ManagedProcess;
  /** Statistics written so far (sipp dumps them every second). */
  stats(): SippStats;
  /**
   * Ends sipp and returns its final statistics. Graceful (default): SIGUSR1, sipp stops taking calls and exits when
   * the running ones end (the built-in uas keeps each call 4 s after BYE). Otherwise SIGTERM at once.
   */
  stop(options?: { graceful?: boolean }): Promise<SippResult>;
}

interface Prepared {
  component: string;
  localPort: number;
  args: string[];
  logPath: string;
  statsPath: string;
  errorsPath: string;
  screenPath: string;
  messagesPath?: string;
}

async function prepare(options: SippOptions, background: boolean): Promise<Prepared> {
  assertPrivateNetns();
  const scenarioName = typeof options.scenario === 'string' ? options.scenario : basename(options.scenario.file, '.xml');
  const component = uniqueComponent(options.suite, options.name ?? `sipp-${scenarioName}`);
  const dir = suiteDir(options.suite);
  const localPort = options.localPort ?? (await freePort());
  const file = (suffix: string): string => join(dir, `${component}.${suffix}`);
  const statsPath = file('stats.csv');
  const errorsPath = file('errors.log');
  const screenPath = file('screen.log');
  const messagesPath = options.traceMessages ? file('messages.log') : undefined;

  const args: string[] = [];
  if (typeof options.scenario === 'string') args.push('-sn', options.scenario);
  else {
    if (!existsSync(options.scenario.file)) throw new HarnessError(component, `no scenario file ${options.scenario.file}`);
    args.push('-sf', options.scenario.file);
  }
  if (options.target) args.push(options.target);
  args.push('-i', LOOPBACK, '-p', String(localPort), '-t', options.transport === 'tcp' ? 't1' : 'u1');
  if (options.proxy) args.push('-rsa', options.proxy);
  if (options.service !== undefined) args.push('-s', options.service);
  if (options.authUser !== undefined) args.push('-au', options.authUser);
  if (options.authPassword !== undefined) args.push('-ap', options.authPassword);
  if (options.calls !== undefined) args.push('-m', String(options.calls));
  if (options.rate !== undefined) args.push('-r', String(options.rate));
  if (options.ratePeriodMs !== undefined) args.push('-rp', String(options.ratePeriodMs));
  if (options.concurrency !== undefined) args.push('-l', String(options.concurrency));
  if (options.lostPercent !== undefined) args.push('-lost', String(options.lostPercent));
  // Never unbounded: a sipp waiting for a message that never comes would otherwise hang the suite.
  args.push('-timeout', `${options.timeoutS ?? (background ? 120 : 20)}s`);
  if (options.timeoutIsError) args.push('-timeout_error');
  if (options.recvTimeoutMs !== undefined) args.push('-recv_timeout', String(options.recvTimeoutMs));
  for (const [key, value] of Object.entries(options.keys ?? {})) args.push('-key', key, value);
  for (const [name, value] of Object.entries(options.vars ?? {})) args.push('-set', name, value);
  args.push('-nostdin');
  args.push('-trace_stat', '-stf', statsPath, '-fd', '1');
  args.push('-trace_err', '-error_file', errorsPath);
  args.push('-trace_screen', '-screen_file', screenPath);
  if (messagesPath) args.push('-trace_msg', '-message_file', messagesPath);
  if (background) args.push('-bg');
  args.push(...(options.extraArgs ?? []));
  return {
    component,
    localPort,
    args,
    logPath: join(dir, `${component}.log`),
    statsPath,
    errorsPath,
    screenPath,
    ...(messagesPath ? { messagesPath } : {}),
  };
}

function num(raw: Record<string, string>, column: string): number {
  const value = Number(raw[column]);
  return Number.isFinite(value) ? value : 0;
}

/** Cumulative figures from the last row of a -trace_stat CSV; all zero when sipp wrote none. */
export function parseSippStats(csv: string): SippStats {
  const rows = csv.split('\n').filter((line) => line.trim() !== '');
  const header = rows[0]?.split(';') ?? [];
  const last = rows.length > 1 ? (rows[rows.length - 1]?.split(';') ?? []) : [];
  const raw: Record<string, string> = {};
  header.forEach((column, i) => {
    // (P) columns cover only the last period; the (C) ones and the unmarked ones are cumulative.
    if (column === '' || column.endsWith('(P)')) return;
    raw[column.replace(/\(C\)$/, '')] = (last[i] ?? '').trim();
  });
  return {
    successful: num(raw, 'SuccessfulCall'),
    failed: num(raw, 'FailedCall'),
    retransmissions: num(raw, 'Retransmissions'),
    created: num(raw, 'TotalCallCreated'),
    outgoing: num(raw, 'OutgoingCall'),
    incoming: num(raw, 'IncomingCall'),
    current: num(raw, 'CurrentCall'),
    unexpectedMessages: num(raw, 'FailedUnexpectedMessage'),
    recvTimeouts: num(raw, 'FailedTimeoutOnRecv'),
    maxUdpRetrans: num(raw, 'FailedMaxUDPRetrans'),
    raw,
  };
}

function readStats(path: string): SippStats {
  return parseSippStats(existsSync(path) ? readFileSync(path, 'latin1') : '');
}

function result(p: Prepared, exitCode: number | null, timedOut: boolean): SippResult {
  return {
    component: p.component,
    exitCode,
    timedOut,
    stats: readStats(p.statsPath),
    localPort: p.localPort,
    logPath: p.logPath,
    statsPath: p.statsPath,
    errorsPath: p.errorsPath,
    screenPath: p.screenPath,
    ...(p.messagesPath ? { messagesPath: p.messagesPath } : {}),
    errors: () => (existsSync(p.errorsPath) ? readFileSync(p.errorsPath, 'latin1') : ''),
  };
}

function lastErrors(p: Prepared): string {
  if (!existsSync(p.errorsPath)) return '';
  const lines = readFileSync(p.errorsPath, 'latin1').trim().split('\n').filter((l) => !/^The following events/.test(l));
  return lines.slice(-3).join(' | ');
}

/** Why sipp could not run the scenario at all, or undefined when it ran (with or without failed calls). */
function fatalReason(p: Prepared, run: RunResult, timeoutIsError: boolean, timeoutMs: number): string | undefined {
  const { code, signal } = run.status;
  const errors = lastErrors(p);
  const why = errors ? `: ${errors}` : '';
  if (run.timedOut) return undefined;
  if (signal) return `sipp ${describeExit(run.status)}${why}`;
  // -timeout_error makes sipp exit 255 when the global timeout hits: a failed run, not a broken one.
  if (code === 255 && timeoutIsError && run.elapsedMs >= timeoutMs - 100) return undefined;
  // 0: all calls succeeded, 1: some failed, 97: stopped by a signal or command, 99: no call processed.
  if (code !== 0 && code !== 1 && code !== 97 && code !== 99) {
    return `sipp failed (exit code ${code}${code === 254 ? ', could not bind its socket' : ''})${why}`;
  }
  // A scenario sipp refuses (unknown keyword, bad XML) also ends with 1, before statistics are set up.
  if (!existsSync(p.statsPath)) return `sipp did not run the scenario (exit code ${code}, no statistics)${why}`;
  return undefined;
}

/**
 * Runs sipp to completion and returns its statistics. Failed calls are data, not errors; a sipp that cannot run its
 * scenario at all (bad arguments, scenario or socket) throws a HarnessError. Bounded: sipp's -timeout only stops new
 * calls, so calls still running 2 s after it are ended with SIGTERM (timedOut in the result).
 */
export async function runSipp(options: SippOptions): Promise<SippResult> {
  const p = await prepare(options, false);
  const timeoutMs = (options.timeoutS ?? 20) * 1000;
  const run = await runProcess({
    suite: options.suite,
    component: p.component,
    command: 'sipp',
    args: p.args,
    timeoutMs: timeoutMs + 2000,
    stopSignal: 'SIGTERM', // sipp writes its final statistics and exits 97
  });
  const fatal = fatalReason(p, run, options.timeoutIsError ?? false, timeoutMs);
  if (fatal) throw new HarnessError(p.component, fatal, p.logPath, tailLines(p.logPath));
  const timedOut = run.timedOut || (run.status.code === 255 && (options.timeoutIsError ?? false));
  return result(p, run.status.code, timedOut);
}

/** Starts a long-running sipp (usually -sn uas) in the background (-bg); resolves once its port is bound. */
export async function startSipp(options: SippOptions & { readyTimeoutMs?: number }): Promise<SippServer> {
  const p = await prepare(options, true);
  const transport: Transport = options.transport ?? 'udp';
  // sipp -bg forks the real sipp, prints its pid and exits 99; the child keeps the process group.
  const launch = await runProcess({
    suite: options.suite,
    component: p.component,
    command: 'sipp',
    args: p.args,
    timeoutMs: 10_000,
    keepGroup: true,
  });
  const reported = /Background mode - PID=\[(\d+)\]/.exec(readFileSync(launch.logPath, 'latin1'))?.[1];
  // Adopted even without a pid (then the launcher's), so that stop() below clears up its group either way.
  const proc = adoptDaemon({
    component: p.component,
    pid: reported ? Number(reported) : launch.pid,
    pgid: launch.pid,
    logPath: launch.logPath,
    stopSignal: 'SIGUSR1',
    stopTimeoutMs: 8000,
  });
  const bound = (): boolean => (transport === 'tcp' ? isTcpPortBound(p.localPort) : isUdpPortBound(p.localPort));
  const readyTimeoutMs = options.readyTimeoutMs ?? 5000;
  const ready = reported !== undefined && (await waitFor(() => !proc.isRunning() || bound(), readyTimeoutMs)) && proc.isRunning();
  if (!ready) {
    const running = proc.isRunning();
    await proc.stop('SIGKILL');
    const errors = lastErrors(p);
    const reason = !reported
      ? `sipp -bg did not report a pid (${launch.timedOut ? 'still running after 10 s' : describeExit(launch.status)})`
      : running
        ? `${transport} port ${p.localPort} not bound within ${readyTimeoutMs} ms`
        : 'background sipp exited before it was ready';
    throw new HarnessError(p.component, `${reason}${errors ? `: ${errors}` : ''}`, p.logPath, tailLines(p.logPath));
  }

  return {
    component: p.component,
    localPort: p.localPort,
    transport,
    address: `${LOOPBACK}:${p.localPort}`,
    contact: (user: string) => `sip:${user}@${LOOPBACK}:${p.localPort}${transport === 'tcp' ? ';transport=tcp' : ''}`,
    process: proc,
    stats: () => readStats(p.statsPath),
    stop: async ({ graceful = true } = {}) => {
      await proc.stop(graceful ? undefined : 'SIGTERM');
      return result(p, null, false);
    },
  };
}

export interface RegisterOptions {
  suite: string;
  /** host:port of the registrar. */
  registrar: string;
  user: string;
  password: string;
  /** Contact to bind; default this sipp's own address. Name another UA (a sipp uas, a UA under test) to register it. */
  contact?: string;
  /** AOR domain and digest realm; default the registrar's host. */
  domain?: string;
  transport?: Transport;
  expires?: number;
  name?: string;
  timeoutS?: number;
  traceMessages?: boolean;
}

/** One REGISTER with digest auth (scenarios/register-auth.xml); stats.successful is 1 when the registrar said 200. */
export async function sippRegister(options: RegisterOptions): Promise<SippResult> {
  const localPort = await freePort();
  const domain = options.domain ?? options.registrar.replace(/:\d+$/, '');
  const transport = options.transport ?? 'udp';
  return runSipp({
    suite: options.suite,
    name: options.name ?? `sipp-register-${options.user}`,
    scenario: { file: REGISTER_SCENARIO },
    target: options.registrar,
    localPort,
    transport,
    service: options.user,
    authUser: options.user,
    authPassword: options.password,
    calls: 1,
    timeoutS: options.timeoutS ?? 10,
    keys: {
      aor_domain: domain,
      reg_contact: options.contact ?? `sip:${options.user}@${LOOPBACK}:${localPort}${transport === 'tcp' ? ';transport=tcp' : ''}`,
      reg_expires: String(options.expires ?? 600),
    },
    ...(options.traceMessages ? { traceMessages: true } : {}),
  });
}
