/**
 * How a page configures the widget: `data-*` attributes on the script tag, or `Switchboard.mount(options)`.
 * Kept free of the DOM so the rules are testable.
 */

export interface MountOptions {
  /** The host CRM's token endpoint (same origin as the page): GET, answers `{"token": "..."}`. */
  tokenUrl: string;
  /** The gateway's WebSocket endpoint; default: the origin the script came from, path `/ws`. */
  gatewayUrl?: string;
  /** `en` or `ru`; default: the browser's language. */
  lang?: string;
}

/** The attributes of the script tag, as read from its `dataset`. */
export interface ScriptData {
  tokenUrl?: string | undefined;
  gateway?: string | undefined;
  lang?: string | undefined;
}

/**
 * `https://gw.example.com/switchboard.js` → `wss://gw.example.com/ws`. Without a script URL (the bundle inlined
 * into a page) the page's own origin stands in. Undefined when neither is http(s).
 */
export function defaultGatewayUrl(scriptSrc: string | undefined, pageUrl: string): string | undefined {
  for (const candidate of [scriptSrc, pageUrl]) {
    if (!candidate) continue;
    let url: URL;
    try {
      url = new URL(candidate, pageUrl);
    } catch {
      continue;
    }
    if (url.protocol === 'https:') return `wss://${url.host}/ws`;
    if (url.protocol === 'http:') return `ws://${url.host}/ws`;
  }
  return undefined;
}

/** The options a script tag asks for, or undefined when it has no token URL (the page mounts from JS then). */
export function optionsFromScript(data: ScriptData): MountOptions | undefined {
  if (!data.tokenUrl) return undefined;
  const options: MountOptions = { tokenUrl: data.tokenUrl };
  if (data.gateway) options.gatewayUrl = data.gateway;
  if (data.lang) options.lang = data.lang;
  return options;
}
