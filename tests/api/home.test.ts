import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseLanguage } from '../../server/http/ui/i18n.js';
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

  it('sends a visitor to the login page, in Japanese or English', async () => {
    const root = await panel.app.inject('/');
    expect(root.statusCode).toBe(303);
    expect(root.headers.location).toBe('/login');
    const ja = await panel.app.inject({ url: '/login', headers: { 'accept-language': 'ja,en;q=0.5' } });
    expect(ja.statusCode).toBe(200);
    expect(ja.body).toContain('lang="ja"');
    expect(ja.body).toContain('ログイン');
    expect(ja.headers['content-security-policy']).toContain("script-src 'self'");
    const en = await panel.app.inject({ url: '/login', headers: { 'accept-language': 'ja', cookie: 'kura_lang=en' } });
    expect(en.body).toContain('lang="en"');
    expect(en.body).toContain('Log in');
  });

  it('chooses the language by the account, then the cookie, then Accept-Language weights', () => {
    expect(chooseLanguage(null, undefined, 'en-US,ja;q=0.9')).toBe('en');
    expect(chooseLanguage(null, undefined, 'fr, ja;q=0.8, en;q=0.5')).toBe('ja');
    expect(chooseLanguage(null, 'ja', 'en')).toBe('ja');
    expect(chooseLanguage('en', 'ja', 'ja')).toBe('en');
    expect(chooseLanguage(null, 'xx', undefined)).toBe('en');
    expect(chooseLanguage(null, undefined, 'ja;q=0, en;q=0.1')).toBe('en');
  });
});
