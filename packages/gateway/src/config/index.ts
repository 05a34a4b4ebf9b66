export { ConfigError, type ConfigIssue } from './config-error.js';
export {
  loadConfig,
  resolveConfig,
  readConfigFile,
  parseHostPort,
  fieldPath,
  MIN_HS256_SECRET_BYTES,
  MIN_TURN_SECRET_BYTES,
  type LoadConfigOptions,
  type ResolveConfigOptions,
} from './load.js';
export {
  ConfigFileSchema,
  JWKS_ALGORITHMS,
  LOG_LEVELS,
  DEFAULT_AUDIENCE,
  DEFAULT_HTTP,
  DEFAULT_SIP,
  DEFAULT_TOKEN_SECRET_ENV,
  DEFAULT_TURN_SECRET_ENV,
  MAX_TOKEN_LIFETIME_SECONDS,
  type ConfigFile,
  type JwksAlgorithm,
  type LogLevel,
} from './schema.js';
export { Secret, REDACTED } from './secret.js';
export { redactConfig, type Redacted } from './redact.js';
export { demoConfig, ensureDemoSecret, DEMO_OPERATORS, DEFAULT_DEMO_DATA_DIR, type DemoConfigOptions } from './demo.js';
export type * from './types.js';
