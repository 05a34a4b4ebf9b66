// Injected before any page script (playwright addInitScript): watches the peer connections the page creates and
// lets a test listen to the remote audio of the newest one, without the page under test knowing. Tone detection is
// a Goertzel filter on the analyser's time-domain data, as in phone.js.
(() => {
  if (window.__probe) return;
  const Native = window.RTCPeerConnection;
  const connections = [];
  const remoteTracks = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      connections.push(this);
      this.addEventListener('track', (event) => {
        if (event.track.kind === 'audio') remoteTracks.push(event.track);
      });
    }
  };

  // Voice processing (noise suppression, gain control) learns a steady test tone as background noise within
  // seconds and turns it down by ~20 dB, which is right for speech and wrong for a tone detector. The page's own
  // constraints are kept; only these three are switched off.
  const mediaDevices = navigator.mediaDevices;
  const nativeGetUserMedia = mediaDevices.getUserMedia.bind(mediaDevices);
  mediaDevices.getUserMedia = (constraints = {}) => {
    if (!constraints.audio) return nativeGetUserMedia(constraints);
    const audio = typeof constraints.audio === 'object' ? constraints.audio : {};
    return nativeGetUserMedia({ ...constraints, audio: { ...audio, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
  };

  let audioContext;
  let analysedTrack;
  let analyser;

  function currentAnalyser() {
    const track = [...remoteTracks].reverse().find((t) => t.readyState === 'live');
    if (!track) return undefined;
    if (track !== analysedTrack) {
      audioContext ??= new AudioContext();
      audioContext.resume().catch(() => {});
      const source = audioContext.createMediaStreamSource(new MediaStream([track]));
      analyser = audioContext.createAnalyser();
      analyser.fftSize = 4096;
      source.connect(analyser);
      analysedTrack = track;
    }
    return analyser;
  }

  /** Power of `freq` in x relative to a pure tone of the same energy: ~1 for that tone alone, ~0 without it. */
  function goertzelRatio(x, freq, rate) {
    const n = x.length;
    const coeff = 2 * Math.cos((2 * Math.PI * freq) / rate);
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

  async function detectTone(freq, { timeoutMs = 8000, holdMs = 500, minRatio = 0.5, minRms = 0.01, others = [] } = {}) {
    const started = Date.now();
    let heldSince;
    let best = { ratio: 0, rms: 0 };
    let frames = 0;
    const otherBest = Object.fromEntries(others.map((f) => [f, 0]));
    while (Date.now() - started < timeoutMs) {
      const a = currentAnalyser();
      if (a) {
        const data = new Float32Array(a.fftSize);
        a.getFloatTimeDomainData(data);
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

  /** The newest connection's state, its RTP counters, and whether the remote audio plays through a media element. */
  async function state() {
    const pc = connections[connections.length - 1];
    const playing = [...document.querySelectorAll('audio')].some((el) => el.srcObject && !el.paused);
    const rtp = {};
    if (pc) {
      for (const report of (await pc.getStats()).values()) {
        if (report.type === 'inbound-rtp' && report.kind === 'audio') {
          Object.assign(rtp, { packetsReceived: report.packetsReceived, audioLevel: report.audioLevel, energy: report.totalAudioEnergy });
        }
        if (report.type === 'outbound-rtp' && report.kind === 'audio') rtp.packetsSent = report.packetsSent;
        if (report.type === 'media-source' && report.kind === 'audio') rtp.sourceLevel = report.audioLevel;
      }
    }
    return {
      rtp,
      visibility: document.visibilityState,
      connections: connections.length,
      connectionState: pc?.connectionState ?? 'none',
      open: connections.filter((c) => c.connectionState !== 'closed').length,
      liveRemoteTracks: remoteTracks.filter((t) => t.readyState === 'live').length,
      audioElements: document.querySelectorAll('audio').length,
      playing,
    };
  }

  window.__probe = { detectTone, state };
})();
