/// <reference lib="dom" />
/**
 * What the SDK takes from the browser, in one place, so that tests (and unusual hosts) can hand in their own:
 * the socket and peer connection constructors, the microphone, timers and randomness.
 */

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface Platform {
  WebSocket: typeof WebSocket;
  createPeerConnection: (config: RTCConfiguration) => RTCPeerConnection;
  getUserMedia: (constraints: MediaStreamConstraints) => Promise<MediaStream>;
  timers: Timers;
  /** In [0, 1), like `Math.random`; spreads reconnect attempts. */
  random: () => number;
}

export const browserTimers: Timers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
};

function missing(name: string): never {
  throw new TypeError(`${name} is not available in this environment; pass it in the phone's options`);
}

/** The injection points a host page (or a test) may fill; the rest come from the browser. */
export interface PlatformOverrides {
  WebSocket?: typeof WebSocket;
  RTCPeerConnection?: typeof RTCPeerConnection;
  getUserMedia?: Platform['getUserMedia'];
  timers?: Timers;
  random?: () => number;
}

export function browserPlatform(overrides: PlatformOverrides): Platform {
  return {
    WebSocket: overrides.WebSocket ?? globalThis.WebSocket ?? missing('WebSocket'),
    // Looked up when a call needs it, so a page without WebRTC can still connect and see its line state.
    createPeerConnection: (config) => {
      const Constructor = overrides.RTCPeerConnection ?? globalThis.RTCPeerConnection ?? missing('RTCPeerConnection');
      return new Constructor(config);
    },
    getUserMedia:
      overrides.getUserMedia ??
      ((constraints) => {
        const devices = globalThis.navigator?.mediaDevices;
        // Browsers hide mediaDevices on pages that are not secure contexts (http: other than localhost).
        if (!devices) return Promise.reject(Object.assign(new Error('navigator.mediaDevices is unavailable (not a secure context?)'), { name: 'SecurityError' }));
        return devices.getUserMedia(constraints);
      }),
    timers: overrides.timers ?? browserTimers,
    random: overrides.random ?? Math.random,
  };
}

export function randomId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const INSTANCE_KEY = 'switchboard.instance';

/**
 * The tab's instance id, kept in sessionStorage: it survives reloads of the same tab (so the new page replaces the
 * old session instead of ringing twice) but not a new tab.
 */
export function tabInstance(): string {
  try {
    const stored = globalThis.sessionStorage.getItem(INSTANCE_KEY);
    if (stored) return stored;
    const id = `tab-${randomId()}`;
    globalThis.sessionStorage.setItem(INSTANCE_KEY, id);
    return id;
  } catch {
    // Storage disabled (privacy settings, sandboxed iframes): a fresh id per page still works, minus supersession.
    return `tab-${randomId()}`;
  }
}

/** The element remote audio plays through when the host page gives none: hidden, autoplaying, in the body. */
export function hiddenAudioElement(): HTMLAudioElement {
  const audio = globalThis.document.createElement('audio');
  audio.autoplay = true;
  audio.hidden = true;
  globalThis.document.body.append(audio);
  return audio;
}
