/**
 * The point where a configured gateway comes to life; `switchboard start` calls `start` once the configuration has
 * been checked. It opens the store (seeding the demo operators in demo mode), the SIP side (listeners, the registrar
 * for phones, operators' lines at PBXs, calls bridged to SIP with rtpengine when configured), call routing, and the
 * HTTP/WebSocket server for browser sessions (login with CRM tokens). Closing goes the other way round.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { systemClock, type TransportAddress } from '@switchboard/sip';
import { nodeDnsResolver } from '@switchboard/sip/node';
import { CallRouter } from './calls/call-router.js';
import { createTokenVerifier } from './auth/token-verifier.js';
import { iceServersFor } from './auth/turn.js';
import { redactConfig } from './config/redact.js';
import type { GatewayConfig } from './config/types.js';
import { startSipListener } from './sip-listener.js';
import { Registrar } from './sip/registrar.js';
import { bindingTarget, type LocationService } from './sip/location-service.js';
import { LineRegistrations } from './sip/line-registrations.js';
import { SipCallLayer } from './calls/sip-calls.js';
import type { PhoneDirectory } from './calls/sip-routes.js';
import { RtpengineClient } from './media/rtpengine-client.js';
import { warnOfMissingHoldMusic } from './media/hold-music.js';
import { createMediaSession } from './media/media-session.js';
import { seedDemoOperators } from './store/seed.js';
import { openStore } from './store/store.js';
import { registerAssets } from './web/assets.js';
import { createHttpServer } from './ws/http-server.js';
import { HttpContactLookup } from './lookup/contact-lookup.js';

export interface StartOptions {
  /** Where logs go; by default JSON lines on stdout at the configured level. */
  readonly logger?: Logger | undefined;
}

export interface RunningGateway {
  readonly logger: Logger;
  /** Where browsers connect (`/ws`) and health is reported (`/healthz`). */
  readonly http: { host: string; port: number };
  readonly sip: { udp: { host: string; port: number }; tcp: { host: string; port: number }; listening: readonly TransportAddress[] };
  /** SIP phones registered to the gateway's registrar: `lookup(user)` gives where to reach each one. */
  readonly location: LocationService;
  /** Stops accepting sessions and calls, and releases ports and the database. */
  close(): Promise<void>;
}

export function createLogger(config: GatewayConfig, destination?: DestinationStream): Logger {
  return destination === undefined
    ? pino({ name: 'switchboard', level: config.logging.level })
    : pino({ name: 'switchboard', level: config.logging.level }, destination);
}

