import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { assertPrivateNetns } from './netns.js';
import { freePort, LOOPBACK, sipOptionsPing, tcpAccepts, type Transport } from './ports.js';
import { HarnessError, REPO_ROOT, startProcess, suiteDir, tailLines, uniqueComponent, type ManagedProcess } from './processes.js';

export interface KamailioConfigOptions {
  port: number;
  /** username → password; REGISTER (and INVITE with authenticateInvites) must carry digest credentials of one. */
  users?: Record<string, string>;
  /** Initial INVITEs must carry proxy credentials of a user (407 challenge otherwise). */
  authenticateInvites?: boolean;
  /** Worker processes per UDP and TCP listener; default 2. */
  children?: number;
  /** Kamailio log level (1 notice, 2 info, 3 debug); default 2. */
  debug?: number;
  /** One log line per request (method, R-URI, source); default true. Turn off under load. */
  logRequests?: boolean;
  /** More modules to load, by name ("nathelper"). */
  modules?: string[];
  /** Config text placed after the module parameters (modparam, global settings). */
  globals?: string;
  /** Script run at the start of request_route, after the Max-Forwards check (e.g. `route(MINE);`). */
  requestPrelude?: string;
  /** More route blocks (route[...], onreply_route[...], event_route[...]) appended to the config. */
  routes?: string;
  /**
   * TCP port of a SIP-over-WebSocket listener (ws://127.0.0.1:wsPort, handshake in event_route[xhttp:request]).
   * WebSocket peers register behind their real connection (fix_nated_register) and get ;alias= Contacts.
   */
  wsPort?: number;
  /**
   * rtpengine ng socket ("udp:127.0.0.1:port"): every INVITE with SDP and its answer are rewritten so media goes
   * through rtpengine, as WebRTC (ICE, DTLS-SRTP, rtcp-mux, RTP/SAVPF) towards WebSocket peers and as plain RTP/AVP
   * towards the others; BYE and CANCEL delete the session.
   */
  rtpengineSocket?: string;
}

export interface KamailioOptions extends Partial<KamailioConfigOptions> {
  suite: string;
  /** Component name for the log and config files; default "kamailio". */
  name?: string;
  /** Shared memory (-m), MB; default 64. Several thousand calls/s need 1024. */
  shmMb?: number;
  /** Private memory per process (-M), MB; default 8. */
  pkgMb?: number;
  /** Use this config text as is instead of generating one (it must listen on `port` for the readiness probe). */
  config?: string;
  /** Whether the config listens on TCP too (checked for readiness); default true. */
  tcp?: boolean;
  /** Default 10 s. */
  readyTimeoutMs?: number;
  /** Listen for SIP over WebSocket too, on wsPort or a free port. */
  websocket?: boolean;
  /** Relay media through this rtpengine (its ngSocket), like rtpengineSocket. */
  rtpengine?: { readonly ngSocket: string };
}

export interface Kamailio {
  readonly host: string;
  readonly port: number;
  /** "127.0.0.1:port", as sipp takes its target. */
  readonly address: string;
  /** Domain of the users' AORs (and digest realm): the listening address. */
  readonly domain: string;
  readonly users: Readonly<Record<string, string>>;
  readonly configPath: string;
  readonly logPath: string;
  readonly process: ManagedProcess;
  /** TCP port of the WebSocket listener, when there is one. */
  readonly wsPort: number | undefined;
  /** ws://127.0.0.1:wsPort, what a browser's SIP.js connects to; undefined without a WebSocket listener. */
  readonly wsUrl: string | undefined;
  /** sip:127.0.0.1:port;transport=udp|tcp: the registrar / outbound proxy. */
  uri(transport?: Transport): string;
  /** sip:user@127.0.0.1:port, the address a call to a registered user is sent to. */
  aor(user: string): string;
  stop(): Promise<void>;
}

const USERNAME = /^[A-Za-z0-9._~+-]+$/;

