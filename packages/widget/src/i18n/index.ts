/**
 * The widget's languages. One catalogue per language with the same keys; the language comes from the page's
 * configuration (`data-lang`, `mount({ lang })`) or else the browser's.
 */
import { en, type Catalogue, type MessageKey } from './en.js';
import { ru } from './ru.js';

export type { Catalogue, MessageKey };
export type Language = 'en' | 'ru';

export const CATALOGUES: Record<Language, Catalogue> = { en, ru };

/** An explicit choice wins when it names a language we have; otherwise the browser's first match; else English. */
export function pickLanguage(explicit: string | undefined, browser: readonly string[]): Language {
  for (const tag of [explicit, ...browser]) {
    const primary = tag?.toLowerCase().split(/[-_]/)[0];
    if (primary === 'ru' || primary === 'en') return primary;
  }
  return 'en';
}

export type Params = Readonly<Record<string, string | number>>;
export type Translate = (key: MessageKey, params?: Params) => string;

export function translator(language: Language): Translate {
  const catalogue = CATALOGUES[language];
  // A key from outside the catalogue (an end cause a newer gateway sends) shows as the failure it most likely is.
  return (key, params = {}) => (catalogue[key] ?? catalogue['cause.failed']).replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** The `{name}` placeholders of a message, sorted: every language must use the same ones. */
export function placeholders(message: string): string[] {
  return Array.from(message.matchAll(/\{(\w+)\}/g), (m) => m[1] ?? '').sort();
}