export async function start(config: GatewayConfig, options: StartOptions = {}): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger(config);
  // Only the redacted form is ever logged: secrets would otherwise end up in journald and log shippers.
  logger.info({ config: redactConfig(config) }, 'gateway configured');
  const store = await openStore({ kind: 'sqlite', file: config.database.file });
  const opened: { close(): Promise<void> }[] = [store];
  try {
    if (config.demo !== undefined) await seedDemoOperators(store, config.demo.operators);
    let router: CallRouter | undefined;
    let lines: LineRegistrations | undefined;
    const http = createHttpServer({
      host: config.http.host,
      port: config.http.port,
      verifier: createTokenVerifier(config.auth),
      directory: store.operators,
      logger,
      limits: { maxSessionsPerOperator: config.limits.maxSessionsPerOperator, messagesPerSecond: config.limits.messagesPerSecond },
      sessionInfo: {
        iceServers: (operator) => iceServersFor(config.ice, operator.id),
        lineState: (operator) => lines?.stateOf(operator.id) ?? { state: 'none' },
        calls: (operator, sessionId) => router?.callsOf(operator, sessionId) ?? [],
      },
      onRequest: (session, request, afterReply) => router!.handle(session, request, afterReply),
      onSessionOpened: (session) => router?.sessionOpened(session),
      onSessionClosed: (session) => router?.sessionClosed(session),
    });

    const rtpengine = config.rtpengine === undefined ? undefined : new RtpengineClient({ ...config.rtpengine, logger: logger.child({ component: 'rtpengine' }) });
    if (rtpengine !== undefined) opened.unshift({ close: async () => rtpengine.close() });
    if (config.rtpengine !== undefined) warnOfMissingHoldMusic(config.rtpengine, logger);
    const sip = await startSipListener(config.sip, logger);
    opened.unshift(sip);
    const registrar = new Registrar({ config: config.registrar, logger, clock: systemClock });
    registrar.attach(sip);
    opened.unshift({ close: async () => registrar.close() });
    const resolver = nodeDnsResolver({ ...(config.dns.servers === undefined ? {} : { servers: config.dns.servers }), timeoutMs: config.dns.timeoutMs, tries: config.dns.tries });
    const lineRegistrations = new LineRegistrations({ ua: sip.ua, lines: config.lines, logger, resolver });
    lines = lineRegistrations;
    lineRegistrations.on('line-state', ({ operatorId, state }) => http.registry.broadcast(operatorId, { type: 'line.state', ...state }));
    // Closed before the SIP listener, so that the un-REGISTERs still go out.
    opened.unshift({ close: () => lineRegistrations.close() });

    const lookup = config.lookup === undefined ? undefined : new HttpContactLookup(config.lookup, { logger });
    const sipCalls = new SipCallLayer({
      ua: sip.ua,
      registry: http.registry,
      directory: store.operators,
      lines: lineRegistrations,
      phones: phoneDirectory(registrar.location),
      mediaFor: (mode, callId, codecs) =>
        mode === 'rtpengine' && rtpengine === undefined
          ? undefined
          : createMediaSession({
              mode,
              callId,
              codecs,
              logger: logger.child({ component: 'media' }),
              holdMusic: config.rtpengine?.holdMusic,
              ...(rtpengine === undefined ? {} : { client: rtpengine }),
            }),
      calls: store.calls,
      clock: systemClock,
      logger,
      ringTimeoutSeconds: config.routing.ringTimeoutSeconds,
      busy: (operatorId) => router?.isBusy(operatorId) ?? false,
      lookup,
    });
    sip.handlers.INVITE = sipCalls.onInvite;
    sip.handlers.BYE = sipCalls.onBye;
    sip.handlers.NOTIFY = sipCalls.onNotify;
    sip.ua.on('cancelled', ({ request }) => sipCalls.onCancelled(request));

    router = new CallRouter({
      registry: http.registry,
      directory: store.operators,
      calls: store.calls,
      routing: config.routing,
      clock: systemClock,
      logger,
      sip: sipCalls,
      lookup,
    });
    registerAssets(http.app, {
      logger,
      ...(config.demo?.testPage === true && config.auth.kind === 'hs256'
        ? { demo: { secret: config.auth.secret, audience: config.auth.audience, operators: store.operators } }
        : {}),
    });
    const calls = router;
    // Closed after the browser sessions (which end their calls) and before the SIP side and the store.
    opened.unshift({ close: () => calls.close() });
    opened.unshift(http);
    const httpAddress = await http.listen();
    lineRegistrations.start();
    logger.info({ http: httpAddress, sip: sip.listening }, 'gateway listening');
    let closing: Promise<void> | undefined;
    return {
      logger,
      http: httpAddress,
      sip: { udp: { host: sip.udp.host, port: sip.udp.port }, tcp: { host: sip.tcp.host, port: sip.tcp.port }, listening: sip.listening },
      location: registrar.location,
      close() {
        closing ??= closeInOrder(opened).then(() => logger.info('gateway stopped'));
        return closing;
      },
    };
  } catch (error) {
    await closeInOrder(opened);
    throw error;
  }
}

/** Newest first: listeners stop before the store they write to. */
async function closeInOrder(parts: readonly { close(): Promise<void> }[]): Promise<void> {
  for (const part of parts) await part.close();
}

/** The registrar's bindings as the call layer needs them: where each phone is reached, and who is registered. */
function phoneDirectory(location: LocationService): PhoneDirectory {
  return {
    lookup(user) {
      return location.lookup(user).flatMap((binding) => {
        const target = bindingTarget(binding);
        return target === undefined ? [] : [{ contact: binding.uri, source: target.destination, connectionId: target.connectionId }];
      });
    },
    isRegisteredSource: (source) => location.hasBindingFrom(source),
  };
}
