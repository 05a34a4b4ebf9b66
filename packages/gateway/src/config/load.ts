/**
 * Reading, checking and resolving the configuration. Order: the file (or nothing), command-line overrides laid over
 * it, defaults, the schema, then what a schema cannot say (secrets present in the environment and long enough, one
 * way of verifying logins, JWKS over https). Every problem found is reported, each with its field path.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { ConfigError, type ConfigIssue } from './config-error.js';
import {
  ConfigFileSchema,
  DEFAULT_TOKEN_SECRET_ENV,
  expectationOf,
  type ConfigFile,
} from './schema.js';
import { resolveSipSide } from './resolve-sip.js';
import { PbxSchema } from './sip-schema.js';
import { Secret } from './secret.js';
import type { AuthConfig, ConfigOverrides, DemoSettings, Env, GatewayConfig, IceConfig, LookupConfig, SecureListenConfig } from './types.js';

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output. */
export const MIN_HS256_SECRET_BYTES = 32;
/** A bearer token shorter than this could be guessed by whoever can reach the CRM. */
export const MIN_LOOKUP_TOKEN_BYTES = 16;
export const MIN_TURN_SECRET_BYTES = 16;

/** A config file is a page of JSON; anything much larger is the wrong file. */
const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** Strings longer than this are shortened when echoed in an error. */
const MAX_ECHO_LENGTH = 80;

const SECRET_LIKE_KEY = /secret|passw|credential|token|key/i;

export interface LoadConfigOptions {
  /** The JSON config file; without it every setting takes its default. */
  readonly file?: string | undefined;
  /** Where secrets are read from (process.env in production). */
  readonly env: Env;
  readonly overrides?: ConfigOverrides | undefined;
}

export interface ResolveConfigOptions {
  readonly env: Env;
  readonly overrides?: ConfigOverrides | undefined;
  /** Relative paths in the config (the database file) are resolved against this directory. */
  readonly baseDir: string;
  readonly source?: string | undefined;
  readonly demo?: DemoSettings | undefined;
}

export function loadConfig(options: LoadConfigOptions): GatewayConfig {
  const raw = options.file === undefined ? {} : readConfigFile(options.file);
  const baseDir = options.file === undefined ? process.cwd() : dirname(resolve(options.file));
  return resolveConfig(raw, { env: options.env, overrides: options.overrides, baseDir, source: options.file });
}

