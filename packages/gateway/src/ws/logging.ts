/**
 * Logging for the WebSocket layer. This layer never puts a token into a log record; the redaction paths are a
 * second line of defence for records built elsewhere (a verifier logging its input, a request object).
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export const REDACT_PATHS: readonly string[] = [
  'token',
  '*.token',
  'request.token',
  'message.token',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.query.token',
  'headers.authorization',
  'headers.cookie',
];

export function createGatewayLogger(options: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  const merged: LoggerOptions = { ...options, redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } };
  return destination ? pino(merged, destination) : pino(merged);
}

/** A request path for logs: the query is dropped, since it is where careless clients put credentials. */
export function pathOnly(url: string | undefined): string {
  if (url === undefined) return '';
  const cut = url.search(/[?#]/);
  return (cut === -1 ? url : url.slice(0, cut)).slice(0, 256);
}
