import { shownTime } from '../../lib/ids.js';
import fs from 'node:fs';
import path from 'node:path';
import handlebars from 'handlebars';
import type { Lang } from '../../domain/types.js';
import type { Translator } from './i18n.js';

type HelperOptions = handlebars.HelperOptions;

const rootLang = (options: HelperOptions): Lang => ((options.data as { root?: { lang?: Lang } }).root?.lang ?? 'en');

/**
 * A handlebars instance of the panel's own, with its partials and helpers. Helpers return
 * plain strings, so handlebars escapes them like any other value.
 */
export function viewEngine(viewsDir: string, translator: Translator): typeof handlebars {
  const hb = handlebars.create();
  const partialsDir = path.join(viewsDir, 'partials');
  for (const file of fs.readdirSync(partialsDir).filter((f) => f.endsWith('.hbs'))) {
    hb.registerPartial(file.slice(0, -4), fs.readFileSync(path.join(partialsDir, file), 'utf8'));
  }
  hb.registerHelper('t', function (key: unknown, options: HelperOptions) {
    return translator.t(rootLang(options), String(key), options.hash as Record<string, unknown>);
  });
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('concat', (...args: unknown[]) => args.slice(0, -1).map(String).join(''));
  hb.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
  hb.registerHelper('and', (...args: unknown[]) => args.slice(0, -1).every(Boolean));
  hb.registerHelper('not', (a: unknown) => !a);
  hb.registerHelper('gt', (a: unknown, b: unknown) => Number(a) > Number(b));
  /** MiB shown as MiB or GiB. */
  hb.registerHelper('mib', (v: unknown) => formatMib(Number(v)));
  hb.registerHelper('bytes', (v: unknown) => formatBytes(Number(v)));
  hb.registerHelper('num', (v: unknown, digits: unknown) => formatNumber(Number(v), typeof digits === 'number' ? digits : 2));
  /** A change with its sign: "+0.5", "−256 MiB" (the caller shows "same" for 0). */
  hb.registerHelper('signed', (v: unknown) => `${Number(v) > 0 ? '+' : '−'}${formatNumber(Math.abs(Number(v)), 3)}`);
  hb.registerHelper('signedMib', (v: unknown) => `${Number(v) > 0 ? '+' : '−'}${formatMib(Math.abs(Number(v)))}`);
  hb.registerHelper('percent', (part: unknown, whole: unknown) => {
    const w = Number(whole);
    return w > 0 ? Math.round((Number(part) / w) * 100) : 0;
  });
  /** An ISO time as "2026-11-26 09:41 UTC": unambiguous in both languages. */
  hb.registerHelper('time', (iso: unknown) => shownTime(iso));
  /** A code's name in the page's language (`{{label "common.opKind." kind}}`), or the code itself when it has none. */
  hb.registerHelper('label', function (prefix: unknown, value: unknown, options: HelperOptions) {
    const key = `${String(prefix)}${String(value)}`;
    const text = translator.t(rootLang(options), key);
    return text === key ? String(value) : text;
  });
  hb.registerHelper('stateLabel', function (state: unknown, options: HelperOptions) {
    return translator.t(rootLang(options), `common.state.${String(state)}`);
  });
  return hb;
}

/** A file's size: bytes under 1 KiB, then KiB, MiB, GiB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (n < 1024) return `${n} B`;
  const [value, unit] = n < 1048576 ? [n / 1024, 'KiB'] : n < 1073741824 ? [n / 1048576, 'MiB'] : [n / 1073741824, 'GiB'];
  return `${formatNumber(value, value < 10 ? 1 : 0)} ${unit}`;
}

export function formatMib(mib: number): string {
  if (!Number.isFinite(mib)) return '—';
  return mib >= 1024 ? `${formatNumber(mib / 1024, 1)} GiB` : `${formatNumber(mib, 0)} MiB`;
}

function formatNumber(v: number, digits: number): string {
  if (!Number.isFinite(v)) return '—';
  const f = 10 ** digits;
  return String(Math.round(v * f) / f);
}