export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.length > MAX_CONFIG_FILE_BYTES) {
      throw ConfigError.at('', `${file}: the config file is larger than ${MAX_CONFIG_FILE_BYTES} bytes`);
    }
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw ConfigError.at('', `${file}: cannot read the config file (${code})`);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
  } catch (error) {
    // V8's message quotes the text around the mistake; only the position is reported, in case a secret is there.
    const message = String((error as Error).message);
    const position = /position (\d+)/.exec(message)?.[1];
    // Without a position, V8 names the one unexpected character: that much may be shown.
    const token = /^Unexpected token ('.')/.exec(message)?.[1];
    const where =
      position !== undefined ? ` at ${lineAndColumn(text, Number(position))}` : token !== undefined ? ` (unexpected ${token})` : '';
    throw ConfigError.at('', `${file}: not valid JSON${where}`);
  }
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** Checks a parsed config file (or the demo's) and turns it into the gateway's configuration. */
export function resolveConfig(raw: unknown, options: ResolveConfigOptions): GatewayConfig {
  if (!isPlainObject(raw)) throw ConfigError.at('', 'the config file must hold a JSON object');
  const merged = options.overrides === undefined ? structuredClone(raw) : deepMerge(raw, options.overrides);
  const withDefaults = Value.Default(ConfigFileSchema, merged);
  // Value.Default stops at records: each PBX gets its own defaults here.
  const pbx = isPlainObject(withDefaults) ? withDefaults['pbx'] : undefined;
  if (isPlainObject(pbx)) {
    for (const [name, entry] of Object.entries(pbx)) if (isPlainObject(entry)) pbx[name] = Value.Default(PbxSchema, entry);
  }

  const schemaIssues = issuesFromSchema(withDefaults);
  if (schemaIssues.length > 0) throw new ConfigError(schemaIssues);
  const file = withDefaults as ConfigFile;

  const issues: ConfigIssue[] = [];
  const auth = resolveAuth(file.auth, options.env, issues);
  const ice = resolveIce(file.ice, options.env, issues);
  const sipSide = resolveSipSide(file, options.env, issues);
  const lookup = resolveLookup(file.lookup, options.env, issues);
  checkSipPorts(file.sip, issues);
  if (issues.length > 0 || auth === undefined) throw new ConfigError(issues);

  const databaseFile =
    file.database.file === ':memory:' || isAbsolute(file.database.file)
      ? file.database.file
      : resolve(options.baseDir, file.database.file);

  return {
    source: options.source,
    http: { host: file.http.host, port: file.http.port },
    sip: {
      host: file.sip.host,
      port: file.sip.port,
      ...(file.sip.tls === undefined ? {} : { tls: secureListen(file.sip.tls, options.baseDir) }),
      ...(file.sip.ws === undefined ? {} : { ws: { port: file.sip.ws.port } }),
      ...(file.sip.wss === undefined ? {} : { wss: secureListen(file.sip.wss, options.baseDir) }),
    },
    database: { kind: file.database.kind, file: databaseFile },
    auth,
    ice,
    routing: { ringTimeoutSeconds: file.routing.ringTimeoutSeconds, callWaiting: file.routing.callWaiting },
    logging: { level: file.logging.level },
    limits: {
      maxSessionsPerOperator: file.limits.maxSessionsPerOperator,
      messagesPerSecond: file.limits.messagesPerSecond,
    },
    demo: options.demo,
    ...sipSide,
    lookup,
  };
}

function resolveLookup(lookup: ConfigFile['lookup'], env: Env, issues: ConfigIssue[]): LookupConfig | undefined {
  if (lookup === undefined) return undefined;
  const problem = checkHttpsUnlessLoopback(lookup.url);
  if (problem !== undefined) issues.push({ path: 'lookup.url', message: problem });
  const token =
    lookup.tokenEnv === undefined
      ? undefined
      : readSecret(env, lookup.tokenEnv, MIN_LOOKUP_TOKEN_BYTES, 'lookup.tokenEnv', issues, (name) => `names environment variable ${name}, which is not set`);
  const { url, timeoutMs, cacheSeconds, cacheSize } = lookup;
  return { url, token, timeoutMs, cacheSeconds, cacheSize };
}

/** TCP, TLS, WS and WSS all listen on TCP ports of the same address, so no two may share one. */
function checkSipPorts(sip: ConfigFile['sip'], issues: ConfigIssue[]): void {
  const taken = new Map<number, string>([[sip.port, 'sip.port (TCP)']]);
  for (const [name, entry] of [['tls', sip.tls], ['ws', sip.ws], ['wss', sip.wss]] as const) {
    if (entry === undefined) continue;
    const other = taken.get(entry.port);
    if (other !== undefined) issues.push({ path: `sip.${name}.port`, message: `is already used by ${other}` });
    else taken.set(entry.port, `sip.${name}.port`);
  }
}

function secureListen(entry: { port: number; certFile: string; keyFile: string }, baseDir: string): SecureListenConfig {
  return { port: entry.port, certFile: resolve(baseDir, entry.certFile), keyFile: resolve(baseDir, entry.keyFile) };
}

function resolveAuth(auth: ConfigFile['auth'], env: Env, issues: ConfigIssue[]): AuthConfig | undefined {
  const common = {
    audience: auth.audience,
    maxTokenLifetimeSeconds: auth.maxTokenLifetimeSeconds,
    clockToleranceSeconds: auth.clockToleranceSeconds,
  };
  if (auth.hs256 !== undefined && auth.jwks !== undefined) {
    issues.push({ path: 'auth', message: 'set either hs256 or jwks, not both' });
    return undefined;
  }
  if (auth.jwks !== undefined) {
    const urlIssue = checkHttpsUnlessLoopback(auth.jwks.url);
    if (urlIssue !== undefined) {
      issues.push({ path: 'auth.jwks.url', message: urlIssue });
      return undefined;
    }
    return { kind: 'jwks', url: auth.jwks.url, algorithms: [...auth.jwks.algorithms], ...common };
  }
  const implicit = auth.hs256 === undefined;
  const secretEnv = auth.hs256?.secretEnv ?? DEFAULT_TOKEN_SECRET_ENV;
  const secret = readSecret(env, secretEnv, MIN_HS256_SECRET_BYTES, 'auth.hs256.secretEnv', issues, (name) =>
    implicit
      ? `environment variable ${name} is not set (it holds the HS256 secret shared with the CRM; or configure auth.jwks)`
      : `environment variable ${name} is not set`,
  );
  return secret === undefined ? undefined : { kind: 'hs256', secret, ...common };
}

function resolveIce(ice: ConfigFile['ice'], env: Env, issues: ConfigIssue[]): IceConfig {
  if (ice.turn === undefined) return { stun: [...ice.stun], turn: undefined };
  const secret = readSecret(
    env,
    ice.turn.secretEnv,
    MIN_TURN_SECRET_BYTES,
    'ice.turn.secretEnv',
    issues,
    (name) => `environment variable ${name} is not set (it holds the TURN server's static-auth-secret)`,
  );
  return {
    stun: [...ice.stun],
    turn: secret === undefined ? undefined : { urls: [...ice.turn.urls], secret, ttlSeconds: ice.turn.ttlSeconds },
  };
}

function readSecret(
  env: Env,
  name: string,
  minBytes: number,
  path: string,
  issues: ConfigIssue[],
  notSet: (name: string) => string,
): Secret | undefined {
  const value = env[name];
  if (value === undefined || value === '') {
    issues.push({
      path,
      message: looksLikeName(name)
        ? notSet(name)
        : 'names no environment variable that is set, and looks like a secret itself: put the secret in an environment variable and its name here',
    });
    return undefined;
  }
  if (Buffer.byteLength(value, 'utf8') < minBytes) {
    // The length is not echoed either: it narrows a brute-force search for nothing.
    issues.push({ path, message: `the secret in environment variable ${name} is too short: use at least ${minBytes} bytes (e.g. openssl rand -base64 ${minBytes})` });
    return undefined;
  }
  return new Secret(value, `env ${name}`);
}

/**
 * Upper-case hex or base32 secrets pass the name pattern; they are told apart by having no word breaks. A name
 * that fails this is not echoed, in case it is the secret pasted into the wrong field.
 */
function looksLikeName(name: string): boolean {
  return name.split('_').every((word) => word.length <= 16);
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

/** Keys, tokens and callers' numbers travel over these URLs: plain HTTP only where nobody else is on the path. */
function checkHttpsUnlessLoopback(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be an absolute https:// URL';
  }
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  if (url.protocol === 'https:') return undefined;
  const loopback = LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  return loopback ? undefined : 'must use https:// (plain http:// is accepted only for a loopback address)';
}

function issuesFromSchema(value: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const reported: string[] = [];
  for (const error of Value.Errors(ConfigFileSchema, value)) {
    // One message per field, and none beneath a field already reported (a string where an object belongs).
    if (reported.some((p) => error.path === p || error.path.startsWith(`${p}/`))) continue;
    reported.push(error.path);
    issues.push({ path: fieldPath(error.path), message: describe(error) });
  }
  return issues;
}

/** `/ice/stun/0` → `ice.stun[0]`. */
export function fieldPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(segment)) out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

