/**
 * The config file (JSON). Every leaf carries `x-expect`, the phrase used in error messages ("must be <x-expect>"),
 * so that a message names what is allowed in the words an administrator would use, not TypeBox's.
 *
 * Secrets never appear here: fields ending in `Env` name the environment variable that holds them, so the file
 * can be committed, shared in a support ticket or printed without leaking anything.
 */
import { Type, type Static, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';
import { MAX_ICE_URLS, MAX_URL_LENGTH } from '@switchboard/protocol';
import { SipSideSchemas } from './sip-schema.js';

export const EXPECT_KEYWORD = 'x-expect';

export const DEFAULT_HTTP = { host: '127.0.0.1', port: 8080 } as const;
export const DEFAULT_SIP = { host: '127.0.0.1', port: 5060 } as const;
export const DEFAULT_DATABASE_FILE = './data/switchboard.sqlite';
export const DEFAULT_TOKEN_SECRET_ENV = 'SWITCHBOARD_TOKEN_SECRET';
export const DEFAULT_TURN_SECRET_ENV = 'SWITCHBOARD_TURN_SECRET';
export const DEFAULT_AUDIENCE = 'switchboard';
/** The ceiling: a login token is never valid for more than a day. */
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

/**
 * Asymmetric algorithms a JWKS may be used with. HS* is absent on purpose: with a public key set, allowing an HMAC
 * algorithm invites the classic confusion attack (a token "signed" with the public key as an HMAC secret).
 */
export const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type JwksAlgorithm = (typeof JWKS_ALGORITHMS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Upper case only, so that a secret pasted where its variable's name belongs is usually refused rather than echoed. */
export const ENV_NAME_PATTERN = '^[A-Z_][A-Z0-9_]{0,63}$';

/** IPv4, IPv6 (without brackets) or a DNS name; anything else cannot be bound. */
const HOST_PATTERN = '^([A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$';

function quoted(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}

const int = (minimum: number, maximum: number, defaultValue: number, description: string) =>
  Type.Integer({ minimum, maximum, default: defaultValue, description, [EXPECT_KEYWORD]: `an integer from ${minimum} to ${maximum}` });

const oneOf = <const T extends readonly [string, ...string[]]>(values: T, defaultValue: T[number] | undefined, description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description, [EXPECT_KEYWORD]: `one of ${quoted(values)}`, ...(defaultValue === undefined ? {} : { default: defaultValue }) },
  ) as TUnion<TLiteral<T[number]>[]>;

const envName = (defaultValue: string | undefined, description: string) =>
  Type.String({
    pattern: ENV_NAME_PATTERN,
    description,
    [EXPECT_KEYWORD]: 'the name of an environment variable (A-Z, 0-9 and _), not the secret itself',
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });

const uri = (pattern: string, what: string, description?: string) =>
  Type.String({ minLength: 1, maxLength: MAX_URL_LENGTH, pattern, [EXPECT_KEYWORD]: what, ...(description === undefined ? {} : { description }) });

const closed = (description: string) => ({ additionalProperties: false, default: {}, description }) as const;

const Listen = (defaults: { host: string; port: number }, what: string) =>
  Type.Object(
    {
      host: Type.String({
        minLength: 1,
        maxLength: 253,
        pattern: HOST_PATTERN,
        default: defaults.host,
        description: `address to bind ${what} on`,
        [EXPECT_KEYWORD]: 'an IP address or host name',
      }),
      port: int(1, 65535, defaults.port, `port for ${what}`),
    },
    closed(`where ${what} listens`),
  );

const SecureListen = (what: string) =>
  Type.Object(
    {
      port: Type.Integer({ minimum: 1, maximum: 65535, description: `port for ${what}`, [EXPECT_KEYWORD]: 'an integer from 1 to 65535' }),
      certFile: Type.String({ minLength: 1, maxLength: 4096, description: 'PEM certificate chain; relative to the config file', [EXPECT_KEYWORD]: 'a file path' }),
      keyFile: Type.String({ minLength: 1, maxLength: 4096, description: 'PEM private key; relative to the config file', [EXPECT_KEYWORD]: 'a file path' }),
    },
    { additionalProperties: false, description: `${what}, on the same address as UDP and TCP` },
  );

/** UDP and TCP always; TLS, WebSocket (RFC 7118) and secure WebSocket when given a port. */
const SipListen = Type.Object(
  {
    ...Listen(DEFAULT_SIP, 'SIP over UDP and TCP').properties,
    tls: Type.Optional(SecureListen('SIP over TLS')),
    ws: Type.Optional(
      Type.Object(
        { port: Type.Integer({ minimum: 1, maximum: 65535, description: 'port for SIP over WebSocket', [EXPECT_KEYWORD]: 'an integer from 1 to 65535' }) },
        { additionalProperties: false, description: 'SIP over WebSocket (plain: only behind a TLS-terminating proxy or on loopback)' },
      ),
    ),
    wss: Type.Optional(SecureListen('SIP over secure WebSocket')),
  },
  closed('where the gateway speaks SIP'),
);

const Database = Type.Object(
  {
    kind: oneOf(['sqlite'], 'sqlite', 'the database engine (PostgreSQL support is planned)'),
    file: Type.String({
      minLength: 1,
      maxLength: 4096,
      default: DEFAULT_DATABASE_FILE,
      description: 'SQLite database file; a relative path is relative to the config file',
      [EXPECT_KEYWORD]: 'a file path',
    }),
  },
  closed('where calls, operators and settings are stored'),
);

const Hs256 = Type.Object(
  { secretEnv: envName(DEFAULT_TOKEN_SECRET_ENV, 'environment variable holding the shared HS256 secret (at least 32 bytes)') },
  { additionalProperties: false, description: 'tokens signed by the CRM with a shared secret' },
);

const Jwks = Type.Object(
  {
    url: uri('^https?://[^\\s@]+$', 'an https:// URL (http:// only for a loopback address), without credentials', 'where the CRM publishes its public keys (JWKS)'),
    algorithms: Type.Array(oneOf(JWKS_ALGORITHMS, undefined, 'a signature algorithm'), {
      minItems: 1,
      uniqueItems: true,
      default: ['RS256', 'ES256', 'EdDSA'],
      description: 'algorithms accepted from the key set',
      [EXPECT_KEYWORD]: `a non-empty list of distinct algorithms from ${quoted(JWKS_ALGORITHMS)}`,
    }),
  },
  { additionalProperties: false, description: 'tokens signed by the CRM with a private key published as a JWKS' },
);

const Auth = Type.Object(
  {
    hs256: Type.Optional(Hs256),
    jwks: Type.Optional(Jwks),
    audience: Type.String({
      minLength: 1,
      maxLength: 256,
      default: DEFAULT_AUDIENCE,
      description: 'the `aud` every token must carry',
      [EXPECT_KEYWORD]: 'a non-empty string of at most 256 characters',
    }),
    maxTokenLifetimeSeconds: int(60, MAX_TOKEN_LIFETIME_SECONDS, MAX_TOKEN_LIFETIME_SECONDS, 'tokens whose `exp` lies further ahead are refused'),
    clockToleranceSeconds: int(0, 300, 30, 'allowed clock skew between the CRM and the gateway'),
  },
  closed('how browser logins are verified: set hs256 or jwks (hs256 from SWITCHBOARD_TOKEN_SECRET when neither)'),
);

const Turn = Type.Object(
  {
    urls: Type.Array(uri('^turns?:[^\\s<>"]+$', 'a turn: or turns: URI'), {
      minItems: 1,
      maxItems: MAX_ICE_URLS,
      description: 'TURN server URIs',
      [EXPECT_KEYWORD]: `a list of 1 to ${MAX_ICE_URLS} turn: or turns: URIs`,
    }),
    secretEnv: envName(DEFAULT_TURN_SECRET_ENV, 'environment variable holding the TURN REST API shared secret (coturn static-auth-secret)'),
    ttlSeconds: int(60, 86400, 3600, 'how long a TURN credential handed to a browser stays valid'),
  },
  { additionalProperties: false, description: 'TURN with time-limited credentials (coturn REST API)' },
);

const Ice = Type.Object(
  {
    stun: Type.Array(uri('^stuns?:[^\\s<>"]+$', 'a stun: or stuns: URI'), {
      maxItems: MAX_ICE_URLS,
      // No public STUN server by default: a self-hosted install should not contact third parties unasked.
      default: [],
      description: 'STUN server URIs',
      [EXPECT_KEYWORD]: `a list of at most ${MAX_ICE_URLS} stun: or stuns: URIs`,
    }),
    turn: Type.Optional(Turn),
  },
  closed('ICE servers handed to browsers'),
);

const Routing = Type.Object(
  {
    ringTimeoutSeconds: int(5, 600, 30, 'how long an incoming call rings before it ends as no-answer'),
    callWaiting: Type.Boolean({ default: true, description: 'ring an operator who is already on a call', [EXPECT_KEYWORD]: 'true or false' }),
  },
  closed('call routing'),
);

const Lookup = Type.Object(
  {
    url: uri('^https?://[^\\s<>"]*\\{number\\}[^\\s<>"]*$', 'an http:// or https:// URL with {number} where the caller\'s number goes', 'the CRM\'s lookup endpoint (https:// except on loopback); GET, answered with a JSON contact or 404'),
    tokenEnv: Type.Optional(envName(undefined, 'environment variable holding the bearer token sent to the lookup')),
    timeoutMs: int(100, 10000, 1500, 'how long an incoming call waits for the CRM before ringing without a contact'),
    cacheSeconds: int(0, 86400, 60, 'how long an answer (found or not found) is reused; 0 asks every time'),
    cacheSize: int(0, 1000000, 10000, 'numbers remembered at most'),
  },
  { additionalProperties: false, description: 'contact lookup in the CRM by caller number (the screen pop)' },
);

const Logging = Type.Object({ level: oneOf(LOG_LEVELS, 'info', 'least severe level logged') }, closed('logging'));

const Limits = Type.Object(
  {
    maxSessionsPerOperator: int(1, 100, 8, 'browser sessions (tabs, devices) one operator may hold at once'),
    messagesPerSecond: int(1, 1000, 20, 'messages per second one connection may send before it is throttled'),
  },
  closed('per-operator and per-connection limits'),
);

export const ConfigFileSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ [EXPECT_KEYWORD]: 'a string' })),
    http: Listen(DEFAULT_HTTP, 'HTTP and WebSocket'),
    sip: SipListen,
    database: Database,
    auth: Auth,
    ice: Ice,
    routing: Routing,
    logging: Logging,
    limits: Limits,
    lookup: Type.Optional(Lookup),
    ...SipSideSchemas,
  },
  { additionalProperties: false, description: 'the Switchboard gateway configuration' },
);

/** The file after defaults are filled in and before secrets are read. */
export type ConfigFile = Static<typeof ConfigFileSchema>;

/** What to say after "must be" when a schema has no `x-expect` of its own. */
export function expectationOf(schema: TSchema): string {
  const own = (schema as Record<string, unknown>)[EXPECT_KEYWORD];
  if (typeof own === 'string') return own;
  switch (schema.type) {
    case 'object':
      return 'an object';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'integer':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    default:
      return 'a valid value';
  }
}
