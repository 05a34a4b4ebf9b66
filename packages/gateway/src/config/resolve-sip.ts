/**
 * Turns the SIP side of a checked config file into what the gateway uses: PBXs with their defaults, lines linked to
 * their PBX with passwords read from the environment, registrar accounts, and rtpengine's address. Problems the
 * schema cannot see (a line naming a PBX that does not exist, a PBX that needs rtpengine when none is configured,
 * fields that belong to the other line mode) are reported with the path of the field.
 */
import { isIP } from 'node:net';
import { parseUri, transportOfUri, type SipUri, type TransportProtocol } from '@switchboard/sip';
import type { ConfigIssue } from './config-error.js';
import type { ConfigFile } from './schema.js';
import { NAME_SERVER_EXPECT } from './sip-schema.js';
import { Secret } from './secret.js';
import type { DnsConfig, Env, LineConfig, PbxConfig, RegistrarConfig, RtpengineConfig } from './types.js';

export interface SipSide {
  pbx: PbxConfig[];
  lines: LineConfig[];
  registrar: RegistrarConfig;
  rtpengine: RtpengineConfig | undefined;
  dns: DnsConfig;
}

export function resolveSipSide(file: ConfigFile, env: Env, issues: ConfigIssue[]): SipSide {
  const pbx = Object.entries(file.pbx).map(([name, entry]) => resolvePbx(name, entry, issues));
  for (const [name, entry] of Object.entries(file.pbx)) {
    // Only the first hop is reached directly: a registrar behind an outbound proxy is the proxy's business.
    const field = entry.outboundProxy === undefined ? 'registrar' : 'outboundProxy';
    const uri = sipUriOf(entry[field]!);
    // An unreadable URI is reported where the line is set up, with the parser's reason.
    if (uri === undefined) continue;
    let needed: TransportProtocol | undefined;
    try {
      // What the scheme and transport parameter insist on, as the SIP side reads them (a SIPS URI without one: TLS).
      needed = transportOfUri(uri) ?? (uri.scheme === 'sips' ? 'tls' : undefined);
    } catch {
      issues.push({ path: `pbx.${name}.${field}`, message: 'has a transport parameter other than udp, tcp, tls, ws or wss' });
      continue;
    }
    if (needed !== undefined && !listens(file.sip, needed)) {
      issues.push({ path: `pbx.${name}.${field}`, message: `asks for ${needed.toUpperCase()}, but the gateway has no ${needed.toUpperCase()} listener (set sip.${needed})` });
    }
  }
  const byName = new Map(pbx.map((p) => [p.name, p]));
  const lines: LineConfig[] = [];
  for (const [operatorId, line] of Object.entries(file.lines)) {
    const path = `lines.${operatorId}`;
    if (line.mode === 'local') {
      for (const field of ['pbx', 'user', 'authUser', 'passwordEnv'] as const) {
        if (line[field] !== undefined) issues.push({ path: `${path}.${field}`, message: 'belongs to a line with mode "pbx"; a local line has no account elsewhere' });
      }
      lines.push({ mode: 'local', operatorId });
      continue;
    }
    const missing = (['pbx', 'user', 'passwordEnv'] as const).filter((field) => line[field] === undefined);
    for (const field of missing) issues.push({ path: `${path}.${field}`, message: 'is required for a line with mode "pbx"' });
    if (missing.length > 0) continue;
    const target = byName.get(line.pbx!);
    if (target === undefined) {
      issues.push({ path: `${path}.pbx`, message: `names no configured PBX (configured: ${[...byName.keys()].join(', ') || 'none'})` });
      continue;
    }
    const password = readPassword(env, line.passwordEnv!, `${path}.passwordEnv`, issues);
    if (password === undefined) continue;
    lines.push({ mode: 'pbx', operatorId, pbx: target, user: line.user!, authUser: line.authUser ?? line.user!, password });
  }

  const rtpengine = file.rtpengine === undefined ? undefined : resolveRtpengine(file.rtpengine, issues);
  if (rtpengine === undefined && file.rtpengine === undefined) {
    for (const p of pbx) {
      if (p.media === 'rtpengine' && lines.some((l) => l.mode === 'pbx' && l.pbx === p)) {
        issues.push({ path: `pbx.${p.name}.media`, message: 'is "rtpengine" but no rtpengine is configured (set rtpengine.ng, or media "passthrough" for a WebRTC-capable PBX)' });
      }
    }
  }

  const registrar: RegistrarConfig = {
    realm: file.registrar.realm,
    minExpiresSeconds: file.registrar.minExpiresSeconds,
    maxExpiresSeconds: file.registrar.maxExpiresSeconds,
    accounts: Object.entries(file.registrar.accounts).flatMap(([user, account]) => {
      const password = readPassword(env, account.passwordEnv, `registrar.accounts.${user}.passwordEnv`, issues);
      return password === undefined ? [] : [{ user, password }];
    }),
  };
  if (registrar.minExpiresSeconds > registrar.maxExpiresSeconds) {
    issues.push({ path: 'registrar.minExpiresSeconds', message: 'must not be greater than registrar.maxExpiresSeconds' });
  }
  return { pbx, lines, registrar, rtpengine, dns: resolveDns(file.dns, issues) };
}

