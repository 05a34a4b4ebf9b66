/**
 * All of the widget's CSS, inside its shadow root: the host page's styles cannot reach in, and nothing here
 * reaches out. `:host` resets the element itself with `!important`, which beats the page's normal declarations
 * (`* { all: unset }`, `display: none` on custom elements...). Sizes are in px, never rem: the page's root font
 * size is not ours. Custom properties still inherit from the page, which is how it themes the widget.
 */
import { css } from 'lit';

export const styles = css`
  :host {
    all: initial !important;
    display: block !important;
    position: fixed !important;
    top: 0 !important;
    left: 0 !important;
    width: 0 !important;
    height: 0 !important;
    overflow: visible !important;
    visibility: visible !important;
    opacity: 1 !important;
    transform: none !important;
    z-index: var(--switchboard-z-index, 2147483000) !important;
  }
  .root {
    all: initial;
    --accent: var(--switchboard-accent, #2563eb);
    --bg: var(--switchboard-bg, #ffffff);
    --fg: var(--switchboard-fg, #1f2328);
    --muted: var(--switchboard-muted, #5c6670);
    --danger: var(--switchboard-danger, #c62828);
    --success: var(--switchboard-success, #1b873f);
    --radius: var(--switchboard-radius, 12px);
    --font: var(--switchboard-font, system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif);
    font-family: var(--font);
    font-size: 14px;
    line-height: 20px;
    color: var(--fg);
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  [hidden] {
    display: none !important;
  }
  button,
  input,
  a {
    font: inherit;
    color: inherit;
  }
  button {
    cursor: pointer;
    border: 0;
    margin: 0;
    background: none;
  }
  button:disabled,
  button[aria-disabled='true'] {
    cursor: default;
    opacity: 0.45;
  }
  :focus-visible {
    outline: 3px solid var(--accent);
    outline-offset: 2px;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }

  .fab {
    position: fixed;
    right: 24px;
    bottom: 24px;
    width: 56px;
    height: 56px;
    border-radius: 50%;
    background: var(--accent);
    color: #fff;
    box-shadow: 0 4px 14px rgba(0, 0, 0, 0.25);
    display: flex;
    align-items: center;
    justify-content: center;
    touch-action: none;
    user-select: none;
  }
  .fab svg {
    width: 26px;
    height: 26px;
    fill: currentColor;
  }
  .fab .dot {
    position: absolute;
    top: 3px;
    right: 3px;
    width: 14px;
    height: 14px;
    border-radius: 50%;
    border: 2px solid #fff;
    background: var(--muted);
  }
  .root[data-state='idle'] .fab .dot,
  .root[data-state='ended'] .fab .dot {
    background: var(--success);
  }
  .root[data-state='ringing-in'] .fab {
    background: var(--success);
    animation: pulse 1s ease-in-out infinite;
  }
  .root[data-state='in-call'] .fab .dot,
  .root[data-state='dialling'] .fab .dot {
    background: var(--danger);
    border-radius: 3px;
  }
  /* Shape as well as colour: offline is a hollow ring, online a dot, a call a square. */
  .root[data-state='disconnected'] .fab .dot,
  .root[data-state='connecting'] .fab .dot {
    background: var(--accent);
    box-shadow: inset 0 0 0 3px #fff;
  }
  @keyframes pulse {
    50% {
      box-shadow: 0 0 0 10px rgba(27, 135, 63, 0.25);
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .root[data-state='ringing-in'] .fab {
      animation: none;
    }
  }

  .panel {
    position: fixed;
    right: 24px;
    bottom: 92px;
    width: 300px;
    max-height: calc(100vh - 110px);
    overflow: auto;
    background: var(--bg);
    color: var(--fg);
    border-radius: var(--radius);
    box-shadow: 0 10px 36px rgba(0, 0, 0, 0.28);
    border: 1px solid rgba(0, 0, 0, 0.08);
    display: flex;
    flex-direction: column;
    gap: 10px;
    padding: 0 14px 14px;
  }
  .head {
    display: flex;
    align-items: center;
    gap: 8px;
    margin: 0 -14px;
    padding: 10px 10px 8px 14px;
    cursor: move;
    touch-action: none;
    user-select: none;
    border-bottom: 1px solid rgba(0, 0, 0, 0.08);
  }
  .head h2 {
    all: unset;
    flex: 1;
    font-size: 15px;
    font-weight: 600;
  }
  .icon-button {
    width: 32px;
    height: 32px;
    border-radius: 8px;
    font-size: 20px;
    line-height: 32px;
    text-align: center;
    color: var(--muted);
  }
  .icon-button:hover {
    background: rgba(0, 0, 0, 0.06);
  }

  .status {
    font-size: 13px;
    color: var(--muted);
    min-height: 20px;
  }
  .status p {
    margin: 0;
  }
  .status .call-status {
    color: var(--fg);
    font-weight: 600;
  }
  .status .problem {
    color: var(--danger);
  }

  .contact {
    display: flex;
    flex-direction: column;
    gap: 2px;
    padding: 10px 12px;
    border-radius: calc(var(--radius) - 4px);
    background: rgba(0, 0, 0, 0.04);
  }
  .contact .name {
    font-size: 18px;
    line-height: 24px;
    font-weight: 600;
    overflow-wrap: anywhere;
  }
  .contact .company,
  .contact .number {
    color: var(--muted);
    overflow-wrap: anywhere;
  }
  .contact a {
    color: var(--accent);
    margin-top: 4px;
    text-decoration: underline;
  }
  .contact dl {
    margin: 4px 0 0;
    display: grid;
    grid-template-columns: auto 1fr;
    gap: 0 8px;
    font-size: 12px;
    color: var(--muted);
  }
  .contact dd {
    margin: 0;
    color: var(--fg);
    overflow-wrap: anywhere;
  }
  .timer {
    font-variant-numeric: tabular-nums;
    font-size: 22px;
    line-height: 28px;
    text-align: center;
  }

  .dial-row {
    display: flex;
    gap: 8px;
  }
  .dial-row input {
    flex: 1;
    min-width: 0;
    height: 40px;
    padding: 0 10px;
    border: 1px solid rgba(0, 0, 0, 0.25);
    border-radius: 8px;
    background: var(--bg);
    font-size: 16px;
  }
  .dial-row input:disabled {
    opacity: 0.6;
  }
  .action {
    height: 40px;
    padding: 0 16px;
    border-radius: 8px;
    font-weight: 600;
    color: #fff;
    white-space: nowrap;
  }
  .action.call,
  .action.answer {
    background: var(--success);
  }
  .action.hangup,
  .action.reject {
    background: var(--danger);
  }
  .action.secondary {
    background: rgba(0, 0, 0, 0.07);
    color: var(--fg);
  }
  .action[aria-pressed='true'] {
    background: var(--fg);
    color: var(--bg);
  }
  .ring-row,
  .call-row {
    display: flex;
    gap: 8px;
  }
  .ring-row .action,
  .call-row .action {
    flex: 1;
  }

  .dialpad {
    display: grid;
    grid-template-columns: repeat(3, 1fr);
    gap: 6px;
  }
  .dialpad button {
    height: 44px;
    border-radius: 8px;
    background: rgba(0, 0, 0, 0.05);
    display: flex;
    flex-direction: column;
    align-items: center;
    justify-content: center;
    line-height: 18px;
  }
  .dialpad button:hover:not(:disabled) {
    background: rgba(0, 0, 0, 0.1);
  }
  .dialpad .digit {
    font-size: 18px;
    font-weight: 600;
  }
  .dialpad .letters {
    font-size: 9px;
    line-height: 10px;
    letter-spacing: 1px;
    color: var(--muted);
    min-height: 10px;
  }

  .recent h3 {
    all: unset;
    display: block;
    font-size: 12px;
    font-weight: 600;
    color: var(--muted);
    text-transform: uppercase;
    letter-spacing: 0.5px;
    margin-bottom: 4px;
  }
  .recent ul {
    list-style: none;
    margin: 0;
    padding: 0;
  }
  .recent li {
    display: flex;
    align-items: center;
    gap: 8px;
    padding: 4px 0;
    border-top: 1px solid rgba(0, 0, 0, 0.06);
  }
  .recent .who {
    flex: 1;
    min-width: 0;
  }
  .recent .who > span {
    display: block;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .recent .meta {
    font-size: 12px;
    color: var(--muted);
  }
  .recent .missed {
    color: var(--danger);
  }
  .recent .callback {
    width: 32px;
    height: 32px;
    border-radius: 50%;
    color: var(--success);
    display: flex;
    align-items: center;
    justify-content: center;
  }
  .recent .callback svg {
    width: 18px;
    height: 18px;
    fill: currentColor;
  }
  .empty {
    color: var(--muted);
    font-size: 13px;
  }
`;
