/**
 * The point where a configured gateway comes to life; `switchboard start` calls `start` once the configuration
 * has been checked. The HTTP/WebSocket server (fastify + ws, the browser protocol), the SIP transports (UDP and TCP
 * from @switchboard/sip) and the store attach here. Until they do, it only reports the effective configuration, so
 * that the command line, the config file and the login setup can be exercised end to end already.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { redactConfig } from './config/redact.js';
import type { GatewayConfig } from './config/types.js';

export interface StartOptions {
  /** Where logs go; by default JSON lines on stdout at the configured level. */
  readonly logger?: Logger | undefined;
}

export interface RunningGateway {
  readonly logger: Logger;
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
  // HTTP and WebSocket listeners bind config.http, SIP transports bind config.sip, the store opens
  // config.database (seeding config.demo.operators when present): each is started here and closed below.
  return {
    logger,
    async close() {
      logger.info('gateway stopped');
    },
  };
}
