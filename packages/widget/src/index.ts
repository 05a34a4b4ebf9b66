/// <reference lib="dom" />
/**
 * The bundle's entry: defines `<switchboard-phone>`, puts `window.Switchboard` on the page (and nothing else), and
 * mounts the phone when the script tag says how:
 *
 *   <script src="https://GATEWAY/switchboard.js" data-token-url="/crm/phone-token" async></script>
 *
 * A second copy of the script (included twice) finds `window.Switchboard` and leaves the first one in charge.
 */
import { defaultGatewayUrl, optionsFromScript, type MountOptions } from './options.js';
import { ELEMENT_NAME, SwitchboardPhone } from './switchboard-phone.js';
import { WIDGET_VERSION } from './version.js';

export type { MountOptions };

// document.currentScript is set only while a classic script first runs; async callbacks see null.
const script = document.currentScript instanceof HTMLScriptElement ? document.currentScript : null;

export interface SwitchboardApi {
  /** Mounts the phone (replacing one mounted before). */
  mount(options: MountOptions): void;
  unmount(): void;
  /** Opens the panel, fills the number and calls; false when `number` is not a dialable number. */
  call(number: string): boolean;
  open(): void;
  close(): void;
  readonly version: string;
}

declare global {
  interface Window {
    Switchboard?: SwitchboardApi;
  }
}

function install(): void {
  if (window.Switchboard) return;
  if (!customElements.get(ELEMENT_NAME)) customElements.define(ELEMENT_NAME, SwitchboardPhone);
  let mounted: SwitchboardPhone | undefined;

  const api: SwitchboardApi = {
    mount(options) {
      if (typeof options?.tokenUrl !== 'string' || options.tokenUrl === '') throw new TypeError('Switchboard.mount: tokenUrl is required');
      const gatewayUrl = options.gatewayUrl ?? defaultGatewayUrl(script?.src, location.href);
      if (gatewayUrl === undefined) throw new TypeError('Switchboard.mount: gatewayUrl is required when the page is not served over http(s)');
      api.unmount();
      const element = document.createElement(ELEMENT_NAME) as SwitchboardPhone;
      element.configure({ tokenUrl: options.tokenUrl, gatewayUrl, lang: options.lang });
      (document.body ?? document.documentElement).append(element);
      mounted = element;
    },
    unmount() {
      mounted?.remove();
      mounted = undefined;
    },
    call: (number) => mounted?.takeCall(String(number)) ?? false,
    open: () => mounted?.openPanel(true),
    close: () => mounted?.closePanel(),
    version: WIDGET_VERSION,
  };
  Object.defineProperty(window, 'Switchboard', { value: Object.freeze(api), enumerable: true, configurable: true, writable: false });

  const fromScript = optionsFromScript({ tokenUrl: script?.dataset.tokenUrl, gateway: script?.dataset.gateway, lang: script?.dataset.lang });
  if (!fromScript) return;
  if (document.body) api.mount(fromScript);
  else document.addEventListener('DOMContentLoaded', () => api.mount(fromScript), { once: true });
}

install();
