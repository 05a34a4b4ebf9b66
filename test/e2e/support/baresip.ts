// baresip 1.0 desk phones for end-to-end calls: each phone has its own config folder under the suite's output,
// registers to a Kamailio with digest auth, sends a WAV with a tone of its own frequency as its microphone, records
// what it hears, and is driven over ctrl_tcp (netstring-framed JSON) with the commands of menu.so.
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { writeToneWav } from './audio.js';
import type { Kamailio } from './kamailio.js';
import { assertPrivateNetns } from './netns.js';
import { freePort, LOOPBACK } from './ports.js';
import { HarnessError, startProcess, suiteDir, uniqueComponent, waitFor, type ManagedProcess } from './processes.js';

export type CallState = 'idle' | 'outgoing' | 'incoming' | 'ringing' | 'progress' | 'established' | 'closed';

/** An event as ctrl_tcp reports it (the fields baresip 1.0 sets; others are kept in `raw`). */
export interface PhoneEvent {
  type: string;
  class?: string;
  accountaor?: string;
  direction?: string;
  peeruri?: string;
  id?: string;
  param?: string;
  /** When it arrived, Date.now(), comparable across phones. */
  at: number;
  raw: Record<string, unknown>;
}

export interface PhoneOptions {
  suite: string;
  /** Component name: config folder, log file and error messages ("phone-a"). */
  name: string;
  kamailio: Pick<Kamailio, 'host' | 'port'>;
  user: string;
  password: string;
  /** Answer incoming calls by itself (answermode=auto); default false (answer() does it). */
  autoAnswer?: boolean;
  /** Frequency of the tone this phone sends, Hz. */
  toneHz: number;
  /** Length of the tone WAV; baresip hangs up when its source file ends, so it must outlast every call. Default 120 s. */
  toneDurationS?: number;
  /** Default 0.3 of full scale. */
  toneAmplitude?: number;
  /** Bound on starting and registering; default 10 s. */
  readyTimeoutMs?: number;
}

export interface Phone {
  readonly name: string;
  readonly user: string;
  /** sip:user@127.0.0.1:<kamailio port>, what another phone dials to reach this one. */
  readonly aor: string;
  readonly toneHz: number;
  /** Config folder (config, accounts, tone.wav) and recordings (recordings/dump-<time>-dec.wav). */
  readonly dir: string;
  readonly logPath: string;
  readonly process: ManagedProcess;
  /** Every event received so far, oldest first. */
  readonly events: readonly PhoneEvent[];
  /** Sends a menu command over ctrl_tcp and resolves with its output; rejects when baresip reports it failed. */
  command(command: string, params?: string, timeoutMs?: number): Promise<string>;
  dial(uri: string): Promise<void>;
  answer(): Promise<void>;
  hangup(): Promise<void>;
  hold(): Promise<void>;
  resume(): Promise<void>;
  /** RFC 4733 telephone-events on the current call, one per character (0-9, *, #, A-D). */
  sendDtmf(digits: string): Promise<void>;
  /** State of the latest call ('idle' before the first). */
  state(): CallState;
  /** Digits received on any call so far, in order. */
  receivedDtmf(): string;
  /**
   * Resolves once the latest call has reached `state` (it may have moved on since); a call already closed counts
   * only for 'closed', so waiting for 'incoming' after a call waits for the next one. Rejects with the latest
   * call's states when it does not happen within timeoutMs.
   */
  waitForState(state: CallState, timeoutMs?: number): Promise<void>;
  /** Resolves with the first event from index `since` on (default: any) of this type and passing `match`. */
  waitForEvent(type: string, options?: { since?: number; timeoutMs?: number; match?: (e: PhoneEvent) => boolean }): Promise<PhoneEvent>;
  /** Resolves once `digits` have been received (in total, in order) or rejects after timeoutMs. */
  waitForDtmf(digits: string, timeoutMs?: number): Promise<void>;
  /** Paths of the WAVs of what this phone heard, one per call, oldest first. */
  recordings(): string[];
  /** The recording of the latest call, once baresip has closed it; rejects when there is none within timeoutMs. */
  lastRecording(timeoutMs?: number): Promise<string>;
  /** Ends baresip within about a second whether or not its registrar is still there; idempotent. */
  stop(): Promise<void>;
}

