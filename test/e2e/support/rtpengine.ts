import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { bdecode, bencode, isBencodeDict, type BencodeDict } from '@switchboard/gateway';
import { assertPrivateNetns } from './netns.js';
import { freePort, isUdpPortBound, LOOPBACK } from './ports.js';
import { HarnessError, startProcess, tailLines, uniqueComponent, type ManagedProcess } from './processes.js';

// ---- ng commands --------------------------------------------------------------------------------------------

/**
 * Sends one ng command ("<cookie> <bencoded dict>" over UDP) and resolves with the reply dictionary, or undefined
 * when nothing came back within timeoutMs.
 */
export function ngCommand(
  ngPort: number,
  command: BencodeDict,
  { host = LOOPBACK, timeoutMs = 500 }: { host?: string; timeoutMs?: number } = {},
): Promise<BencodeDict | undefined> {
  return new Promise((resolve) => {
    const cookie = randomBytes(6).toString('hex');
    const socket = createSocket('udp4');
    let finished = false;
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    function finish(reply: BencodeDict | undefined): void {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    }
    socket.on('error', () => finish(undefined));
    socket.on('message', (msg) => {
      const space = msg.indexOf(0x20);
      if (space < 0 || msg.toString('latin1', 0, space) !== cookie) return;
      try {
        const value = bdecode(msg.subarray(space + 1));
        if (isBencodeDict(value)) finish(value);
      } catch {
        // not an ng reply: keep waiting for one
      }
    });
    socket.bind({ address: host, port: 0 }, () => {
      socket.send(Buffer.concat([Buffer.from(`${cookie} `), bencode(command)]), ngPort, host);
    });
  });
}

/** True when rtpengine answers an ng ping with pong. */
export async function ngPing(ngPort: number, timeoutMs = 300): Promise<boolean> {
  const reply = await ngCommand(ngPort, { command: 'ping' }, { timeoutMs });
  return reply?.['result'] === 'pong';
}

// ---- the daemon ---------------------------------------------------------------------------------------------

export interface RtpengineOptions {
  suite: string;
  /** Component name for the log; default "rtpengine". */
  name?: string;
  ngPort?: number;
  /** First media port; default a random even port below the kernel's ephemeral range. */
  portMin?: number;
  /** Media ports in the range; default 200 (every call stream takes two, each side). */
  portCount?: number;
  /** rtpengine log level (6 info, 7 debug); default 6. */
  logLevel?: number;
  /** More command line arguments ("--dtls-passive"). */
  extraArgs?: string[];
  /** Default 10 s. */
  readyTimeoutMs?: number;
}

export interface Rtpengine {
  readonly ngPort: number;
  /** "udp:127.0.0.1:port", as Kamailio's rtpengine_sock takes it. */
  readonly ngSocket: string;
  readonly portMin: number;
  readonly portMax: number;
  readonly logPath: string;
  readonly process: ManagedProcess;
  ping(timeoutMs?: number): Promise<boolean>;
  /** Any ng command; rejects when rtpengine does not answer. */
  command(command: BencodeDict, timeoutMs?: number): Promise<BencodeDict>;
  stop(): Promise<void>;
}

// Peers from freePort() listen on 10000-15999 (support/ports.ts), baresip phones take RTP from 16000-23999
// (support/baresip.ts) and browsers bind in the ephemeral range (32768+): media ports in between collide with none.
const MEDIA_BASE = 24_000;
const MEDIA_TOP = 32_000;

function mediaRange(count: number): number {
  for (let attempt = 0; attempt < 20; attempt++) {
    const start = MEDIA_BASE + 2 * Math.floor((Math.random() * (MEDIA_TOP - MEDIA_BASE - count)) / 2);
    // Another rtpengine of this namespace (a parallel test file) may hold part of a range; sample both ends.
    if (![start, start + 1, start + count - 2, start + count - 1].some(isUdpPortBound)) return start;
  }
  return MEDIA_BASE;
}

/**
 * Runs rtpengine in userspace (--table=-1: no kernel forwarding) in the foreground on loopback, with no config file
 * (the packaged one opens CLI and HTTP listeners); resolves once it answers an ng ping.
 */
export async function startRtpengine(options: RtpengineOptions): Promise<Rtpengine> {
  assertPrivateNetns();
  const ngPort = options.ngPort ?? (await freePort());
  const portCount = Math.max(4, options.portCount ?? 200);
  const portMin = options.portMin ?? mediaRange(portCount);
  const portMax = portMin + portCount - 1;
  const name = uniqueComponent(options.suite, options.name ?? 'rtpengine');
  const args = [
    '--config-file=none',
    `--interface=${LOOPBACK}`,
    `--listen-ng=${LOOPBACK}:${ngPort}`,
    '--foreground',
    '--log-stderr',
    `--log-level=${options.logLevel ?? 6}`,
    '--table=-1',
    `--port-min=${portMin}`,
    `--port-max=${portMax}`,
    ...(options.extraArgs ?? []),
  ];
  let proc: ManagedProcess;
  try {
    proc = await startProcess({
      suite: options.suite,
      component: name,
      command: 'rtpengine',
      args,
      readyTimeoutMs: options.readyTimeoutMs ?? 10_000,
      ready: { what: `an ng pong on udp:${LOOPBACK}:${ngPort}`, probe: () => ngPing(ngPort) },
    });
  } catch (err) {
    if (err instanceof HarnessError && !err.component.startsWith('rtpengine')) {
      throw new HarnessError(`rtpengine ${err.component}`, err.reason, err.logPath, err.logPath ? tailLines(err.logPath) : undefined);
    }
    throw err;
  }
  return {
    ngPort,
    ngSocket: `udp:${LOOPBACK}:${ngPort}`,
    portMin,
    portMax,
    logPath: proc.logPath,
    process: proc,
    ping: (timeoutMs = 500) => ngPing(ngPort, timeoutMs),
    async command(command, timeoutMs = 1000) {
      const reply = await ngCommand(ngPort, command, { timeoutMs });
      if (!reply) throw new HarnessError(name, `no answer to ng ${JSON.stringify(command['command'])} within ${timeoutMs} ms`, proc.logPath, proc.tail());
      return reply;
    },
    stop: () => proc.stop(),
  };
}
