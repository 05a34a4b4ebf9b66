// Injected before any page script (playwright addInitScript): taps what the page plays through WebAudio, so a test
// can hear the widget's ringback and ringtone without the page knowing. Every node connected to a context's
// destination is also connected to an analyser of that context; `__soundProbe.detect(freq)` runs a Goertzel filter
// over the analysers' time-domain data until the frequency dominates a frame.
(() => {
  if (window.__soundProbe) return;
  const analysers = new Map();
  const nativeConnect = AudioNode.prototype.connect;

  function analyserFor(context) {
    let analyser = analysers.get(context);
    if (!analyser) {
      analyser = context.createAnalyser();
      analyser.fftSize = 4096;
      analysers.set(context, analyser);
    }
    return analyser;
  }

  AudioNode.prototype.connect = function connect(target, ...rest) {
    const result = nativeConnect.call(this, target, ...rest);
    if (typeof AudioDestinationNode !== 'undefined' && target instanceof AudioDestinationNode) {
      nativeConnect.call(this, analyserFor(target.context));
    }
    return result;
  };

  /** Power of `freq` in x relative to a pure tone of the same energy: ~1 for that tone alone, ~0 without it. */
  function goertzelRatio(x, freq, rate) {
    const coeff = 2 * Math.cos((2 * Math.PI * freq) / rate);
    let s1 = 0;
    let s2 = 0;
    let energy = 0;
    for (let i = 0; i < x.length; i++) {
      const s0 = x[i] + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
      energy += x[i] * x[i];
    }
    const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    return energy > 0 ? (2 * power) / (x.length * energy) : 0;
  }

  async function detect(freq, { timeoutMs = 7000, minRatio = 0.3, minRms = 0.001 } = {}) {
    const started = performance.now();
    let best = 0;
    while (performance.now() - started < timeoutMs) {
      for (const [context, analyser] of analysers) {
        if (context.state !== 'running') continue;
        const data = new Float32Array(analyser.fftSize);
        analyser.getFloatTimeDomainData(data);
        let sum = 0;
        for (const v of data) sum += v * v;
        if (Math.sqrt(sum / data.length) < minRms) continue;
        const ratio = goertzelRatio(data, freq, context.sampleRate);
        best = Math.max(best, ratio);
        if (ratio >= minRatio) return { detected: true, ratio, afterMs: Math.round(performance.now() - started) };
      }
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    return { detected: false, ratio: best, afterMs: Math.round(performance.now() - started), contexts: analysers.size };
  }

  window.__soundProbe = { detect };
})();