const SAFE = /^[A-Za-z0-9._~+-]+$/;
const SAMPLE_RATE = 8000; // G.711: aufile refuses a source whose rate differs from the codec's

// Each phone draws RTP ports from a band of its own, so that two phones (and other peers of the namespace) rarely
// race for the same port; baresip retries random ports within the band when one is taken.
let rtpBand = Math.floor(Math.random() * 40);

function configText(o: { sipPort: number; ctrlPort: number; tonePath: string; recordDir: string; rtpMin: number }): string {
  return [
    'poll_method epoll',
    `sip_listen ${LOOPBACK}:${o.sipPort}`,
    // Without it baresip picks the default route's interface, and there is none in the namespace.
    `net_interface ${LOOPBACK}`,
    'call_local_timeout 60',
    'call_max_calls 4',
    // No audio_player and no player module: 1.0 has no null player, and the sndfile filter records regardless.
    `audio_source aufile,${o.tonePath}`,
    'ausrc_format s16',
    'auplay_format s16',
    'auenc_format s16',
    'audec_format s16',
    'audio_buffer 20-160',
    `rtp_ports ${o.rtpMin}-${o.rtpMin + 199}`,
    'rtcp_mux no',
    'jitter_buffer_delay 5-10',
    'rtp_stats no',
    'module_path /usr/lib/baresip/modules',
    'module g711.so',
    'module aufile.so',
    'module sndfile.so',
    'module_tmp account.so',
    'module_app menu.so',
    'module_app ctrl_tcp.so',
    `snd_path ${o.recordDir}`,
    `ctrl_tcp_listen ${LOOPBACK}:${o.ctrlPort}`,
    'ringback_disabled yes',
    'menu_bell no',
    '',
  ].join('\n');
}

/** Minimal netstring framing ("<length>:<payload>,") over a byte stream. */
class NetstringReader {
  private buffer = Buffer.alloc(0);

  push(chunk: Buffer): string[] {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const out: string[] = [];
    for (;;) {
      const colon = this.buffer.indexOf(0x3a);
      if (colon < 0) break;
      const length = Number(this.buffer.toString('latin1', 0, colon));
      if (!Number.isInteger(length) || length < 0) throw new Error(`bad netstring length ${JSON.stringify(this.buffer.toString('latin1', 0, colon))}`);
      if (this.buffer.length < colon + 1 + length + 1) break;
      out.push(this.buffer.toString('utf8', colon + 1, colon + 1 + length));
      this.buffer = this.buffer.subarray(colon + 1 + length + 1);
    }
    return out;
  }
}

function netstring(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`${payload.length}:`, 'latin1'), payload, Buffer.from(',', 'latin1')]);
}