function resolveDns(entry: ConfigFile['dns'], issues: ConfigIssue[]): DnsConfig {
  entry.servers?.forEach((server, index) => {
    const bracketed = /^\[(.*)\](?::(\d+))?$/.exec(server);
    const v4 = /^([\d.]+)(?::(\d+))?$/.exec(server);
    const [address, port] = bracketed !== null ? [bracketed[1]!, bracketed[2]] : v4 !== null ? [v4[1]!, v4[2]] : [server, undefined];
    const family = isIP(address);
    const portOk = port === undefined || (Number(port) >= 1 && Number(port) <= 65_535);
    if (family === 0 || (bracketed !== null && family !== 6) || !portOk) {
      issues.push({ path: `dns.servers[${index}]`, message: `must be ${NAME_SERVER_EXPECT}, got ${JSON.stringify(server.slice(0, 60))}` });
    }
  });
  return { servers: entry.servers, timeoutMs: entry.timeoutMs, tries: entry.tries };
}

function resolvePbx(name: string, entry: ConfigFile['pbx'][string], issues: ConfigIssue[]): PbxConfig {
  const host = hostOf(entry.registrar);
  if (host === undefined) issues.push({ path: `pbx.${name}.registrar`, message: 'has no host' });
  if (entry.dtmf === 'rfc4733' && !entry.codecs.some((codec) => codec.toLowerCase() === 'telephone-event')) {
    // Filtered out of every offer, the events could never be negotiated, and no call would take digits.
    issues.push({ path: `pbx.${name}.codecs`, message: 'must list telephone-event when dtmf is "rfc4733" (the digits travel as telephone-events in the media)' });
  }
  return {
    name,
    registrar: entry.registrar,
    outboundProxy: entry.outboundProxy,
    // With a port in the registrar URI the default domain keeps it: a PBX listening elsewhere than 5060 only takes
    // a Request-URI with its own port as its own (Kamailio's `myself`), and relays anything else.
    domain: entry.domain ?? hostPortOf(entry.registrar) ?? '',
    realm: entry.realm,
    media: entry.media,
    dtmf: entry.dtmf,
    codecs: [...entry.codecs],
    registerExpiresSeconds: entry.registerExpiresSeconds,
    keepAliveSeconds: entry.keepAliveSeconds,
  };
}

function resolveRtpengine(entry: NonNullable<ConfigFile['rtpengine']>, issues: ConfigIssue[]): RtpengineConfig | undefined {
  const colon = entry.ng.lastIndexOf(':');
  const host = entry.ng.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(entry.ng.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    issues.push({ path: 'rtpengine.ng', message: `has no valid port, got ${JSON.stringify(entry.ng)}` });
    return undefined;
  }
  return { host, port, timeoutMs: entry.timeoutMs, holdMusic: entry.holdMusic };
}

function sipUriOf(text: string): SipUri | undefined {
  try {
    const uri = parseUri(text);
    return uri.type === 'sip' ? uri : undefined;
  } catch {
    return undefined;
  }
}

/** UDP and TCP always listen; TLS, WS and WSS when configured. */
function listens(sip: ConfigFile['sip'], transport: TransportProtocol): boolean {
  return transport === 'udp' || transport === 'tcp' || sip[transport] !== undefined;
}

/** The host of a sip:/sips: URI: after the scheme and any userinfo, before a port, parameters or headers. */
export function hostOf(uri: string): string | undefined {
  const rest = uri.replace(/^sips?:/, '');
  const afterUser = rest.slice(rest.lastIndexOf('@') + 1);
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:;?]+)/.exec(afterUser);
  return match?.[1] === undefined || match[1] === '' ? undefined : match[1];
}

/** `host` or `host:port` of a sip:/sips: URI. */
export function hostPortOf(uri: string): string | undefined {
  const host = hostOf(uri);
  if (host === undefined) return undefined;
  const rest = uri.replace(/^sips?:/, '');
  const afterHost = rest.slice(rest.lastIndexOf('@') + 1).slice(host.length);
  const port = /^:(\d{1,5})/.exec(afterHost)?.[1];
  return port === undefined ? host : `${host}:${port}`;
}

/** SIP passwords are whatever the PBX issued, so any non-empty value is taken; it is never echoed. */
function readPassword(env: Env, name: string, path: string, issues: ConfigIssue[]): Secret | undefined {
  const value = env[name];
  if (value === undefined || value === '') {
    issues.push({ path, message: `environment variable ${name} is not set (it holds the SIP password)` });
    return undefined;
  }
  return new Secret(value, `env ${name}`);
}
