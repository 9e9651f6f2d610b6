import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../server/config.js';
import { loadLocales } from '../../server/http/ui/i18n.js';

function files(dir: string, ext: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(path.join(dir, d.name), ext) : d.name.endsWith(ext) ? [path.join(dir, d.name)] : []);
}

describe('locales', () => {
  const i18n = loadLocales(path.join(ROOT, 'locales'));

  it('Japanese and English hold exactly the same keys', () => {
    expect(i18n.keys('ja')).toEqual(i18n.keys('en'));
    expect(i18n.keys('en').length).toBeGreaterThan(100);
  });

  it('every key a view or a page module names exists', () => {
    const known = new Set(i18n.keys('en'));
    const used = new Map<string, string>();
    for (const file of files(path.join(ROOT, 'views'), '.hbs')) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/\{\{t "([^"]+)"|\(t "([^"]+)"/g)) used.set(m[1] ?? m[2]!, file);
    }
    for (const file of files(path.join(ROOT, 'server/http/ui'), '.ts')) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/i18n\.t\([^,]+, '([a-z][A-Za-z0-9.]+)'/g)) used.set(m[1]!, file);
    }
    const missing = [...used].filter(([key]) => !known.has(key)).map(([key, file]) => `${key} (${path.relative(ROOT, file)})`);
    expect(missing).toEqual([]);
    expect(used.size).toBeGreaterThan(50);
  });

  it('fills parameters and falls back to the key itself when a string is missing', () => {
    expect(i18n.t('ja', 'auth.login.throttled', { minutes: 3 })).toContain('3 分後');
    expect(i18n.t('en', 'no.such.key')).toBe('no.such.key');
  });
});
