/**
 * The demo CRM's pages. Every page for a signed-in user carries the widget's script tag exactly as a real CRM
 * would put it in its layout: from the gateway's origin, with the URL of this CRM's token endpoint. The page's own behaviour (the
 * activity strip, the screen-pop banner) is in /static/crm.js, because the CSP allows no inline script.
 */
import { html, type SafeHtml } from './html.js';
import type { Contact, Operator, PhoneNumber } from './contacts.js';
import { dialString } from './phone-numbers.js';

export const TOKEN_PATH = '/crm/phone-token';

export interface PageContext {
  /** The widget's script on the gateway, e.g. http://127.0.0.1:8080/switchboard.js. */
  readonly widgetSrc: string;
  /** Undefined on the sign-in page. */
  readonly operator?: Operator | undefined;
}

export function layout(context: PageContext, title: string, body: SafeHtml): string {
  const { operator } = context;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Acme CRM</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/crm.css">
<script src="/static/crm.js"></script>
${
  // Signed-in pages only, like a real CRM's layout: on the sign-in page the widget could only be refused a token.
  operator === undefined ? '' : html`<script src="${context.widgetSrc}" data-token-url="${TOKEN_PATH}" async></script>`
}
</head>
<body>
<header class="topbar">
  <a class="brand" href="/">Acme CRM</a>
  ${
    operator === undefined
      ? html`<span class="topbar-note">Switchboard demo</span>`
      : html`<nav aria-label="Main">
    <a href="/contacts">Contacts</a>
    <a href="/contacts#colleagues">Colleagues</a>
  </nav>
  <div class="user">
    <span id="phone-status" class="pill" data-state="loading">Phone: loading</span>
    <span class="who">${operator.name} <span class="muted">ext. ${operator.extension}</span></span>
    <form method="post" action="/logout"><button type="submit" class="link-button">Sign out</button></form>
  </div>`
  }
</header>
<div id="call-banner" class="call-banner" role="status" aria-live="polite" hidden></div>
<main>
${body}
</main>
${
  operator === undefined
    ? ''
    : html`<section class="activity" aria-labelledby="activity-title">
  <h2 id="activity-title">Phone activity <span class="muted">(the widget's DOM events on this page)</span></h2>
  <ol id="activity" reversed></ol>
  <p id="activity-empty" class="muted">Nothing yet.</p>
</section>`
}
</body>
</html>
`.value;
}

export function signInPage(context: PageContext, operators: readonly Operator[], error?: string): string {
  return layout(
    context,
    'Sign in',
    html`<section class="card narrow">
  <h1>Sign in</h1>
  <p class="muted">A demo: pick an operator, no password. Each operator has a phone in the corner of every page.</p>
  ${error === undefined ? '' : html`<p class="error" role="alert">${error}</p>`}
  <form method="post" action="/login" class="stack">
    <label for="operator">Operator</label>
    <select id="operator" name="operator" required>
      ${operators.map((o) => html`<option value="${o.id}">${o.name} (ext. ${o.extension})</option>`)}
    </select>
    <button type="submit">Sign in</button>
  </form>
  <p class="hint">To call between operators, open this CRM in two browsers (or a normal and a private window: one
  browser shares its sign-in between tabs), sign in as 101 in one and 102 in the other, and call the other's
  extension from Colleagues.</p>
</section>`,
  );
}

function phoneCell(phone: PhoneNumber): SafeHtml {
  const dial = dialString(phone.number);
  return html`<span class="phone"><a href="tel:${dial}">${phone.number}</a> <span class="muted">${phone.label}</span>
    <button type="button" class="call" data-switchboard-call="${dial}" aria-label="Call ${phone.number}">Call</button></span>`;
}

export function contactsPage(context: PageContext, contacts: readonly Contact[], colleagues: readonly Operator[]): string {
  const me = context.operator;
  return layout(
    context,
    'Contacts',
    html`<section class="card">
  <h1>Contacts</h1>
  <p class="hint">Click a number or a Call button: the call goes through the phone widget. This demo runs without a
  PBX, so the gateway can only reach the operators' extensions; an external number ends as "not found". Connect a
  PBX (docs/pbx.md) to call them.</p>
  <table class="table">
    <thead><tr><th scope="col">Name</th><th scope="col">Company</th><th scope="col">Phone</th></tr></thead>
    <tbody>
      ${contacts.map(
        (c) => html`<tr>
        <td><a href="/contacts/${encodeURIComponent(c.id)}">${c.name}</a>${c.title === undefined ? '' : html`<div class="muted">${c.title}</div>`}</td>
        <td>${c.company}</td>
        <td>${c.phones.map((p) => html`<div>${phoneCell(p)}</div>`)}</td>
      </tr>`,
      )}
    </tbody>
  </table>
</section>
<section class="card" id="colleagues">
  <h2>Colleagues</h2>
  <p class="hint">Operators call each other by extension. Sign in as another operator in a second browser to answer.</p>
  <table class="table">
    <thead><tr><th scope="col">Name</th><th scope="col">Extension</th></tr></thead>
    <tbody>
      ${colleagues.map(
        (o) => html`<tr id="colleague-${o.extension}">
        <td>${o.name}${me?.id === o.id ? html` <span class="muted">(you)</span>` : ''}</td>
        <td>${
          me?.id === o.id
            ? o.extension
            : html`<a href="tel:${o.extension}">${o.extension}</a>
          <button type="button" class="call" data-switchboard-call="${o.extension}" aria-label="Call ${o.name}">Call</button>`
        }</td>
      </tr>`,
      )}
    </tbody>
  </table>
</section>`,
  );
}

export function contactPage(context: PageContext, contact: Contact): string {
  return layout(
    context,
    contact.name,
    html`<p class="crumbs"><a href="/contacts">Contacts</a> › ${contact.name}</p>
<section class="card">
  <h1>${contact.name}</h1>
  <p class="muted">${contact.title === undefined ? '' : html`${contact.title}, `}${contact.company}</p>
  <dl class="details">
    <dt>Company</dt><dd>${contact.company}</dd>
    ${contact.city === undefined ? '' : html`<dt>City</dt><dd>${contact.city}</dd>`}
    ${contact.email === undefined ? '' : html`<dt>Email</dt><dd><a href="mailto:${contact.email}">${contact.email}</a></dd>`}
    <dt>Phone</dt><dd>${contact.phones.map((p) => html`<div>${phoneCell(p)}</div>`)}</dd>
  </dl>
</section>
<section class="card">
  <h2>Notes</h2>
  ${contact.notes.length === 0 ? html`<p class="muted">No notes.</p>` : html`<ul class="notes">${contact.notes.map((n) => html`<li>${n}</li>`)}</ul>`}
</section>`,
  );
}

export function notFoundPage(context: PageContext): string {
  return layout(context, 'Not found', html`<section class="card"><h1>Not found</h1><p><a href="/contacts">Back to contacts</a></p></section>`);
}
