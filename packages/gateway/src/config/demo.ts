/**
 * The configuration behind `switchboard start --demo`: everything local under one data directory, a login secret
 * generated on first start and kept there (so tokens minted by the demo CRM keep working across restarts), and
 * three operators for the store to seed. Listening addresses stay on loopback unless overridden.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from './config-error.js';
import { MIN_HS256_SECRET_BYTES, resolveConfig } from './load.js';
import { Secret } from './secret.js';
import type { ConfigOverrides, DemoOperator, Env, GatewayConfig } from './types.js';

export const DEFAULT_DEMO_DATA_DIR = './data';
export const DEMO_SECRET_FILE = 'demo-secret';
export const DEMO_DATABASE_FILE = 'demo.sqlite';

export const DEMO_OPERATORS: readonly DemoOperator[] = [
  { id: '101', name: 'Demo Operator 101', extension: '101' },
  { id: '102', name: 'Demo Operator 102', extension: '102' },
  { id: '103', name: 'Demo Operator 103', extension: '103' },
];

/** Only used to pass the generated secret through the ordinary checks; never read from the real environment. */
const DEMO_SECRET_ENV = 'SWITCHBOARD_DEMO_SECRET';

export interface DemoConfigOptions {
  /** Relative to the working directory; default `./data`. */
  readonly dataDir?: string | undefined;
  readonly overrides?: ConfigOverrides | undefined;
  readonly cwd?: string | undefined;
  /** Serve the SDK test page and `/demo/token` (default true); the demo CRM turns them off. */
  readonly testPage?: boolean | undefined;
  /** Environment for secrets the overrides name (SIP passwords of lines, ...); the demo's own secret comes from its file. */
  readonly env?: Env | undefined;
}

export function demoConfig(options: DemoConfigOptions = {}): GatewayConfig {
  const dataDir = resolve(options.cwd ?? process.cwd(), options.dataDir ?? DEFAULT_DEMO_DATA_DIR);
  const { secret, file } = ensureDemoSecret(dataDir);
  const raw = {
    database: { kind: 'sqlite', file: join(dataDir, DEMO_DATABASE_FILE) },
    auth: { hs256: { secretEnv: DEMO_SECRET_ENV } },
  };
  const env: Env = { ...options.env, [DEMO_SECRET_ENV]: secret };
  const config = resolveConfig(raw, {
    env,
    overrides: options.overrides,
    baseDir: dataDir,
    source: undefined,
    demo: { dataDir, operators: DEMO_OPERATORS, testPage: options.testPage ?? true },
  });
  if (config.auth.kind !== 'hs256') return config;
  return { ...config, auth: { ...config.auth, secret: new Secret(secret, `file ${file}`) } };
}

/** Reads the demo's login secret, creating it (readable by the owner only) on first use. */
export function ensureDemoSecret(dataDir: string): { secret: string; file: string } {
  const file = join(dataDir, DEMO_SECRET_FILE);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const secret = randomBytes(32).toString('base64url');
    // 'wx' fails if the file exists, so two demos starting at once keep one secret between them.
    writeFileSync(file, `${secret}\n`, { flag: 'wx', mode: 0o600 });
    return { secret, file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw ConfigError.at('', `${file}: cannot create the demo secret (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw ConfigError.at('', `${file}: cannot read the demo secret (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (Buffer.byteLength(secret, 'utf8') < MIN_HS256_SECRET_BYTES) {
    throw ConfigError.at('', `${file}: the demo secret is too short; delete the file to generate a new one`);
  }
  return { secret, file };
}
