/// <reference lib="dom" />
/**
 * Ringback (while an outgoing call rings) and the ringtone (an incoming call), made with WebAudio: no audio files
 * to host or fetch. Browsers start an AudioContext only after a user gesture, so the context is created on the
 * first pointerdown or keydown anywhere on the page; a sound wanted before that starts then. Nothing here throws
 * or logs: a page without sound still has a working phone.
 */

export type Sound = 'ringback' | 'ringtone';

interface Pattern {
  /** Frequencies mixed while on. */
  frequencies: number[];
  /** [on, off] pairs in seconds, repeated. */
  cadence: number[];
  gain: number;
}

const PATTERNS: Record<Sound, Pattern> = {
  // 425 Hz, 1 s on and 4 s off: the ringback of Russia and most of Europe (ITU-T E.180).
  ringback: { frequencies: [425], cadence: [1, 4], gain: 0.08 },
  // Two short bursts of a two-tone chord, then a pause: unlike any ringback, audible over office noise.
  ringtone: { frequencies: [660, 880], cadence: [0.4, 0.2, 0.4, 1.6], gain: 0.1 },
};

/** How far ahead a sound is scheduled; calls ring for less (the gateway's ring timeout). */
const MAX_SECONDS = 180;
const RAMP_SECONDS = 0.015;

export class Sounds {
  private context: AudioContext | undefined;
  private wanted: Sound | undefined;
  private playing: { stop(): void } | undefined;

  constructor(private readonly createContext: () => AudioContext | undefined) {}

  /** The sound wanted now (playing, or waiting for the first gesture). */
  get current(): Sound | undefined {
    return this.wanted;
  }

  /** Call from a user gesture: creates or resumes the context, and starts a sound that was waiting for it. */
  unlock(): void {
    try {
      this.context ??= this.createContext();
      const context = this.context;
      if (!context) return;
      const start = (): void => {
        if (this.wanted && !this.playing) this.start(this.wanted);
      };
      if (context.state === 'running') start();
      else context.resume().then(start, () => {});
    } catch {
      this.context = undefined;
    }
  }

  play(sound: Sound): void {
    if (this.wanted === sound && this.playing) return;
    this.stop();
    this.wanted = sound;
    if (this.context?.state === 'running') this.start(sound);
  }

  stop(): void {
    this.wanted = undefined;
    const playing = this.playing;
    this.playing = undefined;
    try {
      playing?.stop();
    } catch {
      // Already stopped.
    }
  }

  /** Releases the audio device for good. */
  close(): void {
    this.stop();
    this.context?.close().catch(() => {});
    this.context = undefined;
  }

  private start(sound: Sound): void {
    const context = this.context;
    if (!context) return;
    try {
      const pattern = PATTERNS[sound];
      const gain = context.createGain();
      gain.gain.value = 0;
      gain.connect(context.destination);
      const begin = context.currentTime + 0.05;
      const oscillators = pattern.frequencies.map((frequency) => {
        const oscillator = context.createOscillator();
        oscillator.frequency.value = frequency;
        oscillator.connect(gain);
        oscillator.start(begin);
        oscillator.stop(begin + MAX_SECONDS);
        return oscillator;
      });
      const level = pattern.gain / pattern.frequencies.length;
      for (let t = 0, i = 0; t < MAX_SECONDS; i = (i + 1) % pattern.cadence.length) {
        const length = pattern.cadence[i] ?? 1;
        if (i % 2 === 0) {
          gain.gain.setValueAtTime(0, begin + t);
          gain.gain.linearRampToValueAtTime(level, begin + t + RAMP_SECONDS);
          gain.gain.setValueAtTime(level, begin + t + length - RAMP_SECONDS);
          gain.gain.linearRampToValueAtTime(0, begin + t + length);
        }
        t += length;
      }
      this.playing = {
        stop: () => {
          for (const oscillator of oscillators) {
            oscillator.stop();
            oscillator.disconnect();
          }
          gain.disconnect();
        },
      };
    } catch {
      this.playing = undefined;
    }
  }
}

/** The page's AudioContext constructor, if it has one. */
export function browserAudioContext(): AudioContext | undefined {
  const Constructor = globalThis.AudioContext ?? (globalThis as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  return Constructor ? new Constructor() : undefined;
}

/**
 * Unlocks `sounds` on the first user gesture anywhere on the page: one capture-phase listener each for pointerdown
 * and keydown, removed after the first. Returns a function that removes them.
 */
export function unlockOnFirstGesture(document: Document, sounds: Sounds): () => void {
  const remove = (): void => {
    document.removeEventListener('pointerdown', handler, true);
    document.removeEventListener('keydown', handler, true);
  };
  const handler = (): void => {
    remove();
    sounds.unlock();
  };
  document.addEventListener('pointerdown', handler, true);
  document.addEventListener('keydown', handler, true);
  return remove;
}
