import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironment } from '../helpers/panel.js';
import {
  ADMIN, DESKTOP, PHONE, assertNoSideways, launchBrowser, login, newSession, screenshot, startWebPanel, type WebPanel,
} from '../helpers/browser.js';

const CUSTOMER = { name: 'Sakura Bakery & Café Kabushiki-gaisha', email: 'web-team.sakura-bakery-and-cafe@kura.example', password: 'sakura-password-1' };

describe('every main page fits a phone and is photographed on phone and desktop', () => {
  let web: WebPanel;
  let browser: Browser;
  let envId: string;

  beforeAll(async () => {
    [web, browser] = await Promise.all([startWebPanel(), launchBrowser()]);
    const customer = await web.panel.api('POST', '/customers', CUSTOMER);
    if (customer.status !== 201) throw new Error(`customer: ${customer.text}`);
    await web.panel.api('POST', `/customers/${customer.body.id}/tokens`, { name: 'deploy from the build server' });
    const env = await createEnvironment(web.panel, { name: 'sakura-bakery-storefront', templateId: 'static-site', planId: web.plan.id, customerId: customer.body.id });
    envId = env.id;
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  /** Opens each page at 390 px, checks it, and photographs it at 390 and 1280 px; returns what went wrong. */
  async function photograph(page: Page, pages: Array<[name: string, path: string]>): Promise<string[]> {
    const problems: string[] = [];
    for (const [name, path] of pages) {
      await page.setViewportSize(PHONE);
      // The environment page fills in its usage figures from stats.json; photograph it once they came.
      const stats = path.startsWith('/panel/environments/') ? page.waitForResponse(/\/stats\.json$/) : null;
      const res = await page.goto(`${web.url}${path}`);
      await stats;
      if (res?.status() !== 200) problems.push(`${path} answered ${res?.status()}`);
      await assertNoSideways(page).catch((err: Error) => problems.push(err.message));
      await screenshot(page, `${name}-390`);
      await page.setViewportSize(DESKTOP);
      await screenshot(page, `${name}-1280`);
    }
    return problems;
  }

  it('login and the customer pages', async () => {
    const { context, page } = await newSession(browser, PHONE);
    const problems = await photograph(page, [['login', '/login']]);
    await login(page, web.url, CUSTOMER.email, CUSTOMER.password, '/panel');
    problems.push(...await photograph(page, [
      ['panel', '/panel'], ['panel-environment', `/panel/environments/${envId}`], ['panel-account', '/panel/account'],
    ]));
    await context.close();
    expect(problems).toEqual([]);
  });

  it('the admin pages', async () => {
    const { context, page } = await newSession(browser, PHONE);
    await login(page, web.url, ADMIN.email, ADMIN.password, '/admin');
    const problems = await photograph(page, [
      ['admin', '/admin'], ['admin-nodes', '/admin/nodes'], ['admin-node', `/admin/nodes/${web.nodeIds[0]}`],
      ['admin-customers', '/admin/customers'], ['admin-environments', '/admin/environments'], ['admin-plans', '/admin/plans'],
      ['admin-templates', '/admin/templates'], ['admin-operations', '/admin/operations'], ['admin-audit', '/admin/audit'],
    ]);
    await context.close();
    expect(problems).toEqual([]);
  });

  it('the same pages in Japanese fit a phone too', async () => {
    // A browser that asks for Japanese gets the pages in Japanese before any preference is stored.
    const context = await browser.newContext({ viewport: PHONE, locale: 'ja-JP' });
    const page = await context.newPage();
    const problems: string[] = [];
    const check = async (pages: Array<[string, string]>) => {
      for (const [name, path] of pages) {
        const res = await page.goto(`${web.url}${path}`);
        if (res?.status() !== 200) problems.push(`${path} answered ${res?.status()}`);
        if (await page.getAttribute('html', 'lang') !== 'ja') problems.push(`${path} is not in Japanese`);
        await assertNoSideways(page).catch((err: Error) => problems.push(err.message));
        await screenshot(page, `${name}-ja-390`);
      }
    };
    await check([['login', '/login']]);
    await login(page, web.url, CUSTOMER.email, CUSTOMER.password, '/panel');
    await check([['panel', '/panel'], ['panel-environment', `/panel/environments/${envId}`], ['panel-account', '/panel/account']]);
    await page.click('form[action="/logout"] button[type=submit]');
    await login(page, web.url, ADMIN.email, ADMIN.password, '/admin');
    await check([
      ['admin', '/admin'], ['admin-nodes', '/admin/nodes'], ['admin-node', `/admin/nodes/${web.nodeIds[0]}`],
      ['admin-customers', '/admin/customers'], ['admin-environments', '/admin/environments'], ['admin-plans', '/admin/plans'],
      ['admin-templates', '/admin/templates'], ['admin-operations', '/admin/operations'], ['admin-audit', '/admin/audit'],
    ]);
    await context.close();
    expect(problems).toEqual([]);
  });
});
