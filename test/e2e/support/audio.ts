// Audio proof for calls between real phones: each phone plays a tone of its own frequency and records what it hears,
// so "A hears B" becomes "B's frequency dominates A's recording, A's own frequency does not".
import { readFileSync, writeFileSync } from 'node:fs';

export interface ToneOptions {
  frequency: number;
  /** Samples per second; default 8000 (what G.711 carries, and baresip's aufile refuses any other rate for it). */
  sampleRate?: number;
  durationS: number;
  /** Peak, as a fraction of full scale; default 0.3 (G.711 is clean well below clipping). */
  amplitude?: number;
}

/** Mono 16-bit samples of a sine tone, faded in and out over 10 ms so the edges do not click into every band. */
export function sineSamples({ frequency, sampleRate = 8000, durationS, amplitude = 0.3 }: ToneOptions): Int16Array {
  const count = Math.round(sampleRate * durationS);
  const fade = Math.min(Math.round(sampleRate * 0.01), Math.floor(count / 2));
  const samples = new Int16Array(count);
  for (let i = 0; i < count; i++) {
    const edge = fade === 0 ? 1 : Math.min(1, i / fade, (count - 1 - i) / fade);
    samples[i] = Math.round(amplitude * edge * 32767 * Math.sin((2 * Math.PI * frequency * i) / sampleRate));
  }
  return samples;
}

/** The bytes of a canonical 44-byte-header WAV: PCM, 16 bits, mono. */
export function encodeWav(samples: Int16Array, sampleRate: number): Buffer {
  const dataBytes = samples.length * 2;
  const wav = Buffer.alloc(44 + dataBytes);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + dataBytes, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(sampleRate, 24);
  wav.writeUInt32LE(sampleRate * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i++) wav.writeInt16LE(samples[i] ?? 0, 44 + i * 2);
  return wav;
}

/** Writes a tone WAV (mono PCM16) to path. */
export function writeToneWav(path: string, options: ToneOptions): void {
  writeFileSync(path, encodeWav(sineSamples(options), options.sampleRate ?? 8000));
}

export interface Wav {
  sampleRate: number;
  /** Channels in the file; samples are always mono (the channels' mean). */
  channels: number;
  samples: Int16Array;
  durationS: number;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/**
 * Parses a PCM16 WAV (any rate, mono or stereo) into mono samples. A data chunk whose size runs past the end of the
 * file (a recorder killed before it fixed the header up) is read to the end of the file.
 */
export function decodeWav(bytes: Buffer, name = 'WAV'): Wav {
  if (bytes.length < 12 || bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`${name}: not a RIFF/WAVE file`);
  }
  let format: { tag: number; channels: number; sampleRate: number; bits: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) throw new Error(`${name}: truncated fmt chunk`);
      let tag = bytes.readUInt16LE(body);
      // WAVE_FORMAT_EXTENSIBLE keeps the real format tag as the first two bytes of its subformat GUID.
      if (tag === WAVE_FORMAT_EXTENSIBLE && size >= 40 && body + 26 <= bytes.length) tag = bytes.readUInt16LE(body + 24);
      format = { tag, channels: bytes.readUInt16LE(body + 2), sampleRate: bytes.readUInt32LE(body + 4), bits: bytes.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!format) throw new Error(`${name}: data chunk before fmt chunk`);
      if (format.tag !== WAVE_FORMAT_PCM || format.bits !== 16) {
        throw new Error(`${name}: only 16-bit PCM is supported (format ${format.tag}, ${format.bits} bits)`);
      }
      if (format.channels < 1 || format.sampleRate < 1) throw new Error(`${name}: bad fmt chunk`);
      const end = size === 0 || body + size > bytes.length ? bytes.length : body + size;
      const frameBytes = 2 * format.channels;
      const frames = Math.floor((end - body) / frameBytes);
      const samples = new Int16Array(frames);
      for (let f = 0; f < frames; f++) {
        let sum = 0;
        for (let c = 0; c < format.channels; c++) sum += bytes.readInt16LE(body + f * frameBytes + c * 2);
        samples[f] = Math.round(sum / format.channels);
      }
      return { sampleRate: format.sampleRate, channels: format.channels, samples, durationS: frames / format.sampleRate };
    }
    offset = body + size + (size % 2); // chunks are word-aligned
  }
  throw new Error(`${name}: no ${format ? 'data' : 'fmt'} chunk`);
}

export function readWav(path: string): Wav {
  return decodeWav(readFileSync(path), path);
}

/**
 * Power of `frequency` in samples[start, start + length) by the Goertzel algorithm over a Hann window, scaled so
 * that a full-window sine of amplitude A (in sample units) gives A²/2, its mean-square contribution.
 */