function cfgString(value: string): string {
  if (/[\x00-\x1f\x7f]/.test(value)) throw new Error(`control characters are not allowed in Kamailio strings: ${JSON.stringify(value)}`);
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A registrar + record-routing stateful proxy modelled on shared/reference/peers/kamailio-registrar.cfg. */
export function kamailioConfig(options: KamailioConfigOptions): string {
  const host = LOOPBACK;
  const children = options.children ?? 2;
  const users = Object.entries(options.users ?? {});
  for (const [user] of users) {
    if (!USERNAME.test(user)) throw new Error(`username ${JSON.stringify(user)} is not usable as an htable key`);
  }
  const modules = ['tm', 'sl', 'rr', 'pv', 'maxfwd', 'usrloc', 'registrar', 'textops', 'siputils', 'xlog', 'sanity', 'auth', 'htable'];
  for (const m of options.modules ?? []) if (!modules.includes(m)) modules.push(m);

  // Passwords live in an htable filled at start-up, so pv_auth_check() can look one up by the credentials' username
  // ($au) with no database; check "1" makes that username match the To (REGISTER) / From (others) user.
  const userInit = users.length
    ? ['event_route[htable:mod-init] {', ...users.map(([u, p]) => `  $sht(users=>${u}) = ${cfgString(p)};`), '}']
    : [];
  const inviteAuth = options.authenticateInvites
    ? [
        '    if (is_method("INVITE") && !has_totag()) {',
        '      route(HARNESS_AUTH);',
        '    }',
      ]
    : [];

  const ws = options.wsPort;
  const rtp = options.rtpengineSocket;
  if (ws !== undefined) modules.push(...['xhttp', 'websocket', 'nathelper'].filter((m) => !modules.includes(m)));
  if (rtp !== undefined && !modules.includes('rtpengine')) modules.push('rtpengine');
  if (rtp !== undefined && !/^udp:[0-9.]+:\d+$/.test(rtp)) throw new Error(`rtpengineSocket must be udp:ip:port, got ${JSON.stringify(rtp)}`);

  return [
    '#!KAMAILIO',
    '# Generated by test/e2e/support/kamailio.ts.',
    `debug=${options.debug ?? 2}`,
    'log_stderror=yes',
    'fork=yes',
    `children=${children}`,
    `tcp_children=${children}`,
    'auto_aliases=no',
    `listen=udp:${host}:${options.port}`,
    `listen=tcp:${host}:${options.port}`,
    ...(ws !== undefined
      ? [
          `listen=tcp:${host}:${ws}`,
          // Without it the WebSocket upgrade GET (no Content-Length) is refused and the browser sees close 1006.
          'tcp_accept_no_cl=yes',
          'tcp_connection_lifetime=3604',
        ]
      : []),
    '',
    ...modules.map((m) => `loadmodule "${m}.so"`),
    '',
    'modparam("usrloc", "db_mode", 0)',
    'modparam("auth", "nonce_expire", 300)',
    'modparam("htable", "htable", "users=>size=8;")',
    ...(ws !== undefined
      ? [
          // fix_nated_register() stores the WebSocket connection's address here; lookup() then sends to it instead
          // of the unreachable xxx.invalid Contact a browser registers.
          'modparam("nathelper|registrar", "received_avp", "$avp(RECEIVED)")',
          'modparam("rr", "enable_full_lr", 1)',
        ]
      : []),
    ...(rtp !== undefined ? [`modparam("rtpengine", "rtpengine_sock", ${cfgString(rtp)})`] : []),
    '',
    options.globals ?? '',
    '',
    ...(ws !== undefined || rtp !== undefined
      ? webrtcRoutes(options, inviteAuth)
      : [
          'request_route {',
          options.logRequests === false ? '' : '  xlog("L_INFO", "REQ $rm $ru from $proto:$si:$sp ci=$ci\\n");',
          '  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }',
          options.requestPrelude ?? '',
          '  if (is_method("REGISTER")) {',
          '    route(HARNESS_AUTH);',
          '    if (!save("location")) { sl_reply_error(); }',
          '    exit;',
          '  }',
          '  if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }',
          '  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }',
          '  if (loose_route()) { t_relay(); exit; }',
          // Like the reference: in-dialog requests without a Route set (sipp's built-in uac ignores Record-Route) are
          // still addressed to the user's AOR here, so they go through lookup() as well.
          '  if (is_method("INVITE|BYE|ACK")) {',
          ...inviteAuth,
          '    record_route();',
          '    if (uri != myself) { t_relay(); exit; }',
          '    if (!lookup("location")) {',
          '      if (is_method("ACK")) { t_relay(); exit; }',
          '      sl_send_reply("404", "Not Found"); exit;',
          '    }',
          '    t_relay(); exit;',
          '  }',
          '  sl_send_reply("405", "Method Not Allowed");',
          '}',
        ]),
    '',
    // No credentials or an unknown user: challenge before pv_auth_check() would log an error for the missing password.
    // For requests other than REGISTER, pv_auth_check() reads Proxy-Authorization and auth_challenge() sends 407.
    'route[HARNESS_AUTH] {',
    '  if ($au == $null) { auth_challenge("$fd", "0"); exit; }',
    '  if ($sht(users=>$au) == $null) { auth_challenge("$fd", "0"); exit; }',
    '  if (!pv_auth_check("$fd", "$sht(users=>$au)", "0", "1")) { auth_challenge("$fd", "0"); exit; }',
    '  consume_credentials();',
    '}',
    '',
    ...userInit,
    '',
    options.routes ?? '',
    '',
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');
}

// rtpengine flags, named for the peer that receives the SDP rtpengine writes (from shared/reference kamailio-ws.cfg).
// Browser: DTLS-SRTP, ICE, rtcp-mux (RTP/SAVPF). Phone: plain RTP/AVP, no ICE, separate RTCP port.
const TO_BROWSER_OFFER =
  'replace-origin replace-session-connection ICE=force RTP/SAVPF DTLS=passive SDES-off rtcp-mux-offer rtcp-mux-require generate-mid';
// No DTLS=passive here: rtpengine 10.5 completes ICE with the offering browser while handling the offer and starts
// DTLS as client right away; an answer saying setup:passive would contradict that ClientHello and DTLS never ends.
const TO_BROWSER_ANSWER = 'replace-origin replace-session-connection ICE=force RTP/SAVPF SDES-off rtcp-mux-require';
const TO_PHONE = 'replace-origin replace-session-connection ICE=remove RTP/AVP DTLS=off SDES-off rtcp-mux-demux';

/** request_route and helpers of a proxy with WebSocket peers and/or rtpengine, after shared/reference/kamailio-ws.cfg. */
function webrtcRoutes(options: KamailioConfigOptions, inviteAuth: string[]): string[] {
  const ws = options.wsPort;
  const rtp = options.rtpengineSocket !== undefined;
  const media = rtp ? '    route(MEDIA);' : '';
  return [
    // flags of the request, kept by the transaction for its replies: the caller / the callee is on WebSocket
    '#!define FLT_SRC_WS 1',
    '#!define FLT_DST_WS 2',
    '',
    'request_route {',
    options.logRequests === false ? '' : '  xlog("L_INFO", "REQ $rm $ru from $proto:$si:$sp ci=$ci\\n");',
    '  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }',
    ...(ws !== undefined
      ? [
          `  if ($Rp == ${ws} && !(proto == WS || proto == WSS)) { sl_send_reply("403", "Forbidden"); exit; }`,
          '  if (nat_uac_test("64")) {',
          // A WebSocket client's Via and Contact name xxx.invalid: remember the connection it really came from.
          '    force_rport();',
          '    if (is_method("REGISTER")) {',
          '      fix_nated_register();',
          '    } else if (!add_contact_alias()) {',
          '      sl_send_reply("400", "Bad Request"); exit;',
          '    }',
          '    setflag(FLT_SRC_WS);',
          '  }',
        ]
      : []),
    options.requestPrelude ?? '',
    '  if (is_method("REGISTER")) {',
    '    route(HARNESS_AUTH);',
    '    if (!save("location")) { sl_reply_error(); }',
    '    exit;',
    '  }',
    '  if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }',
    '  if (is_method("CANCEL")) {',
    `    if (t_check_trans()) { ${rtp ? 'rtpengine_delete(); ' : ''}t_relay(); }`,
    '    exit;',
    '  }',
    '  if (has_totag() && loose_route()) {',
    // The Contact of a WebSocket peer carries ;alias=ip~port~proto (add_contact_alias): that is where it is.
    ws !== undefined ? '    if ($du == "" && $ru =~ ";alias=") { if (!handle_ruri_alias()) { sl_send_reply("400", "Bad alias"); exit; } }' : '',
    media,
    '    route(RELAY);',
    '  }',
    '  if (is_method("ACK") && has_totag() && t_check_trans()) { t_relay(); exit; }',
    // As in the plain config: in-dialog requests without a Route set still reach the user through lookup().
    '  if (is_method("INVITE|BYE|ACK")) {',
    ...inviteAuth,
    '    if (is_method("INVITE") && !has_totag()) { remove_hf("Route"); record_route(); }',
    '    if (uri != myself) {',
    ws !== undefined ? '      if ($ru =~ ";alias=") { handle_ruri_alias(); }' : '',
    media.replace(/^ {4}/, '      '),
    '      route(RELAY);',
    '    }',
    '    if (!lookup("location")) {',
    '      if (is_method("ACK")) { t_relay(); exit; }',
    '      sl_send_reply("404", "Not Found"); exit;',
    '    }',
    media,
    '    route(RELAY);',
    '  }',
    '  sl_send_reply("405", "Method Not Allowed");',
    '}',
    '',
    'route[RELAY] {',
    rtp ? '  if (is_method("INVITE")) { t_on_reply("MEDIA_REPLY"); t_on_failure("MEDIA_FAILURE"); }' : '',
    '  if (!t_relay()) { sl_reply_error(); }',
    '  exit;',
    '}',
    ...(rtp
      ? [
          '',
          // The offer here, the answer in onreply_route[MEDIA_REPLY]; flags by the side that receives the SDP.
          'route[MEDIA] {',
          '  if ($du =~ "transport=ws" || ($du == "" && $ru =~ "transport=ws")) { setflag(FLT_DST_WS); }',
          '  if (is_method("BYE")) { rtpengine_delete(); return; }',
          '  if (!is_method("INVITE") || !has_body("application/sdp")) { return; }',
          '  if (isflagset(FLT_DST_WS)) {',
          `    rtpengine_offer("${TO_BROWSER_OFFER}");`,
          '  } else {',
          `    rtpengine_offer("${TO_PHONE}");`,
          '  }',
          '}',
          '',
          'onreply_route[MEDIA_REPLY] {',
          '  if (!has_body("application/sdp")) { return; }',
          '  if (isflagset(FLT_SRC_WS)) {',
          `    rtpengine_answer("${TO_BROWSER_ANSWER}");`,
          '  } else {',
          `    rtpengine_answer("${TO_PHONE}");`,
          '  }',
          '}',
          '',
          'failure_route[MEDIA_FAILURE] {',
          '  rtpengine_delete();',
          '}',
        ]
      : []),
    ...(ws !== undefined
      ? [
          '',
          // Runs for every reply before a named onreply_route: a WebSocket peer's Contact gets the alias too.
          'onreply_route {',
          '  if (nat_uac_test("64")) { add_contact_alias(); }',
          '}',
          '',
          // HTTP on the WebSocket port: only the upgrade is served.
          'event_route[xhttp:request] {',
          '  set_reply_close();',
          '  set_reply_no_connect();',
          `  if ($Rp != ${ws}) { xhttp_reply("403", "Forbidden", "", ""); exit; }`,
          '  if ($hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {',
          '    if (ws_handle_handshake()) { exit; }',
          '  }',
          '  xhttp_reply("404", "Not Found", "", "");',
          '}',
        ]
      : []),
  ];
}

/** The lines of a Kamailio log that explain why it refused its config. */
function configErrors(log: string): string {
  return log
    .split('\n')
    .filter((line) => /parse error|bad config|yyparse|cfg\. parser|ERROR: .*(cfg|config|fixup|module)/i.test(line))
    .map((line) => line.replace(/^\s*\d+\(\d+\)\s*/, '').trim())
    .slice(0, 5)
    .join(' | ');
}

/**
 * Writes the config into test-output/<suite>/<name>.cfg and runs Kamailio in the foreground with it; resolves once
 * it answers OPTIONS over UDP and accepts TCP. Rejects with a HarnessError naming kamailio and quoting its log when
 * the config is refused or it does not come up.
 */
export async function startKamailio(options: KamailioOptions): Promise<Kamailio> {
  assertPrivateNetns();
  const port = options.port ?? (await freePort());
  const wsPort = options.wsPort ?? (options.websocket ? await freePort() : undefined);
  const rtpengineSocket = options.rtpengineSocket ?? options.rtpengine?.ngSocket;
  const name = uniqueComponent(options.suite, options.name ?? 'kamailio');
  const dir = suiteDir(options.suite);
  const runDir = join(dir, `${name}.run`);
  mkdirSync(runDir, { recursive: true });
  const configPath = join(dir, `${name}.cfg`);
  writeFileSync(configPath, options.config ?? kamailioConfig({ ...options, port, wsPort, rtpengineSocket }));
  const users = { ...(options.users ?? {}) };
  const wantTcp = options.tcp ?? true;

  const args = [
    '-DD', // stay in the foreground (our process group) but still fork the workers
    '-E',
    '-m', String(options.shmMb ?? 64),
    '-M', String(options.pkgMb ?? 8),
    '-Y', runDir,
    '-P', join(runDir, 'kamailio.pid'),
    '-w', runDir,
    '-f', configPath,
  ];
  let proc: ManagedProcess;
  try {
    proc = await startProcess({
      suite: options.suite,
      component: name,
      command: 'kamailio',
      args,
      readyTimeoutMs: options.readyTimeoutMs ?? 10_000,
      ready: {
        what: `a SIP answer to OPTIONS on udp:${LOOPBACK}:${port}${wantTcp ? ' and a TCP listener' : ''}${wsPort !== undefined ? ` and a WebSocket listener on ${wsPort}` : ''}`,
        probe: async () =>
          (await sipOptionsPing(port, { transport: 'udp', timeoutMs: 300 })) !== undefined &&
          (!wantTcp || (await tcpAccepts(port, LOOPBACK, 300))) &&
          (wsPort === undefined || (await tcpAccepts(wsPort, LOOPBACK, 300))),
      },
    });
  } catch (err) {
    if (!(err instanceof HarnessError)) throw err;
    // Errors name kamailio even when the instance has a name of its own ("proxy-b").
    const label = name.startsWith('kamailio') ? name : `kamailio ${name}`;
    const why = err.logPath ? configErrors(readFileSync(err.logPath, 'utf8')) : '';
    const reason = why ? `${err.reason}: config ${relative(REPO_ROOT, configPath)} rejected: ${why}` : err.reason;
    throw new HarnessError(label, reason, err.logPath, err.logPath ? tailLines(err.logPath) : undefined);
  }

  const host = LOOPBACK;
  return {
    host,
    port,
    address: `${host}:${port}`,
    domain: host,
    users,
    configPath,
    logPath: proc.logPath,
    process: proc,
    wsPort,
    wsUrl: wsPort === undefined ? undefined : `ws://${host}:${wsPort}`,
    uri: (transport: Transport = 'udp') => `sip:${host}:${port};transport=${transport}`,
    aor: (user: string) => `sip:${user}@${host}:${port}`,
    stop: () => proc.stop(),
  };
}
