/** The configuration as the rest of the gateway sees it: defaults filled in, paths resolved, secrets read. */
import type { JwksAlgorithm, LogLevel } from './schema.js';
import type { Secret } from './secret.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** A TLS listener: its port, and where its certificate and key are (absolute paths). */
export interface SecureListenConfig {
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface SipListenConfig extends ListenAddress {
  readonly tls?: SecureListenConfig | undefined;
  readonly ws?: { readonly port: number } | undefined;
  readonly wss?: SecureListenConfig | undefined;
}

interface AuthCommon {
  /** The `aud` every token must carry. */
  readonly audience: string;
  /** Tokens whose `exp` is further ahead than this are refused, whoever signed them. */
  readonly maxTokenLifetimeSeconds: number;
  readonly clockToleranceSeconds: number;
}

export interface Hs256AuthConfig extends AuthCommon {
  readonly kind: 'hs256';
  readonly secret: Secret;
}

export interface JwksAuthConfig extends AuthCommon {
  readonly kind: 'jwks';
  readonly url: string;
  readonly algorithms: readonly JwksAlgorithm[];
}

export type AuthConfig = Hs256AuthConfig | JwksAuthConfig;

export interface TurnConfig {
  readonly urls: readonly string[];
  /** The coturn `static-auth-secret`. */
  readonly secret: Secret;
  readonly ttlSeconds: number;
}

export interface IceConfig {
  readonly stun: readonly string[];
  readonly turn: TurnConfig | undefined;
}

export interface DemoOperator {
  readonly id: string;
  readonly name: string;
  readonly extension: string;
}

/** Present only under `switchboard start --demo`: what the store seeds so the demo works without setup. */
export interface DemoSettings {
  readonly dataDir: string;
  readonly operators: readonly DemoOperator[];
  /**
   * The SDK test page at `/` and its `/demo/token`, which hands any visitor a token for any demo operator. Off when
   * a CRM (the demo CRM) signs operators in and mints their tokens itself.
   */
  readonly testPage: boolean;
}

/** A PBX as the SIP side uses it. */
export interface PbxConfig {
  readonly name: string;
  readonly registrar: string;
  readonly outboundProxy: string | undefined;
  /** Domain of the operators' addresses of record, and of the numbers they dial; may carry a port. */
  readonly domain: string;
  /** Only challenges of this realm are answered, when set. */
  readonly realm: string | undefined;
  readonly media: 'rtpengine' | 'passthrough';
  readonly dtmf: 'rfc4733' | 'info';
  readonly codecs: readonly string[];
  readonly registerExpiresSeconds: number;
  readonly keepAliveSeconds: number;
}

/** An operator's account at a PBX, registered by the gateway. The password never leaves the server. */
export interface PbxLineConfig {
  readonly mode: 'pbx';
  readonly operatorId: string;
  readonly pbx: PbxConfig;
  /** User part of the address of record `user@pbx.domain`. */
  readonly user: string;
  readonly authUser: string;
  readonly password: Secret;
}

export interface LocalLineConfig {
  readonly mode: 'local';
  readonly operatorId: string;
}

export type LineConfig = PbxLineConfig | LocalLineConfig;

/** The gateway's own registrar, for SIP phones. */
export interface RegistrarConfig {
  readonly realm: string;
  readonly minExpiresSeconds: number;
  readonly maxExpiresSeconds: number;
  readonly accounts: readonly { readonly user: string; readonly password: Secret }[];
}

/** Where PBXs given by name are looked up. */
export interface DnsConfig {
  /** Name servers (`ip`, `ip:port`, `[ipv6]:port`); undefined: the system's. */
  readonly servers: readonly string[] | undefined;
  readonly timeoutMs: number;
  readonly tries: number;
}

export interface RtpengineConfig {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  /** Played to the far end while an operator holds a call rtpengine relays; a path on rtpengine's host. */
  readonly holdMusic: string | undefined;
}

/** The CRM's contact lookup for the screen pop. */
export interface LookupConfig {
  /** http(s) URL with `{number}` where the caller's number goes. */
  readonly url: string;
  /** Sent as `Authorization: Bearer ...`, so the CRM can tell the gateway from anyone else. */
  readonly token: Secret | undefined;
  readonly timeoutMs: number;
  readonly cacheSeconds: number;
  readonly cacheSize: number;
}

export interface GatewayConfig {
  /** The config file it came from, if any. */
  readonly source: string | undefined;
  readonly http: ListenAddress;
  readonly sip: SipListenConfig;
  readonly database: { readonly kind: 'sqlite'; readonly file: string };
  readonly auth: AuthConfig;
  readonly ice: IceConfig;
  readonly routing: { readonly ringTimeoutSeconds: number; readonly callWaiting: boolean };
  readonly logging: { readonly level: LogLevel };
  readonly limits: { readonly maxSessionsPerOperator: number; readonly messagesPerSecond: number };
  readonly demo: DemoSettings | undefined;
  readonly pbx: readonly PbxConfig[];
  /** Operators with a configured line; the others are local extensions. */
  readonly lines: readonly LineConfig[];
  readonly registrar: RegistrarConfig;
  readonly rtpengine: RtpengineConfig | undefined;
  readonly dns: DnsConfig;
  readonly lookup: LookupConfig | undefined;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** A partial config file laid over the file before validation (command-line flags), so errors name the same paths. */
export type ConfigOverrides = { readonly [key: string]: unknown };
