import fs from 'node:fs';
import path from 'node:path';
import type { Lang } from '../../domain/types.js';

export const LANGS: readonly Lang[] = ['ja', 'en'];

type Strings = Record<string, string>;

/**
 * Strings come from locales/<lang>/*.json; each file is a namespace ("panel.json" gives
 * "panel.title"). Both languages must hold the same keys; a unit test checks it.
 */
export interface Translator {
  t(lang: Lang, key: string, params?: Record<string, unknown>): string;
  keys(lang: Lang): string[];
}

export function loadLocales(dir: string): Translator {
  const tables = new Map<Lang, Strings>();
  for (const lang of LANGS) {
    const table: Strings = {};
    const folder = path.join(dir, lang);
    for (const file of fs.readdirSync(folder).filter((f) => f.endsWith('.json')).sort()) {
      const ns = file.slice(0, -'.json'.length);
      flatten(JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8')) as unknown, ns, table, path.join(folder, file));
    }
    tables.set(lang, table);
  }
  return {
    t(lang, key, params) {
      const text = tables.get(lang)?.[key] ?? tables.get('en')?.[key];
      if (text === undefined) return key;
      return params ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m)) : text;
    },
    keys(lang) {
      return Object.keys(tables.get(lang) ?? {}).sort();
    },
  };
}

function flatten(value: unknown, prefix: string, out: Strings, file: string): void {
  if (typeof value === 'string') {
    out[prefix] = value;
  } else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, `${prefix}.${k}`, out, file);
  } else {
    throw new Error(`${file}: ${prefix} must be a string or an object of strings`);
  }
}

/** The user's stored preference, then the language cookie, then Accept-Language; English otherwise. */
export function chooseLanguage(preference: Lang | null | undefined, cookie: string | undefined, acceptLanguage: string | undefined): Lang {
  if (preference) return preference;
  if (cookie === 'ja' || cookie === 'en') return cookie;
  const ranked = (acceptLanguage ?? '').split(',').map((part) => {
    const [tag, q] = part.trim().split(';q=');
    return { tag: (tag ?? '').toLowerCase(), q: q === undefined ? 1 : Number(q) };
  }).filter((r) => Number.isFinite(r.q) && r.q > 0).sort((a, b) => b.q - a.q);
  for (const { tag } of ranked) {
    if (tag.startsWith('ja')) return 'ja';
    if (tag.startsWith('en')) return 'en';
  }
  return 'en';
}
