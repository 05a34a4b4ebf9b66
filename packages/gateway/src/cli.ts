#!/usr/bin/env node
/**
 * The `switchboard` command. Exit codes: 0 done, 1 the gateway failed while running, 2 the command line or the
 * configuration is wrong (nothing was started). Results go to stdout and everything for people to stderr, so
 * `TOKEN=$(switchboard token --operator 101)` captures the token alone.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TtlError, formatSeconds, parseTtl } from './auth/ttl.js';
import { TokenIssuer } from './auth/token-issuer.js';
import { isOperatorId, OPERATOR_ID_HINT } from './auth/operator-id.js';
import { ConfigError } from './config/config-error.js';
import { demoConfig } from './config/demo.js';
import { loadConfig, parseHostPort } from './config/load.js';
import type { ConfigOverrides, Env, GatewayConfig, ListenAddress } from './config/types.js';
import { isMainModule } from './main-module.js';
import { start as startGateway, type RunningGateway } from './server.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Env;
  readonly cwd: string;
  /** The server hook; replaceable so tests can run `start` without binding anything. */
  readonly start: (config: GatewayConfig) => Promise<RunningGateway>;
  /** Registers what to do on SIGINT/SIGTERM; left out in tests, which must not touch the runner's signals. */
  readonly onStopSignal?: ((stop: () => void) => void) | undefined;
}

const USAGE = `Usage: switchboard <command> [options]

Commands:
  start   run the gateway
  token   print a login token for an operator (HS256 setups)

Run "switchboard <command> --help" for a command's options.
`;

const START_USAGE = `Usage: switchboard start [--config FILE] [--demo] [--http HOST:PORT] [--sip HOST:PORT]

  --config FILE     JSON config file (default: built-in defaults)
  --demo            demo setup: SQLite and a generated login secret under ./data, operators 101-103
  --http HOST:PORT  HTTP and WebSocket listener (default 127.0.0.1:8080)
  --sip HOST:PORT   SIP listener, UDP and TCP (default 127.0.0.1:5060)

Secrets come from environment variables, never from the file: SWITCHBOARD_TOKEN_SECRET (HS256 logins) and
SWITCHBOARD_TURN_SECRET (TURN credentials), unless the config names other variables.
`;

const TOKEN_USAGE = `Usage: switchboard token --operator ID [--ttl 1h] [--config FILE | --demo]

  --operator ID   the operator id (the token's "sub")
  --ttl DURATION  lifetime: 90s, 15m, 1h, 1h30m (default 1h; at most the configured maximum, 24h)
  --config FILE   the gateway's config file, for the audience and the secret's variable
  --demo          use the demo setup's secret (./data/demo-secret)

Prints the token on stdout. The secret is read from SWITCHBOARD_TOKEN_SECRET (or the variable the config names).
`;

class UsageError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(message);
  }
}

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
        io.stderr(USAGE);
        return EXIT_USAGE;
      case 'help':
      case '--help':
      case '-h':
        io.stdout(USAGE);
        return EXIT_OK;
      case 'start':
        return await runStart(rest, io);
      case 'token':
        return await runToken(rest, io);
      default:
        throw new UsageError('', `unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    return report(error, command, io);
  }
}

function report(error: unknown, command: string | undefined, io: CliIo): number {
  if (error instanceof UsageError) {
    const name = error.command === '' ? 'switchboard' : `switchboard ${error.command}`;
    const help = error.command === '' ? 'switchboard --help' : `switchboard ${error.command} --help`;
    io.stderr(`${name}: ${error.message}\nRun "${help}" for usage.\n`);
    return EXIT_USAGE;
  }
  if (error instanceof ConfigError) {
    const lines = error.issues.map((i) => `  ${i.path === '' ? '' : `${i.path}: `}${i.message}`);
    io.stderr(`switchboard${command === undefined ? '' : ` ${command}`}: invalid configuration\n${lines.join('\n')}\n`);
    return EXIT_USAGE;
  }
  io.stderr(`switchboard: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT_FAILURE;
}

function parse<T extends Record<string, { type: 'string' | 'boolean' }>>(command: string, args: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...args], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false })
      .values as { [K in keyof T]?: T[K]['type'] extends 'string' ? string : boolean } & { help?: boolean };
  } catch (error) {
    // node's messages mention "parseArgs" and internals; the first sentence is what a person needs.
    const message = (error as Error).message.split('. ')[0]?.replace(/^Unexpected argument/, 'unexpected argument') ?? 'bad arguments';
    throw new UsageError(command, message.charAt(0).toLowerCase() + message.slice(1));
  }
}

