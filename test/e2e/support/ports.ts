import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

export const LOOPBACK = '127.0.0.1';

export type Transport = 'udp' | 'tcp';

// Ports already given to a caller in this process: bind(0) may return a port again once we released it, while
// the peer it was meant for has not bound it yet.
const handedOut = new Set<number>();

function bindUdp(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

function bindTcp(host: string, port: number): Promise<() => Promise<void>> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.removeListener('error', reject);
      resolve(() => new Promise<void>((done) => server.close(() => done())));
    });
  });
}

// Listening ports come from a band below every range something else draws from: the kernel's ephemeral range
// (32768+), where browsers, the gateway's outgoing sockets and its DNS queries bind port 0 at any moment, baresip's
// RTP (16000-23999, support/baresip.ts) and rtpengine's media (24000-31999, support/rtpengine.ts). A port probed free
// here stays free until its peer binds it unless another freePort() of a parallel test file draws the same number.
const LISTEN_BASE = 10_000;
const LISTEN_TOP = 16_000;

/** A port on `host` that is free for both UDP and TCP right now (SIP peers listen on both with one number). */
export async function freePort(host: string = LOOPBACK): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = LISTEN_BASE + Math.floor(Math.random() * (LISTEN_TOP - LISTEN_BASE));
    if (handedOut.has(port)) continue;
    let udp: UdpSocket | undefined;
    let closeTcp: (() => Promise<void>) | undefined;
    try {
      udp = await bindUdp(host, port);
      closeTcp = await bindTcp(host, port);
    } catch {
      // taken by someone else for UDP or TCP: try another number
    }
    udp?.close();
    if (closeTcp) await closeTcp();
    if (udp && closeTcp) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no port in ${LISTEN_BASE}-${LISTEN_TOP - 1} free for both UDP and TCP on ${host} after 50 attempts`);
}

export async function freePorts(count: number, host: string = LOOPBACK): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort(host));
  return ports;
}

/**
 * Whether a socket of this namespace is bound to `port` (any local address), read from /proc/net: unlike a bind()
 * probe it cannot take the port from a peer that is about to bind it, and unlike connecting the peer sees nothing.
 */
function boundInProc(files: string[], port: number, listeningOnly: boolean): boolean {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // fields: sl local_address rem_address st ...; TCP state 0A is LISTEN
      if (fields[1]?.endsWith(hexPort) && (!listeningOnly || fields[3] === '0A')) return true;
    }
  }
  return false;
}

/** True when some process of this namespace has bound this UDP port. */
export function isUdpPortBound(port: number): boolean {
  return boundInProc(['/proc/net/udp', '/proc/net/udp6'], port, false);
}

/** True when some process of this namespace listens on this TCP port. */
export function isTcpPortBound(port: number): boolean {
  return boundInProc(['/proc/net/tcp', '/proc/net/tcp6'], port, true);
}

/** True when a TCP connection to host:port is accepted within timeoutMs. */
export function tcpAccepts(port: number, host: string = LOOPBACK, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => finish(false), timeoutMs);
    function finish(ok: boolean): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    }
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

function optionsRequest(host: string, port: number, transport: Transport, localPort: number): string {
  const id = randomBytes(6).toString('hex');
  return [
    `OPTIONS sip:${host}:${port};transport=${transport} SIP/2.0`,
    `Via: SIP/2.0/${transport.toUpperCase()} ${host}:${localPort};branch=z9hG4bK-probe-${id};rport`,
    'Max-Forwards: 70',
    `From: <sip:probe@${host}>;tag=${id}`,
    `To: <sip:${host}:${port}>`,
    `Call-ID: probe-${id}@${host}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function statusOf(text: string): number | undefined {
  const match = /^SIP\/2\.0 (\d{3}) /.exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * Sends one SIP OPTIONS to host:port and resolves with the status code of the first response, or undefined when
 * nothing answered within timeoutMs. Proves a SIP peer is not only bound but also routing requests.
 */
export function sipOptionsPing(
  port: number,
  { host = LOOPBACK, transport = 'udp', timeoutMs = 500 }: { host?: string; transport?: Transport; timeoutMs?: number } = {},
): Promise<number | undefined> {
  return new Promise((resolve) => {
    let finished = false;
    const cleanups: Array<() => void> = [];
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    function finish(status: number | undefined): void {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const cleanup of cleanups) cleanup();
      resolve(status);
    }
    if (transport === 'udp') {
      const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      cleanups.push(() => socket.close());
      socket.on('error', () => finish(undefined));
      socket.on('message', (msg) => {
        const status = statusOf(msg.toString('latin1'));
        if (status !== undefined && status >= 200) finish(status);
      });
      socket.bind({ address: host, port: 0 }, () => {
        socket.send(optionsRequest(host, port, 'udp', socket.address().port), port, host);
      });
    } else {
      const socket = connect({ host, port });
      cleanups.push(() => socket.destroy());
      let received = '';
      socket.on('error', () => finish(undefined));
      socket.on('connect', () => socket.write(optionsRequest(host, port, 'tcp', socket.localPort ?? 0)));
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        const final = [...received.matchAll(/(?:^|\r\n)SIP\/2\.0 (\d{3}) /g)].map((m) => Number(m[1])).find((s) => s >= 200);
        if (final !== undefined) finish(final);
      });
    }
  });
}
