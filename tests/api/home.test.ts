import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickLanguage } from '../../server/http/ui/home.js';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';

describe('front page and service endpoints', () => {
  let panel: TestPanel;
  beforeAll(async () => {
    panel = await startTestPanel();
  });
  afterAll(async () => panel.close());

  it('answers /healthz without a token', async () => {
    const res = await panel.app.inject('/healthz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('serves the OpenAPI document with every contract path', async () => {
    const res = await panel.app.inject('/api/v1/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of ['/nodes', '/nodes/{id}', '/templates', '/templates/{id}', '/plans', '/plans/{id}', '/customers', '/customers/{id}',
      '/customers/{id}/suspend', '/customers/{id}/resume', '/customers/{id}/tokens', '/tokens/{id}', '/environments', '/environments/{id}',
      '/environments/{id}/actions', '/environments/{id}/stats', '/environments/{id}/logs', '/operations', '/operations/{id}',
      '/operations/{id}/wait', '/events']) {
      expect(Object.keys(doc.paths), p).toContain(p);
    }
    expect((await panel.app.inject('/api/v1/docs/')).statusCode).toBe(200);
  });

  it('renders the front page in Japanese or English', async () => {
    const ja = await panel.app.inject({ url: '/', headers: { 'accept-language': 'ja,en;q=0.5' } });
    expect(ja.statusCode).toBe(200);
    expect(ja.body).toContain('lang="ja"');
    expect(ja.body).toContain('プロビジョニング API');
    expect(ja.headers['content-security-policy']).toContain("default-src 'self'");
    const en = await panel.app.inject({ url: '/?lang=en', headers: { 'accept-language': 'ja' } });
    expect(en.body).toContain('Provisioning API');
  });

  it('chooses the language by ?lang, then by Accept-Language weights', () => {
    expect(pickLanguage(undefined, 'en-US,ja;q=0.9')).toBe('en');
    expect(pickLanguage(undefined, 'fr, ja;q=0.8, en;q=0.5')).toBe('ja');
    expect(pickLanguage('ja', 'en')).toBe('ja');
    expect(pickLanguage('xx', undefined)).toBe('en');
  });
});