function describe(error: ValueError): string {
  const key = error.path.split('/').pop() ?? '';
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return `is required (${expectationOf(error.schema)})`;
    case ValueErrorType.ObjectAdditionalProperties: {
      if (SECRET_LIKE_KEY.test(key)) {
        return 'is not a setting: secrets come only from environment variables (put the variable\'s name in a field ending in "Env")';
      }
      const known = Object.keys((error.schema as { properties?: object }).properties ?? {}).filter((k) => k !== '$schema');
      return `is not a known setting${known.length > 0 ? ` (expected: ${known.join(', ')})` : ''}`;
    }
    default: {
      const expectation = `must be ${expectationOf(error.schema)}`;
      // Fields that name a secret's variable are never echoed: the secret itself may have been pasted there.
      if (key.endsWith('Env')) return expectation;
      return `${expectation}, got ${show(error.value)}`;
    }
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') {
    const shortened = value.length > MAX_ECHO_LENGTH ? `${value.slice(0, MAX_ECHO_LENGTH)}…` : value;
    return JSON.stringify(shortened);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; anything else in `over` (lists included) replaces what was there. */
function deepMerge(base: Record<string, unknown>, over: ConfigOverrides): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(base);
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : structuredClone(value);
  }
  return out;
}

/**
 * `HOST:PORT` from the command line; IPv6 in brackets (`[::1]:8080`). The port is range-checked later with the
 * rest of the config, so the message names `http.port` like a bad value in the file would.
 */
export function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,6})$/.exec(text);
  if (match === null) {
    throw ConfigError.at(flag, `expected HOST:PORT (e.g. 127.0.0.1:8080, or [::1]:8080 for IPv6), got ${show(text)}`);
  }
  return { host: match[1] ?? match[2] ?? '', port: Number(match[3]) };
}
