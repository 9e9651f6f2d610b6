import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironment } from '../helpers/panel.js';
import { launchBrowser, login, logout, newSession, startWebPanel, type WebPanel } from '../helpers/browser.js';

const strings = (lang: string) => ({
  common: JSON.parse(fs.readFileSync(new URL(`../../locales/${lang}/common.json`, import.meta.url), 'utf8')),
  panel: JSON.parse(fs.readFileSync(new URL(`../../locales/${lang}/panel.json`, import.meta.url), 'utf8')),
});
const ja = strings('ja');
const en = strings('en');
const ALICE = { email: 'alice@kura.example', password: 'alice-password-1' };
const BOB = { email: 'bob@kura.example', password: 'bob-password-1' };

describe('in a browser: login, language, what a customer may not open, and cross-site forms', () => {
  let web: WebPanel;
  let browser: Browser;
  let attacker: http.Server | null = null;
  let alice: { id: string; envId: string };
  let bobEnvId: string;

  beforeAll(async () => {
    [web, browser] = await Promise.all([startWebPanel(), launchBrowser()]);
    const customer = async (name: string, c: typeof ALICE) => {
      const res = await web.panel.api('POST', '/customers', { name, email: c.email, password: c.password });
      if (res.status !== 201) throw new Error(`customer: ${res.text}`);
      const env = await createEnvironment(web.panel, { name: `${name.toLowerCase()}-site`, templateId: 'static-site', planId: web.plan.id, customerId: res.body.id });
      return { id: res.body.id as string, envId: env.id as string };
    };
    let bob: { envId: string };
    [alice, bob] = await Promise.all([customer('Alice', ALICE), customer('Bob', BOB)]);
    bobEnvId = bob.envId;
  });
  afterAll(async () => {
    await browser?.close();
    if (attacker) await new Promise((r) => attacker!.close(r));
    await web?.close();
  });

  it('switches to Japanese and keeps it on the account across logout and a fresh browser, then back', async () => {
    const first = await newSession(browser);
    const page = first.page;
    await login(page, web.url, ALICE.email, ALICE.password, '/panel');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await Promise.all([page.waitForURL(`${web.url}/panel`), page.click('[data-testid="lang-ja"]')]);
    expect(await page.getAttribute('html', 'lang')).toBe('ja');
    await expect.poll(() => page.textContent('h1')).toBe(ja.panel.environments.title);
    expect(await page.textContent('form[action="/logout"] button')).toBe(ja.common.logout);
    await logout(page, web.url);
    await first.context.close();

    // A new browser session has no language cookie and asks for English: only the account can say Japanese.
    const second = await newSession(browser);
    await second.page.goto(`${web.url}/login`);
    expect(await second.page.getAttribute('html', 'lang')).toBe('en');
    await login(second.page, web.url, ALICE.email, ALICE.password, '/panel');
    expect(await second.page.getAttribute('html', 'lang')).toBe('ja');
    expect(await second.page.textContent('h1')).toBe(ja.panel.environments.title);
    await Promise.all([second.page.waitForURL(`${web.url}/panel`), second.page.click('[data-testid="lang-en"]')]);
    expect(await second.page.getAttribute('html', 'lang')).toBe('en');
    expect(await second.page.textContent('h1')).toBe(en.panel.environments.title);
    await second.context.close();

    const third = await newSession(browser);
    await login(third.page, web.url, ALICE.email, ALICE.password, '/panel');
    expect(await third.page.getAttribute('html', 'lang')).toBe('en');
    await third.context.close();
  });

  it('answers a wrong password with 401 and the login form again, without signing in', async () => {
    const { context, page } = await newSession(browser);
    await page.goto(`${web.url}/login`);
    await page.fill('input[name=email]', ALICE.email);
    await page.fill('input[name=password]', 'not-her-password');
    const [res] = await Promise.all([page.waitForResponse(`${web.url}/login`), page.click('form[action="/login"] button[type=submit]')]);
    expect(res.status()).toBe(401);
    expect(await page.isVisible('[role=alert]')).toBe(true);
    expect(await page.inputValue('input[name=email]')).toBe(ALICE.email);
    expect((await page.goto(`${web.url}/panel`))?.url()).toMatch(/\/login\?next=%2Fpanel$/);
    await context.close();
  });

  it('answers a customer 404 on admin pages and on another customer\'s environment', async () => {
    const { context, page } = await newSession(browser);
    await login(page, web.url, ALICE.email, ALICE.password, '/panel');
    for (const url of ['/admin', '/admin/nodes', `/panel/environments/${bobEnvId}`]) {
      const res = await page.goto(`${web.url}${url}`);
      expect(res?.status(), url).toBe(404);
      expect(await page.textContent('h1'), url).toBe(en.common.error.title404);
      expect(await page.locator('[data-testid=node-grid], [data-testid=nodes], [data-testid=start]').count(), url).toBe(0);
    }
    // Her own environment opens, so the 404 above is about whose it is.
    expect((await page.goto(`${web.url}/panel/environments/${alice.envId}`))?.status()).toBe(200);
    await context.close();
  });

  it('refuses forms another site posts while the customer is signed in, and changes nothing', async () => {
    const { context, page } = await newSession(browser);
    await login(page, web.url, ALICE.email, ALICE.password, '/panel');
    await page.goto(`${web.url}/panel/account`);
    // Even a CSRF token that leaked does not help a form from another origin.
    const leaked = await page.getAttribute('meta[name=csrf-token]', 'content');
    expect(leaked).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    const forms: Record<string, string> = {
      '/token': `<form method="post" action="${web.url}/panel/account/tokens"><input name="_csrf" value="${leaked}"><input name="name" value="planted"></form>`,
      '/stop': `<form method="post" action="${web.url}/panel/environments/${alice.envId}/actions"><input name="action" value="stop"></form>`,
    };
    attacker = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>prize</title>${forms[req.url ?? ''] ?? ''}<script>document.forms[0] && document.forms[0].submit()</script>`);
    });
    await new Promise<void>((r) => attacker!.listen(0, '127.0.0.1', r));
    const evil = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;

    for (const [path, target] of [['/token', '/panel/account/tokens'], ['/stop', `/panel/environments/${alice.envId}/actions`]] as const) {
      const answer = page.waitForResponse((r) => r.url() === `${web.url}${target}` && r.request().method() === 'POST');
      await page.goto(`${evil}${path}`);
      const res = await answer;
      expect(res.status(), path).toBe(403);
      await page.waitForURL(`${web.url}${target}`);
      await expect.poll(() => page.textContent('main'), { message: path }).toMatch(/cross-site request refused/);
    }

    expect(web.panel.ctx.repos.tokens.byCustomer(alice.id)).toEqual([]);
    await page.goto(`${web.url}/panel/account`);
    expect(await page.locator('text=planted').count()).toBe(0);
    const ops = web.panel.ctx.repos.operations.page('', 200, { resourceId: alice.envId });
    expect(ops.map((o) => o.kind)).toEqual(['provision']);
    await page.goto(`${web.url}/panel`);
    expect(await page.getAttribute(`[data-env-state="${alice.envId}"]`, 'data-state')).toBe('running');
    await context.close();
  });
});