function loadFor(command: string, values: { config?: string | undefined; demo?: boolean | undefined }, overrides: ConfigOverrides, io: CliIo): GatewayConfig {
  if (values.demo === true && values.config !== undefined) {
    throw new UsageError(command, '--demo and --config cannot be used together');
  }
  if (values.demo === true) return demoConfig({ cwd: io.cwd, overrides });
  const file = values.config === undefined ? undefined : resolve(io.cwd, values.config);
  return loadConfig({ file, env: io.env, overrides });
}

async function runStart(args: readonly string[], io: CliIo): Promise<number> {
  const values = parse('start', args, {
    config: { type: 'string' },
    demo: { type: 'boolean' },
    http: { type: 'string' },
    sip: { type: 'string' },
  });
  if (values.help === true) {
    io.stdout(START_USAGE);
    return EXIT_OK;
  }
  const overrides: Record<string, unknown> = {};
  if (values.http !== undefined) overrides['http'] = parseHostPort(values.http, '--http');
  if (values.sip !== undefined) overrides['sip'] = parseHostPort(values.sip, '--sip');
  const config = loadFor('start', values, overrides, io);

  io.stderr(describe(config));
  const running = await io.start(config);
  io.onStopSignal?.(() => {
    void running.close().finally(() => process.exit(EXIT_OK));
  });
  return EXIT_OK;
}

async function runToken(args: readonly string[], io: CliIo): Promise<number> {
  const values = parse('token', args, {
    operator: { type: 'string' },
    ttl: { type: 'string' },
    config: { type: 'string' },
    demo: { type: 'boolean' },
  });
  if (values.help === true) {
    io.stdout(TOKEN_USAGE);
    return EXIT_OK;
  }
  if (values.operator === undefined) throw new UsageError('token', '--operator is required');
  if (!isOperatorId(values.operator)) throw new UsageError('token', `--operator: must be ${OPERATOR_ID_HINT}`);

  const config = loadFor('token', values, {}, io);
  if (config.auth.kind !== 'hs256') {
    throw new UsageError('token', 'this gateway verifies logins against a JWKS (auth.jwks); tokens come from the key holder, not from a shared secret');
  }
  let ttlSeconds: number | undefined;
  if (values.ttl !== undefined) {
    try {
      ttlSeconds = parseTtl(values.ttl, config.auth.maxTokenLifetimeSeconds);
    } catch (error) {
      if (error instanceof TtlError) throw new UsageError('token', `--ttl: ${error.message}`);
      throw error;
    }
  }
  const issuer = new TokenIssuer({
    secret: config.auth.secret,
    audience: config.auth.audience,
    maxLifetimeSeconds: config.auth.maxTokenLifetimeSeconds,
  });
  const { token } = await issuer.issue({ operatorId: values.operator, ttl: ttlSeconds });
  io.stdout(`${token}\n`);
  return EXIT_OK;
}

function address(listen: ListenAddress): string {
  return listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}

/** What `start` is about to run, for the person who typed the command. Never includes a secret. */
export function describe(config: GatewayConfig): string {
  const auth =
    config.auth.kind === 'hs256'
      ? `HS256 shared secret (${config.auth.secret.source})`
      : `JWKS ${config.auth.url} (${config.auth.algorithms.join(', ')})`;
  const ice = [
    config.ice.stun.length > 0 ? `STUN ${config.ice.stun.join(' ')}` : '',
    config.ice.turn === undefined ? '' : `TURN ${config.ice.turn.urls.join(' ')} (credentials valid ${formatSeconds(config.ice.turn.ttlSeconds)})`,
  ].filter((s) => s !== '');
  const lines = [
    `switchboard: starting${config.source === undefined ? '' : ` with ${config.source}`}${config.demo !== undefined ? ' (demo)' : ''}`,
    `  HTTP and WebSocket  http://${address(config.http)}`,
    `  SIP (UDP and TCP)   ${address(config.sip)}`,
    `  database            ${config.database.kind} ${config.database.file}`,
    `  logins              ${auth}, audience "${config.auth.audience}", tokens valid at most ${formatSeconds(config.auth.maxTokenLifetimeSeconds)}`,
    `  ICE servers         ${ice.length > 0 ? ice.join('; ') : 'none (host candidates only)'}`,
  ];
  if (config.demo !== undefined) {
    const ids = config.demo.operators.map((o) => o.id);
    lines.push(`  demo operators      ${ids.join(', ')} (a token: switchboard token --demo --operator ${ids[0] ?? '101'})`);
    lines.push(`  demo page           http://${address(config.http)}/ (sign in as ${ids[0] ?? '101'} in one tab, ${ids[1] ?? '102'} in another, and call)`);
  }
  return `${lines.join('\n')}\n`;
}

function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    start: (config) => startGateway(config),
    onStopSignal: (stop) => {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
  };
}

if (isMainModule(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`switchboard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT_FAILURE;
    },
  );
}
