/**
 * The real gateway (`@switchboard/gateway`'s `start`, as `switchboard start --demo` runs it) inside the test process:
 * SQLite in a temporary directory seeded with the demo operators 101-103, HTTP/WebSocket and SIP (UDP and TCP) on
 * free loopback ports, logs as JSON lines in test-output/<suite>/gateway.log. In-process rather than spawned, so a
 * suite can read its configuration and mint login tokens for it without a CLI round trip.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, demoConfig, start, type ConfigOverrides, type Env, type GatewayConfig, type RunningGateway } from '@switchboard/gateway';
import { freePort, LOOPBACK } from './ports.js';
import { HarnessError, suiteDir, tailLines, uniqueComponent } from './processes.js';

export interface GatewayOptions {
  /** Folder under test-output for the log. Default `gateway`. */
  suite?: string;
  /** Log file name; made unique (gateway-2, ...) when a suite starts several. Default `gateway`. */
  component?: string;
  /**
   * Parts of a config file laid over the demo configuration and checked like one (e.g. `{ routing: {
   * ringTimeoutSeconds: 5 } }`). Objects merge key by key with the defaults here: free loopback ports for `http`
   * and `sip`, log level `debug`.
   */
  config?: ConfigOverrides;
  /** Environment the config's `passwordEnv` names are read from (SIP passwords of lines and registrar accounts). */
  env?: Env;
}

export interface TokenOptions {
  /** Lifetime from now; negative for a token that has already expired. Default 3600. */
  ttlSeconds?: number;
  /** Default: the audience the gateway expects. */
  audience?: string;
  /** Default: the gateway's HS256 secret; another one makes a token the gateway must refuse. */
  secret?: string;
}

export interface StartedGateway {
  readonly http: { host: string; port: number };
  readonly sip: RunningGateway['sip'];
  /** Phones registered to the gateway's registrar. */
  readonly location: RunningGateway['location'];
  readonly config: GatewayConfig;
  readonly logPath: string;
  /** A login token for `operatorId`, signed HS256 the way a CRM backend's JWT library would sign it. */
  tokenFor(operatorId: string, options?: TokenOptions): string;
  /** The log so far, one object per JSON line (pino: `level` 20 debug ... 50 error, `msg`). */
  logEntries(): Record<string, unknown>[];
  /** Stops the gateway and removes its database; idempotent. */
  close(): Promise<void>;
}

// A port handed out by freePort() can be taken by another suite of the same namespace before the gateway binds it.
const START_ATTEMPTS = 3;

export async function startGateway(options: GatewayOptions = {}): Promise<StartedGateway> {
  const suite = options.suite ?? 'gateway';
  const component = uniqueComponent(suite, options.component ?? 'gateway');
  const logPath = join(suiteDir(suite), `${component}.log`);
  const fd = openSync(logPath, 'w');
  // Written synchronously line by line: a test that reads the log right after an event finds it there, and nothing
  // is lost if the process dies.
  const destination = { write: (line: string): void => void writeSync(fd, line) };
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-e2e-'));
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    let config: GatewayConfig | undefined;
    try {
      const defaults: ConfigOverrides = {
        http: { host: LOOPBACK, port: await freePort() },
        sip: { host: LOOPBACK, port: await freePort() },
        logging: { level: 'debug' },
      };
      config = demoConfig({ cwd: dir, overrides: mergeOverrides(defaults, options.config ?? {}), env: options.env });
      const running = await start(config, { logger: createLogger(config, destination) });
      return started(running, config, logPath, () => {
        closeSync(fd);
        rmSync(dir, { recursive: true, force: true });
      });
    } catch (error) {
      lastError = error;
      if (config === undefined || !/EADDRINUSE/.test(String(error))) break;
    }
  }
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new HarnessError(component, `could not start: ${reason}`, logPath, tailLines(logPath));
}

function started(running: RunningGateway, config: GatewayConfig, logPath: string, release: () => void): StartedGateway {
  let closing: Promise<void> | undefined;
  return {
    http: running.http,
    sip: running.sip,
    location: running.location,
    config,
    logPath,
    tokenFor(operatorId, tokenOptions = {}) {
      let secret: Uint8Array;
      if (tokenOptions.secret !== undefined) secret = Buffer.from(tokenOptions.secret, 'utf8');
      else if (config.auth.kind === 'hs256') secret = config.auth.secret.bytes();
      else throw new Error('tokenFor needs a secret when the gateway verifies tokens by JWKS');
      const now = Math.floor(Date.now() / 1000);
      return signHs256(
        { sub: operatorId, aud: tokenOptions.audience ?? config.auth.audience, iat: now, exp: now + (tokenOptions.ttlSeconds ?? 3600), jti: randomUUID() },
        secret,
      );
    },
    logEntries() {
      const entries: Record<string, unknown>[] = [];
      for (const line of readFileSync(logPath, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        try {
          entries.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // A line being written right now; the next read has it whole.
        }
      }
      return entries;
    },
    close() {
      closing ??= running.close().finally(release);
      return closing;
    },
  };
}

/** RFC 7519 compact JWS with HS256, built by hand so the token owes nothing to the code that verifies it. */
function signHs256(claims: Record<string, unknown>, secret: Uint8Array): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeOverrides(base: ConfigOverrides, over: ConfigOverrides): ConfigOverrides {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeOverrides(current, value) : value;
  }
  return out;
}
