// A SIP.js softphone driven by the e2e harness (test/e2e/support/browser.ts) through window.phone.
// Bundled with esbuild; plain JavaScript because the test type-check has no DOM library.
import { Inviter, Registerer, RegistererState, SessionState, UserAgent } from 'sip.js';

let ua;
let registerer;
let session;
/** Invitations nobody has answered yet, oldest first; waiters get the next one. */
const incoming = [];
const incomingWaiters = [];
const log = [];

function note(text) {
  const line = `${new Date().toISOString()} ${text}`;
  log.push(line);
  console.log(line);
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function waitForSessionState(s, wanted, ms) {
  if (s.state === wanted) return Promise.resolve();
  return withTimeout(
    new Promise((resolve, reject) => {
      s.stateChange.addListener((state) => {
        if (state === wanted) resolve();
        else if (state === SessionState.Terminated) reject(new Error(`session terminated while waiting for ${wanted}`));
      });
    }),
    ms,
    `session state ${wanted}`,
  );
}

function sdhOptions() {
  return { constraints: { audio: true, video: false } };
}

/** The remote audio goes to the <audio> element (Chromium feeds WebAudio a remote track only while it plays). */
function attachRemoteAudio(s) {
  const pc = s.sessionDescriptionHandler.peerConnection;
  const stream = new MediaStream();
  for (const receiver of pc.getReceivers()) if (receiver.track && receiver.track.kind === 'audio') stream.addTrack(receiver.track);
  const element = document.getElementById('remote');
  element.srcObject = stream;
  element.play().catch((err) => note(`audio element play failed: ${err}`));
  note(`remote audio attached: ${stream.getAudioTracks().length} track(s)`);
}

function trackSession(s) {
  session = s;
  s.stateChange.addListener((state) => {
    note(`session ${state}`);
    if (state === SessionState.Established) attachRemoteAudio(s);
  });
}

async function register({ wsUrl, aor, user, password, timeoutMs = 10000, sipLogLevel = 'warn' }) {
  ua = new UserAgent({
    uri: UserAgent.makeURI(aor),
    transportOptions: { server: wsUrl, connectionTimeout: 5 },
    authorizationUsername: user,
    authorizationPassword: password,
    displayName: user,
    logLevel: sipLogLevel,
    logConnector: (level, category, label, content) => note(`sip.js ${level} ${category}: ${content}`),
    // SIP.js's default ICE server is a public STUN server: nothing may leave the loopback.
    sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [] }, iceGatheringTimeout: 2000 },
    delegate: {
      onInvite(invitation) {
        note(`incoming INVITE from ${invitation.remoteIdentity.uri}`);
        const waiter = incomingWaiters.shift();
        if (waiter) waiter(invitation);
        else incoming.push(invitation);
      },
    },
  });
  await withTimeout(ua.start(), timeoutMs, 'WebSocket connect');
  registerer = new Registerer(ua, { expires: 300 });
  const registered = new Promise((resolve, reject) => {
    registerer.stateChange.addListener((state) => {
      note(`registerer ${state}`);
      if (state === RegistererState.Registered) resolve();
      if (state === RegistererState.Terminated) reject(new Error('registerer terminated'));
    });
  });
  let failure;
  await registerer.register({
    requestDelegate: {
      onReject(response) {
        failure = `${response.message.statusCode} ${response.message.reasonPhrase}`;
      },
    },
  });
  await withTimeout(
    Promise.race([
      registered,
      new Promise((_, reject) => {
        const poll = setInterval(() => {
          if (failure) {
            clearInterval(poll);
            reject(new Error(`REGISTER rejected: ${failure}`));
          }
        }, 20);
      }),
    ]),
    timeoutMs,
    'REGISTER',
  );
  return registerer.state;
}

