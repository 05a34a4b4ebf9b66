// The audio proof used by the phone tests must itself be trustworthy: it finds a tone that is there, G.711-coded or
// mixed with another, and finds nothing in silence, noise or a different tone.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeWav, describeDetection, detectTone, encodeWav, goertzelPower, readWav, sineSamples, writeToneWav } from './support/audio.js';

const RATE = 8000;

// G.711 µ-law as in ITU-T G.711 (the Sun reference), to put a tone through the same coding a call applies.
function muLawEncode(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, sample));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function muLawDecode(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

function throughG711(samples: Int16Array): Int16Array {
  return Int16Array.from(samples, (s) => muLawDecode(muLawEncode(s)));
}

/** Deterministic white noise (a fixed LCG), so a failure can be reproduced. */
function noise(count: number, amplitude: number): Int16Array {
  let state = 12345;
  return Int16Array.from({ length: count }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return Math.round(((state / 2 ** 32) * 2 - 1) * amplitude * 32767);
  });
}

function mix(...tracks: Int16Array[]): Int16Array {
  const length = Math.max(...tracks.map((t) => t.length));
  return Int16Array.from({ length }, (_, i) => tracks.reduce((sum, t) => sum + (t[i] ?? 0), 0));
}

describe('audio proof (WAV + Goertzel)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-audio-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a mono PCM16 WAV of a tone and reads it back sample for sample', () => {
    const path = join(dir, 'a440.wav');
    writeToneWav(path, { frequency: 440, sampleRate: RATE, durationS: 1.5, amplitude: 0.3 });
    const wav = readWav(path);
    assert.equal(wav.sampleRate, RATE);
    assert.equal(wav.channels, 1);
    assert.equal(wav.samples.length, 12_000);
    assert.deepEqual(wav.samples, sineSamples({ frequency: 440, sampleRate: RATE, durationS: 1.5, amplitude: 0.3 }));
    const peak = wav.samples.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    assert.ok(peak > 9500 && peak <= 9831, `peak ${peak}`);
  });

  it('mixes stereo down to mono and skips chunks it does not know', () => {
    const left = sineSamples({ frequency: 697, sampleRate: 16_000, durationS: 0.5 });
    const right = sineSamples({ frequency: 1209, sampleRate: 16_000, durationS: 0.5 });
    const mono = encodeWav(left, 16_000);
    const frames = left.length;
    // Rebuild as stereo with a LIST chunk before data, as recorders write them.
    const list = Buffer.from('LIST\x04\x00\x00\x00INFO', 'latin1');
    const data = Buffer.alloc(8 + frames * 4);
    data.write('data', 0, 'ascii');
    data.writeUInt32LE(frames * 4, 4);
    for (let i = 0; i < frames; i++) {
      data.writeInt16LE(left[i] ?? 0, 8 + i * 4);
      data.writeInt16LE(right[i] ?? 0, 10 + i * 4);
    }
    const fmt = Buffer.from(mono.subarray(12, 36));
    fmt.writeUInt16LE(2, 10);
    fmt.writeUInt32LE(16_000 * 4, 16);
    fmt.writeUInt16LE(4, 20);
    const head = Buffer.from('RIFF\x00\x00\x00\x00WAVE', 'latin1');
    const stereo = Buffer.concat([head, fmt, list, data]);
    stereo.writeUInt32LE(stereo.length - 8, 4);

    const wav = decodeWav(stereo);
    assert.equal(wav.channels, 2);
    assert.equal(wav.sampleRate, 16_000);
    assert.equal(wav.samples.length, frames);
    assert.ok(detectTone(wav.samples, 16_000, 697).present);
    assert.ok(detectTone(wav.samples, 16_000, 1209).present);
    assert.throws(() => decodeWav(Buffer.from('not a wav at all')), /not a RIFF\/WAVE file/);
  });

  it('measures a sine of amplitude A at A²/2 and next to nothing elsewhere', () => {
    const tone = sineSamples({ frequency: 440, sampleRate: RATE, durationS: 0.2, amplitude: 0.5 });
    const expected = (0.5 * 32767) ** 2 / 2;
    const at440 = goertzelPower(tone, RATE, 440);
    assert.ok(Math.abs(at440 / expected - 1) < 0.05, `power ${at440} vs ${expected}`);
    assert.ok(goertzelPower(tone, RATE, 1000) < expected * 1e-4);
  });

  it('detects a generated 440 Hz tone at 440 and not at 1000', () => {
    const tone = sineSamples({ frequency: 440, sampleRate: RATE, durationS: 2 });
    const at440 = detectTone(tone, RATE, 440);
    const at1000 = detectTone(tone, RATE, 1000);
    assert.ok(at440.present, describeDetection(at440));
    assert.ok(at440.ratio > 1000, describeDetection(at440));
    assert.ok(!at1000.present, describeDetection(at1000));
    assert.ok(at1000.share < 1e-4, describeDetection(at1000));
  });

  it('still detects the tone after G.711 coding, and only that one', () => {
    for (const [frequency, other] of [[697, 1209], [1209, 697], [440, 1000]] as const) {
      const coded = throughG711(sineSamples({ frequency, sampleRate: RATE, durationS: 2, amplitude: 0.2 }));
      const hit = detectTone(coded, RATE, frequency);
      const miss = detectTone(coded, RATE, other);
      assert.ok(hit.present && hit.ratio > 100, describeDetection(hit));
      assert.ok(!miss.present, describeDetection(miss));
    }
  });

  it('finds a quiet tone under noise with silence around it, as a call recording has', () => {
    const tone = sineSamples({ frequency: 697, sampleRate: RATE, durationS: 2, amplitude: 0.1 });
    const padded = new Int16Array(RATE * 3);
    padded.set(tone, RATE / 2);
    const recording = throughG711(mix(padded, noise(padded.length, 0.01)));
    const d = detectTone(recording, RATE, 697);
    assert.ok(d.present, describeDetection(d));
    assert.ok(!detectTone(recording, RATE, 1209).present);
  });

  it('does not detect a tone in silence or in noise', () => {
    const silence = new Int16Array(RATE * 2);
    const quiet = detectTone(silence, RATE, 440);
    assert.equal(quiet.present, false);
    assert.equal(quiet.activeS, 0);
    assert.equal(quiet.levelDbfs, -Infinity);

    const hiss = throughG711(noise(RATE * 2, 0.3));
    for (const frequency of [440, 697, 1000, 1209]) {
      const d = detectTone(hiss, RATE, frequency);
      assert.ok(!d.present, describeDetection(d));
      assert.ok(d.activeS > 1.5, 'the noise is loud enough to be analysed');
    }
  });

  it('tells two tones on one line apart from either one missing', () => {
    const both = mix(
      sineSamples({ frequency: 697, sampleRate: RATE, durationS: 2, amplitude: 0.2 }),
      sineSamples({ frequency: 1209, sampleRate: RATE, durationS: 2, amplitude: 0.2 }),
    );
    assert.ok(detectTone(both, RATE, 697).present);
    assert.ok(detectTone(both, RATE, 1209).present);
    assert.ok(!detectTone(both, RATE, 941).present);
  });
});