function connectCtrl(port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: LOOPBACK, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no ctrl_tcp connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const STATE_OF_EVENT: Record<string, CallState> = {
  CALL_INCOMING: 'incoming',
  CALL_RINGING: 'ringing',
  CALL_PROGRESS: 'progress',
  CALL_ESTABLISHED: 'established',
  CALL_CLOSED: 'closed',
};

// A port probed free can still be bound by a parallel test file before baresip binds it; baresip then exits with
// "Address already in use" and is started again on other ports.
const START_ATTEMPTS = 3;

async function runBaresip(
  name: string,
  suite: string,
  dir: string,
  readyTimeoutMs: number,
  files: { tonePath: string; recordDir: string },
): Promise<{ proc: ManagedProcess; ctrlPort: number }> {
  for (let attempt = 1; ; attempt++) {
    const sipPort = await freePort();
    const ctrlPort = await freePort();
    const rtpMin = 16_000 + 200 * (rtpBand++ % 40);
    writeFileSync(join(dir, 'config'), configText({ sipPort, ctrlPort, rtpMin, ...files }));
    try {
      const proc = await startProcess({
        suite,
        component: name,
        command: 'baresip',
        args: ['-f', dir],
        cwd: dir,
        readyTimeoutMs,
        ready: { tcpPort: ctrlPort },
        // SIGTERM lets baresip unregister and close its recordings (the WAV header gets its final sizes).
        stopSignal: 'SIGTERM',
        stopTimeoutMs: 3000,
      });
      return { proc, ctrlPort };
    } catch (error) {
      const inUse = error instanceof HarnessError && /Address already in use/.test(error.message);
      if (!inUse || attempt === START_ATTEMPTS) throw error;
    }
  }
}

/**
 * Starts baresip for one phone and resolves once ctrl_tcp answers and its account is registered (REGISTER_OK).
 * Rejects with a HarnessError naming the phone when baresip exits, the registrar refuses it or time runs out.
 */
export async function startPhone(options: PhoneOptions): Promise<Phone> {
  assertPrivateNetns();
  for (const [what, value] of [['user', options.user], ['password', options.password]] as const) {
    // The account line has its own quoting rules; keep test credentials to characters that need none.
    if (!SAFE.test(value)) throw new HarnessError(options.name, `${what} ${JSON.stringify(value)} must match ${SAFE}`);
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const name = uniqueComponent(options.suite, options.name);
  const dir = join(suiteDir(options.suite), name);
  const recordDir = join(dir, 'recordings');
  mkdirSync(recordDir, { recursive: true });
  const tonePath = join(dir, `tone-${options.toneHz}hz.wav`);
  writeToneWav(tonePath, {
    frequency: options.toneHz,
    sampleRate: SAMPLE_RATE,
    durationS: options.toneDurationS ?? 120,
    amplitude: options.toneAmplitude ?? 0.3,
  });
  const { host, port } = options.kamailio;
  const aor = `sip:${options.user}@${host}:${port}`;
  const account = [
    `<${aor}>`,
    `auth_pass=${options.password}`,
    // Without an outbound proxy baresip sends to the AOR's host on port 5060, whatever port the AOR names.
    `outbound="sip:${host}:${port};transport=udp;lr"`,
    'regint=600',
    `answermode=${options.autoAnswer ? 'auto' : 'manual'}`,
    'audio_codecs=PCMU',
  ].join(';');
  writeFileSync(join(dir, 'accounts'), `${account}\n`);
  writeFileSync(join(dir, 'contacts'), '');

  const { proc, ctrlPort } = await runBaresip(name, options.suite, dir, readyTimeoutMs, { tonePath, recordDir });
  const started = Date.now();
  const fail = async (reason: string): Promise<never> => {
    // Not SIGTERM: baresip would first try to unregister from a registrar that may be the very thing missing.
    await proc.stop('SIGKILL');
    throw new HarnessError(name, reason, proc.logPath, proc.tail());
  };

  let socket: Socket;
  try {
    socket = await connectCtrl(ctrlPort, 2000);
  } catch (err) {
    return fail(`ctrl_tcp on ${LOOPBACK}:${ctrlPort} refused the harness: ${(err as Error).message}`);
  }

  const events: PhoneEvent[] = [];
  const pending = new Map<string, { resolve: (data: string) => void; reject: (err: Error) => void }>();
  let nextToken = 1;
  // States the latest call went through: a waiter must not miss 'incoming' because auto-answer moved on at once.
  let callHistory: CallState[] = ['idle'];
  const setState = (state: CallState, newCall: boolean): void => {
    if (newCall) callHistory = [state];
    else callHistory.push(state);
  };
  const currentState = (): CallState => callHistory[callHistory.length - 1] ?? 'idle';
  let dtmf = '';
  let closed = false;
  const reader = new NetstringReader();
  socket.on('data', (chunk: Buffer) => {
    let messages: string[];
    try {
      messages = reader.push(chunk);
    } catch {
      socket.destroy();
      return;
    }
    for (const text of messages) {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (message['response'] === true) {
        const token = String(message['token'] ?? '');
        const waiter = pending.get(token);
        if (!waiter) continue;
        pending.delete(token);
        const data = typeof message['data'] === 'string' ? message['data'] : '';
        if (message['ok'] === true) waiter.resolve(data);
        else waiter.reject(new HarnessError(name, `command failed: ${data.trim() || '(no output)'}`, proc.logPath));
      } else if (message['event'] === true) {
        const str = (key: string): string | undefined => (typeof message[key] === 'string' ? (message[key] as string) : undefined);
        const event: PhoneEvent = { type: str('type') ?? 'UNKNOWN', at: Date.now(), raw: message };
        for (const key of ['class', 'accountaor', 'direction', 'peeruri', 'id', 'param'] as const) {
          const value = str(key);
          if (value !== undefined) event[key] = value;
        }
        events.push(event);
        const next = STATE_OF_EVENT[event.type];
        if (next) setState(next, event.type === 'CALL_INCOMING');
        if (event.type === 'CALL_DTMF_START' && event.param) dtmf += event.param;
      }
    }
  });
  socket.on('close', () => {
    closed = true;
    for (const waiter of pending.values()) waiter.reject(new HarnessError(name, 'ctrl_tcp connection closed', proc.logPath));
    pending.clear();
  });
  socket.on('error', () => {});

  const command = (cmd: string, params?: string, timeoutMs = 5000): Promise<string> => {
    if (closed) return Promise.reject(new HarnessError(name, `cannot send ${cmd}: ctrl_tcp connection closed`, proc.logPath));
    const token = String(nextToken++);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(token);
        reject(new HarnessError(name, `no answer to ${cmd} within ${timeoutMs} ms`, proc.logPath, proc.tail()));
      }, timeoutMs);
      pending.set(token, {
        resolve: (data) => {
          clearTimeout(timer);
          resolve(data);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      socket.write(netstring(JSON.stringify({ command: cmd, ...(params !== undefined ? { params } : {}), token })));
    });
  };

  const waitForEvent: Phone['waitForEvent'] = async (type, { since = 0, timeoutMs = 5000, match } = {}) => {
    let found: PhoneEvent | undefined;
    const ok = await waitFor(
      () => (found = events.slice(since).find((e) => e.type === type && (!match || match(e)))) !== undefined || !proc.isRunning(),
      timeoutMs,
      20,
    );
    if (ok && found) return found;
    const seen = events.slice(since).map((e) => e.type).join(', ') || 'none';
    const why = proc.isRunning() ? `no ${type} event within ${timeoutMs} ms (events: ${seen})` : `exited while waiting for ${type}`;
    throw new HarnessError(name, why, proc.logPath, proc.tail());
  };

  // Registration: the REGISTER_* events may have fired before we connected, so the registrar's answer as baresip
  // logs it ("alice@127.0.0.1: {0/UDP/v4} 200 OK (...)") is the witness; 401/407 after credentials means refused.
  const regLine = /\{\d+\/UDP\/v4\} (\d{3}) ([^(\n]*)/g;
  const registration = (): { code: number; reason: string } | undefined => {
    let last: { code: number; reason: string } | undefined;
    for (const m of proc.readLog().matchAll(regLine)) last = { code: Number(m[1]), reason: (m[2] ?? '').trim() };
    return last;
  };
  const regFailure = (): string | undefined =>
    events.find((e) => e.type === 'REGISTER_FAIL')?.param ?? /reg: sip:\S+: ([^(\n]*)/.exec(proc.readLog())?.[1]?.trim();
  await waitFor(
    () => registration() !== undefined || regFailure() !== undefined || !proc.isRunning(),
    Math.max(1000, readyTimeoutMs - (Date.now() - started)),
    20,
  );
  const answer = registration();
  const where = `as ${options.user} at ${host}:${port}`;
  if (!proc.isRunning()) return fail(`baresip exited before it registered ${where}`);
  if (answer === undefined) {
    const why = regFailure();
    return fail(
      why ? `registration ${where} refused: ${why}` : `no answer to REGISTER ${where} within ${readyTimeoutMs} ms (is Kamailio listening there?)`,
    );
  }
  if (answer.code !== 200) return fail(`registration ${where} refused: ${answer.code} ${answer.reason}`);

  const recordings = (): string[] =>
    existsSync(recordDir)
      ? readdirSync(recordDir)
          .filter((f) => f.endsWith('-dec.wav'))
          .map((f) => join(recordDir, f))
          // dump-YYYY-MM-DD-HH-MM-SS-dec.wav: the name orders them by the start of their call.
          .sort()
      : [];

  let stopping: Promise<void> | undefined;
  const phone: Phone = {
    name,
    user: options.user,
    aor,
    toneHz: options.toneHz,
    dir,
    logPath: proc.logPath,
    process: proc,
    events,
    command,
    dial: async (uri) => {
      setState('outgoing', true);
      await command('dial', uri);
    },
    answer: async () => {
      await command('accept');
    },
    hangup: async () => {
      await command('hangup');
    },
    hold: async () => {
      await command('hold');
    },
    resume: async () => {
      await command('resume');
    },
    sendDtmf: async (digits) => {
      if (!/^[0-9*#A-D]+$/.test(digits)) throw new HarnessError(name, `not DTMF digits: ${JSON.stringify(digits)}`);
      await command('sndcode', digits);
    },
    state: currentState,
    receivedDtmf: () => dtmf,
    waitForState: async (state, timeoutMs = 5000) => {
      // A call that is over has passed every state; only 'closed' can still be waited for on it.
      const reached = (): boolean => callHistory.includes(state) && (state === 'closed' || currentState() !== 'closed');
      if (await waitFor(() => reached() || !proc.isRunning(), timeoutMs, 20) && reached()) return;
      const why = proc.isRunning()
        ? `call not ${state} within ${timeoutMs} ms (latest call: ${callHistory.join(' → ')})`
        : `exited while waiting for ${state}`;
      throw new HarnessError(name, why, proc.logPath, proc.tail());
    },
    waitForEvent,
    waitForDtmf: async (digits, timeoutMs = 5000) => {
      if (await waitFor(() => dtmf.includes(digits), timeoutMs, 20)) return;
      throw new HarnessError(name, `DTMF ${JSON.stringify(digits)} not received within ${timeoutMs} ms (got ${JSON.stringify(dtmf)})`, proc.logPath, proc.tail());
    },
    recordings,
    lastRecording: async (timeoutMs = 3000) => {
      // sndfile finalises the WAV when the call's audio stream is torn down, just after CALL_CLOSED.
      let path: string | undefined;
      const hasAudio = (p: string): boolean => {
        try {
          return statSync(p).size > 44;
        } catch {
          return false;
        }
      };
      const ok = await waitFor(() => (path = recordings().at(-1)) !== undefined && hasAudio(path), timeoutMs, 50);
      if (ok && path) return path;
      throw new HarnessError(name, `no recording in ${recordDir} within ${timeoutMs} ms`, proc.logPath, proc.tail());
    },
    stop: () => {
      stopping ??= (async () => {
        socket.destroy();
        // The first SIGTERM hangs up and unregisters, and baresip waits for the registrar's answer (for ever if the
        // registrar is gone); a second one makes it close its modules, recordings included, and exit at once.
        const signal = (): void => {
          try {
            process.kill(proc.pid, 'SIGTERM');
          } catch {
            // already gone
          }
        };
        if (proc.isRunning()) {
          signal();
          if (!(await waitFor(() => !proc.isRunning(), 1000, 20))) signal();
        }
        await proc.stop();
      })();
      return stopping;
    },
  };
  return phone;
}
