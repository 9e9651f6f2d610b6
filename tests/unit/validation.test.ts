import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, ConfigError } from '../../server/config.js';
import { loadTemplates, TemplateError } from '../../server/templates/catalog.js';
import { parseEndpoint } from '../../server/docker/node-client.js';
import { ROOT } from '../../server/config.js';

function templateDir(files: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-tpl-'));
  for (const [id, json] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, id));
    fs.writeFileSync(path.join(dir, id, 'template.json'), typeof json === 'string' ? json : JSON.stringify(json));
  }
  return dir;
}

const good = {
  name: 'T', version: '1', description: '', source: { type: 'busybox' }, ports: [{ name: 'http', port: 80, protocol: 'tcp' }],
  dataPath: '/srv', capabilities: [], command: ['httpd'], env: {}, defaults: null,
};

describe('configuration', () => {
  it('has the contract defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.dataDir).toBe(path.resolve('./data'));
  });
  it('names every bad setting', () => {
    expect(() => loadConfig({ PORT: 'eighty', KURA_ADMIN_TOKEN: 'short' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: '99999', KURA_ADMIN_TOKEN: 'short', KURA_ADMIN_EMAIL: 'a@b.c' });
    } catch (err) {
      expect((err as Error).message).toMatch(/PORT/);
      expect((err as Error).message).toMatch(/KURA_ADMIN_TOKEN/);
      expect((err as Error).message).toMatch(/KURA_ADMIN_PASSWORD must be set together/);
    }
  });
});

describe('templates', () => {
  it('load the shipped templates', () => {
    const catalog = loadTemplates(path.join(ROOT, 'templates'));
    expect(catalog.list().map((t) => t.id)).toEqual(expect.arrayContaining(['static-site', 'debian-nginx']));
    expect(catalog.get('debian-nginx')?.source.type).toBe('debootstrap');
  });
  it('refuse unknown fields, bad JSON and dangerous capabilities with the template named', () => {
    expect(() => loadTemplates(templateDir({ a: { ...good, extra: 1 } }))).toThrow(/a: .*extra|a: \//);
    expect(() => loadTemplates(templateDir({ b: '{ not json' }))).toThrow(/b: cannot read template.json/);
    expect(() => loadTemplates(templateDir({ c: { ...good, capabilities: ['SYS_ADMIN'] } }))).toThrow(/SYS_ADMIN/);
    expect(() => loadTemplates(templateDir({ d: { ...good, dataPath: '/srv/../etc' } }))).toThrow(TemplateError);
    expect(() => loadTemplates(templateDir({ e: { ...good, source: { type: 'busybox', overlay: '../../etc' } } }))).toThrow(TemplateError);
    expect(() => loadTemplates(templateDir({ Bad_Id: good }))).toThrow(/not a valid template id/);
  });
});

describe('node endpoints', () => {
  it('accept unix sockets and tcp host:port', () => {
    expect(parseEndpoint('unix:///var/run/docker.sock')).toEqual({ kind: 'unix', path: '/var/run/docker.sock' });
    expect(parseEndpoint('tcp://10.0.0.2:2376')).toEqual({ kind: 'tcp', host: '10.0.0.2', port: 2376 });
  });
  it.each(['http://x:1', 'tcp://x', 'tcp://x:0', 'tcp://x:70000', 'unix://relative', 'tcp://a b:1', 'ssh://h'])('refuse %s', (e) => {
    expect(() => parseEndpoint(e)).toThrow(/endpoint must be/);
  });
});
