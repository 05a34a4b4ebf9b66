/// <reference lib="dom" />
/** The recent-calls list of the panel: each call with who, how it went and when, and a button to call back. */
import { html, type TemplateResult } from 'lit';
import { formatDuration } from './duration.js';
import type { Language, MessageKey, Translate } from './i18n/index.js';
import { PHONE_ICON } from './icons.js';
import type { RecentCall } from './recent-calls.js';


export interface RecentCallsViewOptions {
  t: Translate;
  language: Language;
  /** Call-back buttons work only when a call could be placed now. */
  enabled: boolean;
  callBack(number: string): void;
}

export function recentCallsView(recent: readonly RecentCall[], options: RecentCallsViewOptions): TemplateResult {
  const { t } = options;
  return html`<section class="recent" data-part="recent" aria-labelledby="switchboard-recent">
    <h3 id="switchboard-recent">${t('recent.title')}</h3>
    ${recent.length === 0
      ? html`<p class="empty">${t('recent.empty')}</p>`
      : html`<ul>
          ${recent.map((entry) => recentCallView(entry, options))}
        </ul>`}
  </section>`;
}

function recentCallView(entry: RecentCall, { t, language, enabled, callBack }: RecentCallsViewOptions): TemplateResult {
  const label = entry.name ?? entry.number;
  const missed = entry.direction === 'inbound' && !entry.answered && entry.cause !== 'declined';
  const outcome = entry.answered
    ? `${t('recent.answered')}${entry.durationMs ? ` ${formatDuration(entry.durationMs)}` : ''}`
    : missed
      ? t('recent.missed')
      : t(`cause.${entry.cause}` as MessageKey);
  return html`<li data-call-id=${entry.callId} data-direction=${entry.direction} data-cause=${entry.cause}>
    <div class="who">
      <span>${label}</span>
      <span class="meta"
        >${entry.name ? `${entry.number} · ` : ''}${t(`recent.${entry.direction}`)} ·
        <span class=${missed ? 'missed' : ''}>${outcome}</span> · ${formatTime(entry.at, language)}</span
      >
    </div>
    <button
      class="callback"
      type="button"
      data-action="callback"
      aria-label=${t('action.callback', { who: label })}
      title=${t('action.callback', { who: label })}
      ?disabled=${!enabled}
      @click=${() => callBack(entry.number)}
    >
      <svg viewBox="0 0 24 24" aria-hidden="true">${PHONE_ICON}</svg>
    </button>
  </li>`;
}

/** The time alone for today's calls, with the date for older ones, in the widget's language. */
function formatTime(at: number, language: Language): string {
  const date = new Date(at);
  const today = new Date().toDateString() === date.toDateString();
  try {
    return new Intl.DateTimeFormat(language, today ? { hour: '2-digit', minute: '2-digit' } : { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(date);
  } catch {
    return date.toLocaleTimeString();
  }
}
