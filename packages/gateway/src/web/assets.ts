/**
 * What the gateway serves to browsers besides the WebSocket: the phone widget and the client SDK bundle (so a CRM
 * loads the code that matches its gateway) and, in demo mode only, a demo page with a token endpoint standing in
 * for a CRM backend.
 *
 * Files are read on each request: they are small, and a rebuilt bundle is picked up without a restart.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { TokenIssuer } from '../auth/token-issuer.js';
import type { Secret } from '../config/secret.js';
import type { OperatorRepository } from '../store/operators.js';

export const CLIENT_BUNDLE_PATH = '/client/switchboard-client.js';
/** The one file a CRM adds to its pages: the phone widget with the SDK inside. */
export const WIDGET_BUNDLE_PATH = '/switchboard.js';

/** Where the client package puts its bundle in this repository; deployments may point elsewhere. */
export const DEFAULT_CLIENT_BUNDLE = fileURLToPath(new URL('../../../client/dist/switchboard-client.js', import.meta.url));
export const DEFAULT_WIDGET_BUNDLE = fileURLToPath(new URL('../../../widget/dist/switchboard.js', import.meta.url));
const DEMO_PAGE = fileURLToPath(new URL('../../demo/index.html', import.meta.url));

/** Demo tokens are short-lived like a real CRM's; the page asks again when the gateway says they expire. */
export const DEMO_TOKEN_TTL_SECONDS = 10 * 60;
/** `?ttl=` may shorten them, down to this, to watch a refresh happen (the gateway warns a minute ahead). */
export const MIN_DEMO_TOKEN_TTL_SECONDS = 30;

/**
 * Tight by default: the SDK needs no inline script, no eval and no third party, so the pages the gateway serves
 * prove it. `connect-src 'self'` covers ws: and wss: to the same host in current browsers.
 */
const DEMO_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; media-src 'self' blob:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface AssetOptions {
  logger: Logger;
  clientBundle?: string;
  widgetBundle?: string;
  /** Present in demo mode: the secret demo tokens are signed with and the operators they may be for. */
  demo?: { secret: Secret; audience: string; operators: Pick<OperatorRepository, 'get'> };
}

export function registerAssets(app: FastifyInstance, options: AssetOptions): void {
  const log = options.logger.child({ component: 'assets' });

  serveBundle(app, CLIENT_BUNDLE_PATH, options.clientBundle ?? DEFAULT_CLIENT_BUNDLE, 'client bundle', log);
  serveBundle(app, WIDGET_BUNDLE_PATH, options.widgetBundle ?? DEFAULT_WIDGET_BUNDLE, 'widget', log);

  const demo = options.demo;
  if (demo === undefined) return;
  const issuer = new TokenIssuer({ secret: demo.secret, audience: demo.audience });

  app.get('/', async (_request, reply) => {
    const body = await readOrNull(DEMO_PAGE);
    if (body === null) return reply.code(500).type('text/plain; charset=utf-8').send('demo page missing\n');
    return securePage(reply).type('text/html; charset=utf-8').send(body);
  });
  app.get('/demo/demo.js', async (_request, reply) => {
    const body = await readOrNull(fileURLToPath(new URL('../../demo/demo.js', import.meta.url)));
    if (body === null) return reply.code(500).type('text/plain; charset=utf-8').send('demo script missing\n');
    return reply.header('Cache-Control', 'no-cache').header('X-Content-Type-Options', 'nosniff').type('text/javascript; charset=utf-8').send(body);
  });

  // What a CRM backend does for its signed-in user: mint a short-lived token. Here anyone who can reach the
  // demo may be any demo operator, which is why this route exists only with --demo (loopback by default).
  app.get<{ Querystring: { operator?: string; ttl?: string } }>('/demo/token', async (request, reply) => {
    const { operator: operatorId, ttl: ttlText } = request.query;
    reply.header('Cache-Control', 'no-store');
    const ttl = ttlText === undefined ? DEMO_TOKEN_TTL_SECONDS : Number(ttlText);
    if (!Number.isInteger(ttl) || ttl < MIN_DEMO_TOKEN_TTL_SECONDS || ttl > DEMO_TOKEN_TTL_SECONDS) {
      return reply.code(400).send({ error: `ttl must be whole seconds from ${MIN_DEMO_TOKEN_TTL_SECONDS} to ${DEMO_TOKEN_TTL_SECONDS}` });
    }
    const operator = typeof operatorId === 'string' && /^[0-9A-Za-z_.-]{1,64}$/.test(operatorId) ? await demo.operators.get(operatorId) : undefined;
    if (operator === undefined) return reply.code(404).send({ error: 'no such demo operator' });
    const { token, expiresAt } = await issuer.issue({ operatorId: operator.id, ttl });
    return reply.send({ token, expiresAt });
  });
}

function serveBundle(app: FastifyInstance, path: string, file: string, what: string, log: Logger): void {
  app.get(path, async (_request, reply) => {
    const body = await readOrNull(file);
    if (body === null) {
      log.error({ file }, `${what} missing; run npm run build`);
      return reply.code(503).type('text/plain; charset=utf-8').send(`${what} not built: run npm run build\n`);
    }
    // Served cross-origin on purpose: CRMs load it from their own pages with a <script> tag.
    return reply
      .header('Cache-Control', 'no-cache')
      .header('Access-Control-Allow-Origin', '*')
      .header('X-Content-Type-Options', 'nosniff')
      .type('text/javascript; charset=utf-8')
      .send(body);
  });
}

function securePage(reply: FastifyReply): FastifyReply {
  return reply
    .header('Content-Security-Policy', DEMO_PAGE_CSP)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .header('Cache-Control', 'no-cache');
}

async function readOrNull(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch {
    return null;
  }
}
