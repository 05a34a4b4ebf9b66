/**
 * The point where a configured gateway comes to life; `switchboard start` calls `start` once the configuration has
 * been checked. It opens the store (seeding the demo operators in demo mode), then the HTTP/WebSocket server for
 * browser sessions (login with CRM tokens) and the SIP listeners. Call routing between them comes next.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { createTokenVerifier } from './auth/token-verifier.js';
import { iceServersFor } from './auth/turn.js';
import { redactConfig } from './config/redact.js';
import type { GatewayConfig } from './config/types.js';
import { startSipListener } from './sip-listener.js';
import { seedDemoOperators } from './store/seed.js';
import { openStore } from './store/store.js';
import { createHttpServer } from './ws/http-server.js';

export interface StartOptions {
  /** Where logs go; by default JSON lines on stdout at the configured level. */
  readonly logger?: Logger | undefined;
}

export interface RunningGateway {
  readonly logger: Logger;
  /** Where browsers connect (`/ws`) and health is reported (`/healthz`). */
  readonly http: { host: string; port: number };
  readonly sip: { udp: { host: string; port: number }; tcp: { host: string; port: number } };
  /** Stops accepting sessions and calls, and releases ports and the database. */
  close(): Promise<void>;
}

export function createLogger(config: GatewayConfig, destination?: DestinationStream): Logger {
  return destination === undefined
    ? pino({ name: 'switchboard', level: config.logging.level })
    : pino({ name: 'switchboard', level: config.logging.level }, destination);
}

export async function start(config: GatewayConfig, options: StartOptions = {}): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger(config);
  // Only the redacted form is ever logged: secrets would otherwise end up in journald and log shippers.
  logger.info({ config: redactConfig(config) }, 'gateway configured');
  const store = await openStore({ kind: 'sqlite', file: config.database.file });
  const opened: { close(): Promise<void> }[] = [store];
  try {
    if (config.demo !== undefined) await seedDemoOperators(store);
    const http = createHttpServer({
      host: config.http.host,
      port: config.http.port,
      verifier: createTokenVerifier(config.auth),
      directory: store.operators,
      logger,
      limits: { maxSessionsPerOperator: config.limits.maxSessionsPerOperator, messagesPerSecond: config.limits.messagesPerSecond },
      sessionInfo: { iceServers: (operator) => iceServersFor(config.ice, operator.id) },
    });
    opened.unshift(http);
    const httpAddress = await http.listen();
    const sip = await startSipListener(config.sip, logger);
    opened.unshift(sip);
    logger.info({ http: httpAddress, sip: { udp: sip.udp, tcp: sip.tcp } }, 'gateway listening');
    let closing: Promise<void> | undefined;
    return {
      logger,
      http: httpAddress,
      sip: { udp: { host: sip.udp.host, port: sip.udp.port }, tcp: { host: sip.tcp.host, port: sip.tcp.port } },
      close() {
        closing ??= closeInOrder(opened).then(() => logger.info('gateway stopped'));
        return closing;
      },
    };
  } catch (error) {
    await closeInOrder(opened);
    throw error;
  }
}

/** Newest first: listeners stop before the store they write to. */
async function closeInOrder(parts: readonly { close(): Promise<void> }[]): Promise<void> {
  for (const part of parts) await part.close();
}
