/**
 * HTML from templates where every interpolated value is escaped unless it is already markup built the same way.
 * Contact names, notes and numbers come from whoever typed them into the CRM (or, in a real one, from a web form),
 * so "escaped by default" is the only rule that survives the next template someone adds.
 */

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** The origins a page needs for the widget: its script and API over HTTP(S), its socket over WS(S). */
export function gatewayOrigins(gatewayHttpUrl: string): { http: string; ws: string } {
  const url = new URL(gatewayHttpUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError('gatewayHttpUrl must be an http: or https: URL');
  return { http: url.origin, ws: `${url.protocol === 'https:' ? 'wss:' : 'ws:'}//${url.host}` };
}

/**
 * What the widget needs and nothing else: its script from the gateway, its socket to the gateway, the token
 * fetched from this origin, remote audio from blob:/MediaStream. Styles allow 'unsafe-inline' because the
 * widget puts its own stylesheet in its shadow root; no script runs inline (the page's script is a file).
 */
export function contentSecurityPolicy(gatewayHttpUrl: string): string {
  const gateway = gatewayOrigins(gatewayHttpUrl);
  return [
    "default-src 'none'",
    `script-src 'self' ${gateway.http}`,
    `style-src 'self' 'unsafe-inline' ${gateway.http}`,
    `connect-src 'self' ${gateway.http} ${gateway.ws}`,
    `media-src 'self' blob: mediastream: ${gateway.http}`,
    `img-src 'self' data: ${gateway.http}`,
    `font-src 'self' ${gateway.http}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}
