import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';
import { WebClient } from '../helpers/web.js';

const HOSTILE = '<img src=x onerror=alert(1)>';

describe('web panel without nodes: login, authorization, CSRF, escaping', () => {
  let panel: TestPanel;
  let customerId: string;
  beforeAll(async () => {
    panel = await startTestPanel();
    const c = await panel.api('POST', '/customers', { name: HOSTILE, email: 'hostile@kura.example', password: 'password-123' });
    customerId = c.body.id;
  });
  afterAll(async () => panel.close());

  it('logs a customer in with a fresh HttpOnly SameSite=Lax session and renders the hostile name as text', async () => {
    const web = new WebClient(panel);
    const res = await web.login('hostile@kura.example', 'password-123');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/panel');
    const cookie = [res.headers['set-cookie']].flat().find((c) => c?.startsWith('kura_session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    const list = await web.page('/panel');
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(HOSTILE);
    expect(list.body).toContain('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
    expect(list.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('refuses a wrong password without saying which part was wrong, and throttles guessing', async () => {
    const web = new WebClient(panel);
    const first = await web.login('hostile@kura.example', 'wrong-password');
    expect(first.statusCode).toBe(401);
    for (let i = 0; i < 5; i++) await web.post('/login', { email: 'hostile@kura.example', password: `nope-${i}` });
    const locked = await web.post('/login', { email: 'hostile@kura.example', password: 'password-123' });
    expect(locked.statusCode).toBe(429);
  });

  it('answers a customer 404 on admin pages and on an environment id that is not theirs', async () => {
    const c2 = await panel.api('POST', '/customers', { name: 'Second', email: 'second@kura.example', password: 'password-456' });
    const web = new WebClient(panel);
    expect((await web.login('second@kura.example', 'password-456')).statusCode).toBe(303);
    for (const url of ['/admin', '/admin/nodes', '/admin/nodes/new', '/admin/no-such-page', '/panel/no-such-page']) {
      const res = await web.get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/text\/html/);
    }
    expect((await web.get('/panel/environments/env_00000000000000000000')).statusCode).toBe(404);
    await web.page('/panel');
    expect((await web.post('/panel/environments/env_00000000000000000000/migrate', { nodeId: '' })).statusCode).toBe(404);
    expect(c2.status).toBe(201);
  });

  it('refuses a state-changing form without the CSRF token or from another origin, and changes nothing', async () => {
    const web = new WebClient(panel);
    await web.login('second@kura.example', 'password-456');
    await web.page('/panel/account');
    const before = panel.ctx.repos.tokens.byCustomer(panel.ctx.repos.customers.byEmail('second@kura.example')!.id).length;
    const noToken = await web.post('/panel/account/tokens', { name: 'x', _csrf: '' });
    expect(noToken.statusCode).toBe(403);
    const foreign = await web.post('/panel/account/tokens', { name: 'x' }, { origin: 'http://evil.example' });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.body).toMatch(/cross-site/);
    const after = panel.ctx.repos.tokens.byCustomer(panel.ctx.repos.customers.byEmail('second@kura.example')!.id).length;
    expect(after).toBe(before);
    const ok = await web.post('/panel/account/tokens', { name: 'deploy' });
    expect(ok.statusCode).toBe(201);
    expect(ok.body).toMatch(/kura_[A-Za-z0-9_-]{43}/);
  });

  it('records web and API mutations in the audit log with who and from where', async () => {
    const web = new WebClient(panel);
    await web.login('second@kura.example', 'password-456');
    const entries = panel.ctx.repos.audit.list({ limit: 50 });
    expect(entries.some((e) => e.action === 'session.login' && e.via === 'web' && e.actorLabel === 'customer:second@kura.example')).toBe(true);
    expect(entries.some((e) => e.action === 'POST /api/v1/customers' && e.via === 'api' && e.actorKind === 'admin')).toBe(true);
    expect(entries.every((e) => !/password-/.test(e.detail ?? ''))).toBe(true);
    expect(customerId).toBeTruthy();
  });

  it('serves the pages\' assets without touching sessions', async () => {
    for (const url of ['/assets/kura/css/kura.css', '/assets/kura/js/kura.js', '/assets/kura/js/chart-axis.js',
      '/assets/uplot/uPlot.iife.min.js', '/assets/xterm/lib/xterm.js']) {
      const res = await panel.app.inject(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['set-cookie'], url).toBeUndefined();
    }
  });
});