async function call(target, { timeoutMs = 15000 } = {}) {
  const inviter = new Inviter(ua, UserAgent.makeURI(target), { sessionDescriptionHandlerOptions: sdhOptions() });
  trackSession(inviter);
  let rejected;
  await inviter.invite({
    requestDelegate: {
      onReject(response) {
        rejected = `${response.message.statusCode} ${response.message.reasonPhrase}`;
      },
    },
  });
  try {
    await waitForSessionState(inviter, SessionState.Established, timeoutMs);
  } catch (err) {
    throw new Error(rejected ? `INVITE rejected: ${rejected}` : err.message);
  }
  return inviter.state;
}

function nextInvitation(timeoutMs) {
  const queued = incoming.shift();
  if (queued) return Promise.resolve(queued);
  return withTimeout(new Promise((resolve) => incomingWaiters.push(resolve)), timeoutMs, 'incoming INVITE');
}

/** Answers the next incoming call (waiting for it); resolves with the caller's URI once the call is up. */
async function answer({ timeoutMs = 15000 } = {}) {
  const invitation = await nextInvitation(timeoutMs);
  trackSession(invitation);
  await invitation.accept({ sessionDescriptionHandlerOptions: sdhOptions() });
  await waitForSessionState(invitation, SessionState.Established, timeoutMs);
  return String(invitation.remoteIdentity.uri);
}

async function hangup({ timeoutMs = 5000 } = {}) {
  const s = session;
  if (!s) return 'none';
  if (s.state === SessionState.Established) await s.bye();
  else if (s.state === SessionState.Establishing && s instanceof Inviter) await s.cancel();
  else if (s.state === SessionState.Initial || s.state === SessionState.Establishing) await s.reject();
  if (s.state !== SessionState.Terminated) await waitForSessionState(s, SessionState.Terminated, timeoutMs);
  return s.state;
}

/** Resolves once the current call is over (the other side hung up). */
function waitForHangup({ timeoutMs = 10000 } = {}) {
  if (!session) return Promise.reject(new Error('no call'));
  return waitForSessionState(session, SessionState.Terminated, timeoutMs).then(() => session.state);
}

async function unregister() {
  if (registerer && registerer.state === RegistererState.Registered) await withTimeout(registerer.unregister(), 5000, 'unREGISTER');
  if (ua) await ua.stop();
}

/** The parts of RTCPeerConnection.getStats() the tests look at. */
async function stats() {
  const pc = session?.sessionDescriptionHandler?.peerConnection;
  if (!pc) return undefined;
  const report = await pc.getStats();
  const byId = new Map();
  report.forEach((r) => byId.set(r.id, r));
  const out = { connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState };
  report.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'audio') {
      out.inbound = { packetsReceived: r.packetsReceived, bytesReceived: r.bytesReceived, packetsLost: r.packetsLost, jitter: r.jitter, codec: byId.get(r.codecId)?.mimeType };
    } else if (r.type === 'outbound-rtp' && r.kind === 'audio') {
      out.outbound = { packetsSent: r.packetsSent, bytesSent: r.bytesSent, codec: byId.get(r.codecId)?.mimeType };
    } else if (r.type === 'transport') {
      out.transport = { dtlsState: r.dtlsState, srtpCipher: r.srtpCipher, dtlsRole: r.dtlsRole };
      const pair = byId.get(r.selectedCandidatePairId);
      if (pair) {
        const local = byId.get(pair.localCandidateId);
        const remote = byId.get(pair.remoteCandidateId);
        out.selectedPair = { state: pair.state, local: `${local?.address}:${local?.port}`, remote: `${remote?.address}:${remote?.port}` };
      }
    }
  });
  out.remoteSdp = pc.remoteDescription?.sdp;
  return out;
}

/** Tone detection is tone-probe.js's, injected before this page's scripts, on the newest remote track. */
function detectTone(freq, options) {
  return window.__probe.detectTone(freq, options);
}

window.phone = {
  register,
  call,
  answer,
  hangup,
  waitForHangup,
  unregister,
  stats,
  detectTone,
  state: () => ({ registerer: registerer?.state, session: session?.state }),
  log: () => log.slice(),
};
window.phoneReady = true;