export function goertzelPower(samples: ArrayLike<number>, sampleRate: number, frequency: number, start = 0, length = samples.length - start): number {
  if (length <= 0) return 0;
  const omega = (2 * Math.PI * frequency) / sampleRate;
  const coeff = 2 * Math.cos(omega);
  let s1 = 0;
  let s2 = 0;
  let windowSum = 0;
  for (let i = 0; i < length; i++) {
    const w = length === 1 ? 1 : 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (length - 1));
    windowSum += w;
    const s0 = w * (samples[start + i] ?? 0) + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const magnitude2 = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  // |X|·2/Σw is the sine's amplitude A; A²/2 its power.
  return (2 * magnitude2) / (windowSum * windowSum);
}

function meanSquare(samples: ArrayLike<number>, start: number, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const v = samples[start + i] ?? 0;
    sum += v * v;
  }
  return length > 0 ? sum / length : 0;
}

export interface DetectOptions {
  /** Analysis window; default 0.1 s (10 Hz bins, so ±15 % neighbours sit far outside the Hann main lobe). */
  windowS?: number;
  /** Windows quieter than this RMS (sample units) count as silence; default 100 (-50 dBFS, above G.711's idle noise). */
  silenceRms?: number;
  /** Minimum power of the tone over that of its strongest neighbour, in a toned window; default 10 (10 dB). */
  minNeighbourRatio?: number;
  /** Minimum share of the window's power the tone must carry; default 0.3 (another tone may share the line). */
  minShare?: number;
  /** Minimum toned time for `present`; default 0.5 s. */
  minToneS?: number;
  /** Minimum share of the non-silent windows that must be toned for `present`; default 0.5. */
  minTonedShare?: number;
}

export interface ToneDetection {
  present: boolean;
  frequency: number;
  /** Median, over non-silent windows, of the tone's power over its strongest neighbour's (0 when all is silence). */
  ratio: number;
  /** Median share of a non-silent window's power that the tone carries. */
  share: number;
  /** Seconds of windows in which the tone clearly dominated. */
  tonedS: number;
  /** Seconds of windows above the silence threshold. */
  activeS: number;
  /** RMS of the tone in the toned windows, dBFS (-Infinity when none). */
  levelDbfs: number;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Whether `frequency` is a clear tone in the samples. Works window by window so that the silence at a call's edges,
 * jitter-buffer gaps and G.711's quantisation noise neither create a tone nor hide one: a window is toned when the
 * tone stands well above the frequencies 15 % below and above it and carries a fair share of all the power.
 */
export function detectTone(samples: ArrayLike<number>, sampleRate: number, frequency: number, options: DetectOptions = {}): ToneDetection {
  const windowLength = Math.max(32, Math.round(sampleRate * (options.windowS ?? 0.1)));
  const silence = (options.silenceRms ?? 100) ** 2;
  const minRatio = options.minNeighbourRatio ?? 10;
  const minShare = options.minShare ?? 0.3;
  const neighbours = [frequency * 0.85, frequency * 1.15].filter((f) => f > 0 && f < sampleRate / 2);
  const windowS = windowLength / sampleRate;

  const ratios: number[] = [];
  const shares: number[] = [];
  let toned = 0;
  let active = 0;
  let tonePowerSum = 0;
  for (let start = 0; start + windowLength <= samples.length; start += windowLength) {
    const total = meanSquare(samples, start, windowLength);
    if (total < silence) continue;
    active++;
    const power = goertzelPower(samples, sampleRate, frequency, start, windowLength);
    const neighbour = Math.max(1e-9, ...neighbours.map((f) => goertzelPower(samples, sampleRate, f, start, windowLength)));
    const ratio = power / neighbour;
    const share = power / total;
    ratios.push(ratio);
    shares.push(share);
    if (ratio >= minRatio && share >= minShare) {
      toned++;
      tonePowerSum += power;
    }
  }
  const tonedS = toned * windowS;
  const present = tonedS >= (options.minToneS ?? 0.5) && toned >= (options.minTonedShare ?? 0.5) * active;
  return {
    present,
    frequency,
    ratio: median(ratios),
    share: median(shares),
    tonedS,
    activeS: active * windowS,
    levelDbfs: toned > 0 ? 10 * Math.log10(tonePowerSum / toned / 32768 ** 2) : -Infinity,
  };
}

/** One line for assertion messages: what was measured for a tone. */
export function describeDetection(d: ToneDetection): string {
  return (
    `${d.frequency} Hz ${d.present ? 'present' : 'absent'}: neighbour ratio ${d.ratio.toFixed(1)}, share ${d.share.toFixed(2)}, ` +
    `toned ${d.tonedS.toFixed(1)} s of ${d.activeS.toFixed(1)} s non-silent, level ${d.levelDbfs.toFixed(1)} dBFS`
  );
}
