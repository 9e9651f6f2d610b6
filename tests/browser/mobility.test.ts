import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironment } from '../helpers/panel.js';
import {
  ADMIN, PHONE, assertNoSideways, launchBrowser, login, newSession, screenshot, startWebPanel, type WebPanel,
} from '../helpers/browser.js';

/** Waits for the live operation bar to say the operation is done (the page's events update it). */
async function waitDone(page: Page, what: string): Promise<void> {
  await page.waitForFunction(() => {
    const status = document.querySelector('[data-op] [data-op-status]');
    return status !== null && /state-(succeeded|failed)/.test(status.className);
  }, undefined, { timeout: 120_000 }).catch((err: Error) => {
    throw new Error(`${what}: the operation did not end on the page (${err.message})`);
  });
}

describe('mobility in the admin console, at a phone\'s width', () => {
  let web: WebPanel;
  let browser: Browser;
  let envIds: string[];

  beforeAll(async () => {
    [web, browser] = await Promise.all([startWebPanel(), launchBrowser()]);
    const customer = await web.panel.api('POST', '/customers', { name: 'Fleet Test Customer', email: 'fleet-page@kura.example' });
    envIds = [];
    for (const [i, nodeId] of [web.nodeIds[0], web.nodeIds[1]].entries()) {
      const env = await createEnvironment(web.panel, { name: `a-rather-long-storefront-name-${i}`, templateId: 'static-site',
        planId: web.plan.id, customerId: customer.body.id, nodeId });
      envIds.push(env.id);
    }
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('previews and applies a consolidation, then evacuates and restores a node', async () => {
    const { context, page, dialogs } = await newSession(browser, PHONE);
    await login(page, web.url, ADMIN.email, ADMIN.password, '/admin');

    await page.goto(`${web.url}/admin/fleet`);
    await assertNoSideways(page);
    await screenshot(page, 'admin-fleet-390');
    expect(await page.textContent('[data-testid=consolidation-counts]')).toBe('Nodes in use: 2 → 1');
    expect(await page.locator('[data-testid=consolidation-moves] tbody tr').count()).toBe(1);
    await Promise.all([page.waitForURL(`${web.url}/admin/fleet?headroom=20`), page.click('[data-testid=consolidation-apply]')]);
    expect(dialogs.seen.at(-1)?.message).toMatch(/Move 1 environments so that 1 nodes are in use\?/);
    await waitDone(page, 'consolidation');
    expect(await page.getAttribute('[data-op] [data-op-status]', 'class')).toMatch(/state-succeeded/);
    await page.reload();
    expect(await page.textContent('[data-testid=consolidation-counts]')).toBe('Nodes in use: 1 → 1');

    // Both environments are now on one node: empty it and bring them back.
    const home = (await web.panel.api('GET', `/environments/${envIds[0]}`)).body.nodeId as string;
    await page.goto(`${web.url}/admin/nodes/${home}`);
    await assertNoSideways(page);
    await Promise.all([page.waitForURL(`${web.url}/admin/nodes/${home}`), page.click('[data-testid=evacuate]')]);
    expect(dialogs.seen.at(-1)?.message).toMatch(/in maintenance and move its 2 environments/);
    await waitDone(page, 'evacuation');
    await screenshot(page, 'admin-node-evacuated-390');
    expect((await web.panel.api('GET', `/nodes/${home}`)).body).toMatchObject({ state: 'maintenance', allocated: { environments: 0 } });
    await page.reload();
    await Promise.all([page.waitForURL(`${web.url}/admin/nodes/${home}`), page.click('[data-testid=restore]')]);
    await waitDone(page, 'restore');
    expect((await web.panel.api('GET', `/nodes/${home}`)).body).toMatchObject({ state: 'active', allocated: { environments: 2 } });
    await context.close();
  });

  it('fits a phone in Japanese, and refuses a headroom outside its bounds', async () => {
    const context = await browser.newContext({ viewport: PHONE, locale: 'ja-JP' });
    const page = await context.newPage();
    await login(page, web.url, ADMIN.email, ADMIN.password, '/admin');
    for (const [name, path] of [['admin-fleet', '/admin/fleet?headroom=0&threshold=5'], ['admin-node-mobility', `/admin/nodes/${web.nodeIds[0]}`]]) {
      const res = await page.goto(`${web.url}${path}`);
      expect(res?.status(), path).toBe(200);
      expect(await page.getAttribute('html', 'lang')).toBe('ja');
      await assertNoSideways(page);
      await screenshot(page, `${name}-ja-390`);
    }
    expect((await page.goto(`${web.url}/admin/fleet?headroom=95`))?.status()).toBe(400);
    await context.close();
  });
});
