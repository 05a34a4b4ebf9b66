/**
 * The gateway side of registrar.bench.ts: the real gateway (packages/gateway/dist, as `switchboard start --demo`
 * runs it) in a process of its own, so the load generator's work never shares its event loop, with one registrar
 * account. Logs go to stdout at info, the production default, which the parent sends to a file.
 *
 * Arguments: <data-dir> <sip-port> <http-port> <user> <password> <realm>
 * Talks to the parent over IPC: `ready` once listening (or `error`), then runs until `exit`.
 */
import { demoConfig, start } from '@switchboard/gateway';

export type RegistrarGatewayMessage =
  | { type: 'ready'; udpPort: number; tcpPort: number }
  | { type: 'error'; error: string };

export type RegistrarGatewayRequest = { type: 'exit' };

const PASSWORD_ENV = 'BENCH_REGISTRAR_PASSWORD';

async function main(): Promise<void> {
  const [dataDir, sipPort, httpPort, user, password, realm] = process.argv.slice(2);
  if (realm === undefined) throw new Error('usage: registrar-gateway <data-dir> <sip-port> <http-port> <user> <password> <realm>');
  const config = demoConfig({
    cwd: dataDir,
    env: { [PASSWORD_ENV]: password },
    overrides: {
      http: { host: '127.0.0.1', port: Number(httpPort) },
      sip: { host: '127.0.0.1', port: Number(sipPort) },
      logging: { level: 'info' },
      registrar: { realm, accounts: { [user!]: { passwordEnv: PASSWORD_ENV } } },
    },
  });
  const gateway = await start(config);
  const send = (message: RegistrarGatewayMessage): void => void process.send!(message);
  process.on('message', (request: RegistrarGatewayRequest) => {
    if (request.type === 'exit') void gateway.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', udpPort: gateway.sip.udp.port, tcpPort: gateway.sip.tcp.port });
}

main().catch((error: unknown) => {
  process.send?.({ type: 'error', error: error instanceof Error ? error.stack ?? error.message : String(error) } satisfies RegistrarGatewayMessage);
  process.exit(1);
});
