/**
 * Runs the shared conformance suite against every protocol, over IPv4 and (where the host has it) IPv6 loopback.
 * TLS and WSS use a throwaway self-signed certificate valid for localhost, 127.0.0.1 and ::1.
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { TransportProtocol } from '../transport/transport.js';
import { createTransport } from './create-transport.js';
import { transportConformance } from './test-support/transport-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'sip-transport-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
execFileSync('openssl', [
  'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
  '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
  '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
], { stdio: 'ignore' });
const key = readFileSync(join(dir, 'key.pem'), 'utf8');
const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');

const ipv6 = await new Promise<boolean>((resolve) => {
  const socket = createSocket('udp6');
  socket.once('error', () => resolve(false));
  socket.bind(0, '::1', () => socket.close(() => resolve(true)));
});

const protocols: TransportProtocol[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];
for (const host of ipv6 ? ['127.0.0.1', '::1'] : ['127.0.0.1']) {
  for (const protocol of protocols) {
    const secure = protocol === 'tls' || protocol === 'wss';
    transportConformance({
      protocol,
      host,
      ...(secure ? { ca: cert, distrust: { tls: { key, cert } }, serverTls: { key, cert } } : {}),
      create: (overrides = {}) => createTransport({
        protocol, host, port: 0, connectTimeout: 3000,
        ...(secure ? { tls: { key, cert, ca: cert } } : {}),
        ...overrides,
      }),
    });
  }
}
