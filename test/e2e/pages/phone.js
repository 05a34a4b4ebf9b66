// A SIP.js softphone driven by the e2e harness (test/e2e/support/browser.ts) through window.phone.
// Bundled with esbuild; plain JavaScript because the test type-check has no DOM library.
import { Inviter, Registerer, RegistererState, SessionState, UserAgent } from 'sip.js';

let ua;
let registerer;
let session;
/** Invitations nobody has answered yet, oldest first; waiters get the next one. */
const incoming = [];
const incomingWaiters = [];
let audioContext;
let analyser;
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

/** The remote audio goes to the <audio> element and to an analyser for tone detection. */
function attachRemoteAudio(s) {
  const pc = s.sessionDescriptionHandler.peerConnection;
  const stream = new MediaStream();
  for (const receiver of pc.getReceivers()) if (receiver.track && receiver.track.kind === 'audio') stream.addTrack(receiver.track);
  const element = document.getElementById('remote');
  element.srcObject = stream;
  element.play().catch((err) => note(`audio element play failed: ${err}`));
  audioContext ??= new AudioContext();
  audioContext.resume().catch(() => {});
  const source = audioContext.createMediaStreamSource(stream);
  analyser = audioContext.createAnalyser();
  analyser.fftSize = 4096;
  source.connect(analyser);
  note(`remote audio attached: ${stream.getAudioTracks().length} track(s), context ${audioContext.state} at ${audioContext.sampleRate} Hz`);
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

/** Power of `freq` in x relative to a pure tone of the same energy: ~1 for that tone alone, ~0 without it. */
function goertzelRatio(x, freq, rate) {
  const n = x.length;
  const w = (2 * Math.PI * freq) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const s0 = x[i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += x[i] * x[i];
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return { ratio: energy > 0 ? power / ((n / 2) * energy) : 0, rms: Math.sqrt(energy / n) };
}

/**
 * Watches the remote audio until `freq` dominates it for holdMs in a row; resolves with what was measured either way
 * (detected false at timeoutMs), so a failing test can report how close it came.
 */
async function detectTone(freq, { timeoutMs = 8000, holdMs = 500, minRatio = 0.5, minRms = 0.01, others = [] } = {}) {
  const started = Date.now();
  let heldSince;
  let best = { ratio: 0, rms: 0 };
  let frames = 0;
  const otherBest = Object.fromEntries(others.map((f) => [f, 0]));
  while (Date.now() - started < timeoutMs) {
    if (analyser) {
      const data = new Float32Array(analyser.fftSize);
      analyser.getFloatTimeDomainData(data);
      const m = goertzelRatio(data, freq, audioContext.sampleRate);
      for (const f of others) otherBest[f] = Math.max(otherBest[f], goertzelRatio(data, f, audioContext.sampleRate).ratio);
      frames++;
      if (m.ratio > best.ratio) best = m;
      if (m.ratio >= minRatio && m.rms >= minRms) {
        heldSince ??= Date.now();
        if (Date.now() - heldSince >= holdMs) {
          return { detected: true, afterMs: Date.now() - started, ratio: m.ratio, rms: m.rms, best, frames, otherBest, context: audioContext.state };
        }
      } else {
        heldSince = undefined;
      }
    }
    await new Promise((r) => setTimeout(r, 40));
  }
  return { detected: false, afterMs: Date.now() - started, best, frames, otherBest, context: audioContext?.state ?? 'none' };
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
