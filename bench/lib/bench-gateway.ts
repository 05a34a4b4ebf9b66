/**
 * The gateway side of registrar.bench.ts and b2bua.bench.ts: the real gateway (packages/gateway/dist, as
 * `switchboard start --demo` runs it) in a process of its own, so sipp and the bench never share its event loop,
 * with one registrar account per user (all with the same password). Logs go to stdout at info, the production
 * default, which the parent sends to a file. Started by gateway-process.ts.
 *
 * Arguments: <data-dir> <sip-port> <http-port> <realm> <password> <user>...
 * Talks to the parent over IPC: `ready` once listening (or `error`), then runs until `exit`.
 */
import { demoConfig, start } from '@switchboard/gateway';

export type BenchGatewayMessage = { type: 'ready'; udpPort: number; tcpPort: number } | { type: 'error'; error: string };

export type BenchGatewayRequest = { type: 'exit' };

const PASSWORD_ENV = 'BENCH_GATEWAY_PASSWORD';

async function main(): Promise<void> {
  const [dataDir, sipPort, httpPort, realm, password, ...users] = process.argv.slice(2);
  if (password === undefined || users.length === 0) throw new Error('usage: bench-gateway <data-dir> <sip-port> <http-port> <realm> <password> <user>...');
  const config = demoConfig({
    cwd: dataDir,
    env: { [PASSWORD_ENV]: password },
    overrides: {
      http: { host: '127.0.0.1', port: Number(httpPort) },
      sip: { host: '127.0.0.1', port: Number(sipPort) },
      logging: { level: 'info' },
      registrar: { realm, accounts: Object.fromEntries(users.map((user) => [user, { passwordEnv: PASSWORD_ENV }])) },
    },
  });
  const gateway = await start(config);
  const send = (message: BenchGatewayMessage): void => void process.send!(message);
  process.on('message', (request: BenchGatewayRequest) => {
    if (request.type === 'exit') void gateway.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', udpPort: gateway.sip.udp.port, tcpPort: gateway.sip.tcp.port });
}

main().catch((error: unknown) => {
  process.send?.({ type: 'error', error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies BenchGatewayMessage);
  process.exit(1);
});
