import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTemplates, withCaptured } from '../../server/templates/catalog.js';
import { ROOT } from '../../server/config.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-captured-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function captured(id: string, version: string, at: string, extra: Record<string, unknown> = {}): void {
  const folder = path.join(dir, id, version);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'template.json'), JSON.stringify({
    name: `${id} ${version}`, version, description: 'captured', ports: [{ name: 'http', port: 8080, protocol: 'tcp' }], dataPath: '/srv/www',
    user: '1000:1000', capabilities: [], command: ['httpd'], env: {}, workingDir: null, defaults: null,
    source: { type: 'captured', image: 'image.tar', imageId: `sha256:${'a'.repeat(64)}`, sizeBytes: 10, environmentId: 'env_x', capturedAt: at },
    ...extra,
  }));
}

describe('captured templates beside the repository\'s', () => {
  const repository = loadTemplates(path.join(ROOT, 'templates'));

  it('offers the newest version of each captured id, never shadows a repository template, and skips unreadable folders', () => {
    captured('shop', '1.0', '2026-11-01T00:00:00.000Z');
    captured('shop', '2.0', '2026-11-02T00:00:00.000Z');
    captured('shop', '0.9-late', '2026-10-01T00:00:00.000Z');
    captured('static-site', '5', '2026-11-03T00:00:00.000Z');
    captured('broken', '1', '2026-11-03T00:00:00.000Z', { capabilities: ['SYS_ADMIN'] });
    fs.mkdirSync(path.join(dir, 'Not An Id', '1'), { recursive: true });
    const catalog = withCaptured(repository, dir);
    expect(catalog.get('shop')?.version).toBe('2.0');
    expect(catalog.get('static-site')?.source.type).not.toBe('captured');
    expect(catalog.get('broken')).toBeUndefined();
    expect(catalog.list().map((t) => t.id)).toEqual([...repository.list().map((t) => t.id), 'shop']);
  });

  it('takes captures while running and lets one go; a repository id cannot be taken', () => {
    const catalog = withCaptured(repository, path.join(dir, 'none-yet'));
    const shop = withCaptured(repository, dir).get('shop')!;
    catalog.add({ ...shop, id: 'fresh' });
    expect(catalog.get('fresh')?.version).toBe('2.0');
    catalog.remove('fresh');
    expect(catalog.get('fresh')).toBeUndefined();
    expect(() => catalog.add({ ...shop, id: 'static-site' })).toThrow(/repository/);
  });
});
