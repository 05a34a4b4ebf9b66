#!/usr/bin/env node
/**
 * `npm start`: the gateway in demo mode and the demo CRM in one process. The two share what a real deployment
 * shares between a CRM and its gateway, and nothing else:
 *
 * - the HS256 login secret (the demo's ./data/demo-secret): the gateway verifies with it, the CRM signs with it;
 * - a bearer token for contact lookups, generated afresh at every start: the gateway sends it, the CRM checks it;
 * - each other's URLs: the CRM's pages load the widget from the gateway, the gateway asks the CRM who is calling.
 *
 * Exit codes: 0 stopped by a signal, 1 failed while starting or running, 2 bad command line or configuration.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  DEFAULT_DEMO_DATA_DIR,
  DEMO_OPERATORS,
  Secret,
  demoConfig,
  ensureDemoSecret,
  isMainModule,
  parseHostPort,
  start as startGateway,
  type RunningGateway,
} from '@switchboard/gateway';
import { createDemoCrm, LOOKUP_PATH } from './crm-app.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export const USAGE = `Usage: node examples/demo-crm/dist/main.js [--crm HOST:PORT] [--http HOST:PORT] [--sip HOST:PORT] [--data DIR]

  --crm HOST:PORT   the demo CRM (default 127.0.0.1:3000)
  --http HOST:PORT  the gateway's HTTP and WebSocket listener (default 127.0.0.1:8080)
  --sip HOST:PORT   the gateway's SIP listener, UDP and TCP (default 127.0.0.1:5060)
  --data DIR        the demo's database and login secret (default ./data)
`;

/** Lookups must not hold up ringing for long; the answer for a number is kept a minute. */
const LOOKUP_TIMEOUT_MS = 1500;
const LOOKUP_CACHE_SECONDS = 60;
const LOOKUP_CACHE_SIZE = 1000;

export class UsageError extends Error {}

export interface Flags {
  readonly crm: { host: string; port: number };
  readonly http?: { host: string; port: number } | undefined;
  readonly sip?: { host: string; port: number } | undefined;
  readonly dataDir: string;
  readonly help: boolean;
}

export function parseFlags(argv: readonly string[]): Flags {
  let values: { crm?: string; http?: string; sip?: string; data?: string; help?: boolean };
  try {
    values = parseArgs({
      args: [...argv],
      options: { crm: { type: 'string' }, http: { type: 'string' }, sip: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message.split('. ')[0] ?? 'bad arguments');
  }
  const hostPort = (text: string | undefined, flag: string) => {
    if (text === undefined) return undefined;
    let parsed: { host: string; port: number };
    try {
      parsed = parseHostPort(text, flag);
    } catch (error) {
      throw new UsageError(error instanceof ConfigError ? error.message : String(error));
    }
    if (parsed.port < 1 || parsed.port > 65535) throw new UsageError(`${flag}: the port must be 1-65535`);
    return parsed;
  };
  return {
    crm: hostPort(values.crm, '--crm') ?? { host: '127.0.0.1', port: 3000 },
    http: hostPort(values.http, '--http'),
    sip: hostPort(values.sip, '--sip'),
    dataDir: values.data ?? DEFAULT_DEMO_DATA_DIR,
    help: values.help === true,
  };
}

/** A URL for a listening address: wildcard hosts are reachable locally on loopback. */
function urlOf(address: { host: string; port: number }): string {
  const host = address.host === '0.0.0.0' ? '127.0.0.1' : address.host === '::' ? '::1' : address.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

export async function main(argv: readonly string[], onStop: (stop: () => Promise<void>) => void): Promise<number> {
  let flags: Flags;
  try {
    flags = parseFlags(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`demo-crm: ${error.message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (flags.help) {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }

  const dataDir = resolve(process.cwd(), flags.dataDir);
  let secret: string;
  let base: ReturnType<typeof demoConfig>;
  try {
    // The CRM reads the shared secret from where the demo keeps it, as a real CRM reads it from its own settings.
    secret = ensureDemoSecret(dataDir).secret;
    // The CRM signs operators in and mints their tokens: the gateway's open token endpoint must not exist beside it.
    base = demoConfig({ dataDir, testPage: false, overrides: { ...(flags.http && { http: flags.http }), ...(flags.sip && { sip: flags.sip }) } });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`demo-crm: invalid configuration\n${error.issues.map((i) => `  ${i.path === '' ? '' : `${i.path}: `}${i.message}\n`).join('')}`);
    return EXIT_USAGE;
  }

  const crmUrl = urlOf(flags.crm);
  const gatewayUrl = urlOf(base.http);
  const lookupToken = randomBytes(32).toString('base64url');
  const config = {
    ...base,
    lookup: {
      url: `${crmUrl}${LOOKUP_PATH}?number={number}`,
      token: new Secret(lookupToken, 'generated at start'),
      timeoutMs: LOOKUP_TIMEOUT_MS,
      cacheSeconds: LOOKUP_CACHE_SECONDS,
      cacheSize: LOOKUP_CACHE_SIZE,
    },
  };

  const crm = createDemoCrm({
    secret,
    gatewayHttpUrl: gatewayUrl,
    lookupToken,
    operators: DEMO_OPERATORS,
    publicUrl: crmUrl,
    logger: { level: 'warn' },
  });
  let gateway: RunningGateway | undefined;
  try {
    // The CRM first: the gateway may ask it about a caller as soon as it listens.
    await crm.listen({ host: flags.crm.host, port: flags.crm.port });
    gateway = await startGateway(config);
  } catch (error) {
    await crm.close();
    process.stderr.write(`demo-crm: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILURE;
  }

  const running = gateway;
  const ids = DEMO_OPERATORS.map((o) => o.id);
  process.stderr.write(
    [
      '',
      `Demo CRM: ${crmUrl}/  (open it in two browsers, sign in as ${ids[0]} and ${ids[1]})`,
      `Gateway:  ${urlOf(running.http)}  (widget ${urlOf(running.http)}/switchboard.js, WebSocket /ws)`,
      `SIP:      ${running.sip.udp.host}:${running.sip.udp.port} (UDP and TCP)`,
      `Operators ${ids.join(', ')}; data in ${dataDir}`,
      'Ctrl+C stops both.',
      '',
    ].join('\n'),
  );

  let stopping: Promise<void> | undefined;
  onStop(() => {
    stopping ??= (async () => {
      await running.close();
      await crm.close();
    })();
    return stopping;
  });
  return EXIT_OK;
}

if (isMainModule(import.meta.url)) {
  const onStop = (stop: () => Promise<void>) => {
    let signalled = false;
    const handler = () => {
      // A second Ctrl+C means "now", whatever is still closing.
      if (signalled) process.exit(EXIT_FAILURE);
      signalled = true;
      stop().then(
        () => process.exit(EXIT_OK),
        (error: unknown) => {
          process.stderr.write(`demo-crm: ${error instanceof Error ? error.message : String(error)}\n`);
          process.exit(EXIT_FAILURE);
        },
      );
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  };
  main(process.argv.slice(2), onStop).then(
    (code) => {
      // Not process.exit: what is written to stderr gets out first, and nothing is left running on failure.
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`demo-crm: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}
