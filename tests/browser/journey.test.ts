import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN, DESKTOP, PHONE, assertNoSideways, launchBrowser, login, newSession, screenshot, startWebPanel, type DialogLog, type WebPanel,
} from '../helpers/browser.js';
import { containerName } from '../../server/docker/container-spec.js';
import { inspect, labNodes } from '../helpers/lab.js';
import { waitOperation } from '../helpers/panel.js';

const HOSTILE = '<img src=x onerror=alert(1)>';
const CUSTOMER = { email: 'hostile@kura.example', password: 'hostile-password-1' };
const ENV_NAME = 'hostile-site';

/** The state an environment's badge shows on a page, as the panel's live script keeps it. */
const stateOf = (page: Page, envId: string) => page.getAttribute(`[data-env-state="${envId}"]`, 'data-state');

/** Lets the environment's operations end, then starts it through the API if it is not running. */
async function runningAgain(web: WebPanel, envId: string): Promise<void> {
  for (const op of web.panel.ctx.repos.operations.page('', 200, { resourceId: envId })) await waitOperation(web.panel, op.id);
  if ((await web.panel.api('GET', `/environments/${envId}`)).body.state === 'running') return;
  const start = await web.panel.api('POST', `/environments/${envId}/actions`, { action: 'start' });
  expect(start.status).toBe(202);
  expect((await waitOperation(web.panel, start.body.operation.id)).status).toBe('succeeded');
}

describe('in a browser: an admin sets up a customer, the customer runs their environment', () => {
  let web: WebPanel;
  let browser: Browser;
  let admin: { page: Page; dialogs: DialogLog };
  let customer: { page: Page; dialogs: DialogLog };
  let customerId: string;
  let envId: string;

  beforeAll(async () => {
    [web, browser] = await Promise.all([startWebPanel(), launchBrowser()]);
    admin = await newSession(browser);
    customer = await newSession(browser);
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('an admin creates a customer with a hostile name and an environment for them, which reaches running', async () => {
    const { page } = admin;
    await login(page, web.url, ADMIN.email, ADMIN.password, '/admin');
    expect(await page.locator('[data-testid=node-grid] [data-node]').count()).toBe(web.nodeIds.length);

    await page.click('nav a[href="/admin/customers"]');
    await Promise.all([page.waitForURL(`${web.url}/admin/customers/new`), page.click('a[href="/admin/customers/new"]')]);
    const form = page.locator('[data-testid=customer-form]');
    await form.locator('input[name=name]').fill(HOSTILE);
    await form.locator('input[name=email]').fill(CUSTOMER.email);
    await form.locator('input[name=password]').fill(CUSTOMER.password);
    await Promise.all([page.waitForURL(/\/admin\/customers\/cus_[0-9a-z]{20}$/), form.locator('button[type=submit]').click()]);
    customerId = page.url().split('/').pop()!;
    expect(await page.textContent('h1')).toContain(HOSTILE);

    await Promise.all([page.waitForURL(/\/admin\/environments\/new\?customerId=/), page.click(`a[href="/admin/environments/new?customerId=${customerId}"]`)]);
    const envForm = page.locator('[data-testid=environment-form]');
    expect(await envForm.locator('select[name=customerId]').inputValue()).toBe(customerId);
    await envForm.locator('input[name=name]').fill(ENV_NAME);
    await envForm.locator('select[name=templateId]').selectOption('static-site');
    await envForm.locator('select[name=planId]').selectOption(web.plan.id);
    await Promise.all([page.waitForURL(/\/panel\/environments\/env_[0-9a-z]{20}\?op=/), envForm.locator('button[type=submit]').click()]);
    envId = new URL(page.url()).pathname.split('/').pop()!;
    expect(await page.textContent('h1')).toContain(ENV_NAME);
    await expect.poll(() => stateOf(page, envId), { timeout: 60_000 }).toBe('running');

    await page.goto(`${web.url}/admin/environments`);
    const row = page.locator(`tr[data-env="${envId}"]`);
    expect(await row.locator(`[data-env-state="${envId}"]`).textContent()).toBe('Running');
    expect(await row.locator(`a[href="/admin/customers/${customerId}"]`).textContent()).toBe(HOSTILE);
  });

  it('the customer sees it running, stops it with a confirmation and sees it stop live, then starts it again', async () => {
    const { page, dialogs } = customer;
    await login(page, web.url, CUSTOMER.email, CUSTOMER.password, '/panel');
    expect(await stateOf(page, envId)).toBe('running');
    // A second tab on the list is never reloaded: only the live stream can change what it shows.
    const list = await page.context().newPage();
    const listening = list.waitForResponse((r) => r.url().startsWith(`${web.url}/panel/events?`));
    await list.goto(`${web.url}/panel`);
    await listening;
    await list.evaluate(() => { (window as unknown as { kuraMark: number }).kuraMark = 1; });
    const unreloaded = () => list.evaluate(() => (window as unknown as { kuraMark?: number }).kuraMark);

    await Promise.all([page.waitForURL(`${web.url}/panel/environments/${envId}`), page.click(`table[data-testid=environments] a[href="/panel/environments/${envId}"]`)]);
    const site = await page.getAttribute('.endpoint a', 'href');
    expect(site).toMatch(/^http:\/\/10\.231\.\d+\.2:\d+\/$/);
    const visit = await page.context().newPage();
    let visits = 0;
    const openSite = () => visit.goto(`${site}?visit=${++visits}`, { timeout: 5_000 });
    await openSite();
    expect(await visit.textContent('h1')).toBe('It works');

    await Promise.all([page.waitForURL(/\?op=/), page.click('[data-testid=stop]')]);
    expect(dialogs.seen).toEqual([{ type: 'confirm', message: expect.stringContaining(ENV_NAME) }]);
    await expect.poll(() => stateOf(list, envId), { timeout: 30_000 }).toBe('stopped');
    expect(await list.textContent(`[data-env-state="${envId}"]`)).toBe('Stopped');
    expect(await unreloaded()).toBe(1);
    await expect(openSite()).rejects.toThrow(/ERR_CONNECTION_REFUSED/);

    await page.goto(`${web.url}/panel/environments/${envId}`);
    expect(await stateOf(page, envId)).toBe('stopped');
    expect(await page.isVisible('[data-testid=stop]')).toBe(false);
    await Promise.all([page.waitForURL(/\?op=/), page.click('[data-testid=start]')]);
    expect(dialogs.seen).toHaveLength(1);
    await expect.poll(() => stateOf(list, envId), { timeout: 30_000 }).toBe('running');
    expect(await unreloaded()).toBe(1);
    await openSite();
    expect(await visit.textContent('h1')).toBe('It works');
    await visit.close();
    await list.close();
  });

  it('opens a console in the environment on a phone and runs a command through it', async () => {
    const { page } = customer;
    await page.setViewportSize(PHONE);
    await page.goto(`${web.url}/panel/environments/${envId}`);
    expect(await page.isVisible('#console')).toBe(false);
    const opened = page.waitForEvent('websocket', (ws) => ws.url() === `${web.url.replace('http', 'ws')}/panel/environments/${envId}/console`);
    await page.click('[data-testid=console-open]');
    await opened;
    await page.waitForSelector('#console .xterm-rows');
    await page.focus('#console .xterm-helper-textarea');
    await page.keyboard.type('echo kura-$((6*7))\n');
    await expect.poll(() => page.textContent('#console .xterm-rows'), { timeout: 10_000 }).toContain('kura-42');
    await assertNoSideways(page);
    await screenshot(page, 'panel-console-390');
    await page.setViewportSize(DESKTOP);
  });

  it('the environment page catches up with a change made while its live connection was down', async () => {
    const { page } = customer;
    // The page names what it shows in the stream's query (?env=...&op=...).
    const events = (url: URL) => url.pathname === '/panel/events';
    // A phone in a tunnel: the live stream cannot connect while the environment is stopped elsewhere.
    await page.route(events, (route) => route.abort('internetdisconnected'));
    try {
      await page.goto(`${web.url}/panel/environments/${envId}`);
      expect(await stateOf(page, envId)).toBe('running');
      const stop = await web.panel.api('POST', `/environments/${envId}/actions`, { action: 'stop' });
      expect((await waitOperation(web.panel, stop.body.operation.id)).status).toBe('succeeded');
      const reconnected = page.waitForResponse((r) => events(new URL(r.url())), { timeout: 10_000 });
      await page.unroute(events);
      await reconnected;
      await expect.poll(() => stateOf(page, envId), { timeout: 5_000 }).toBe('stopped');
    } finally {
      await page.unroute(events);
      await runningAgain(web, envId);
    }
  });

  it('the customer changes plan on a phone: sees the difference, confirms, and the container gets the new limits', async () => {
    const more = await web.panel.api('POST', '/plans', { name: `more-${envId.slice(-6)}`, cpus: 1, memoryMb: 256, diskMb: 256, pids: 128, selectable: true });
    expect(more.status, more.text).toBe(201);
    const { page } = customer;
    await page.setViewportSize(PHONE);
    await page.goto(`${web.url}/panel/environments/${envId}`);
    const choices = page.locator('[data-testid=plan-choices]');
    expect(await choices.textContent()).toContain('(+128 MiB)');
    await assertNoSideways(page);
    await Promise.all([page.waitForURL(/\/plan\?planId=/), choices.locator('[data-testid=choose-plan]').first().click()]);
    expect(await page.textContent('[data-testid=plan-compare]')).toContain('(+0.5)');
    await assertNoSideways(page);
    await screenshot(page, 'panel-plan-change-390');
    await Promise.all([page.waitForURL(/\/panel\/environments\/env_[0-9a-z]{20}\?op=/), page.click('[data-testid=confirm-plan]')]);
    const opId = new URL(page.url()).searchParams.get('op')!;
    expect((await waitOperation(web.panel, opId)).status).toBe('succeeded');
    const env = (await web.panel.api('GET', `/environments/${envId}`)).body;
    expect(env.planId).toBe(more.body.id);
    const node = labNodes()[web.nodeIds.indexOf(env.nodeId)]!;
    const limits = (await inspect(node, containerName(envId))).HostConfig;
    expect(limits.Memory).toBe(256 * 1048576);
    expect(limits.NanoCpus).toBe(1e9);

    // A larger disk: the page says the environment is rebuilt with a short stop, and Docker enforces the new size.
    const roomier = await web.panel.api('POST', '/plans', { name: `roomier-${envId.slice(-6)}`, cpus: 1, memoryMb: 256, diskMb: 512, pids: 128, selectable: true });
    expect(roomier.status, roomier.text).toBe(201);
    await page.goto(`${web.url}/panel/environments/${envId}`);
    await Promise.all([page.waitForURL(/\/plan\?planId=/), page.click(`[data-testid=choose-plan][href$="planId=${roomier.body.id}"]`)]);
    expect(await page.textContent('[data-testid=disk-rebuild]')).toContain('It stops for a few seconds');
    await assertNoSideways(page);
    await Promise.all([page.waitForURL(/\/panel\/environments\/env_[0-9a-z]{20}\?op=/), page.click('[data-testid=confirm-plan]')]);
    const rebuildOp = new URL(page.url()).searchParams.get('op')!;
    expect((await waitOperation(web.panel, rebuildOp, 120)).status).toBe('succeeded');
    await expect.poll(() => stateOf(page, envId), { timeout: 10_000 }).toBe('running');
    const rebuilt = (await web.panel.api('GET', `/environments/${envId}`)).body;
    expect(rebuilt).toMatchObject({ planId: roomier.body.id, state: 'running', limits: { diskMb: 512 } });
    const at = labNodes()[web.nodeIds.indexOf(rebuilt.nodeId)]!;
    expect(Number((await inspect(at, containerName(envId))).HostConfig.StorageOpt.size)).toBe(512 * 1048576);
    await page.setViewportSize(DESKTOP);
  });

  it('renders the hostile name as text on the admin\'s and the customer\'s pages', async () => {
    const shown = async (page: Page, url: string, where: string) => {
      await page.goto(`${web.url}${url}`);
      expect(await page.locator('img[src="x"]').count(), url).toBe(0);
      const text = page.locator(where, { hasText: HOSTILE });
      expect(await text.count(), url).toBeGreaterThan(0);
      expect(await text.first().isVisible(), url).toBe(true);
    };
    await shown(admin.page, '/admin/customers', `[data-testid=customers] a[href="/admin/customers/${customerId}"]`);
    await shown(admin.page, `/admin/customers/${customerId}`, 'h1');
    await shown(admin.page, `/admin/environments?customerId=${customerId}`, `tr[data-env="${envId}"]`);
    await shown(admin.page, `/admin/environments/new?customerId=${customerId}`, 'select[name=customerId]');
    for (const url of ['/panel', `/panel/environments/${envId}`, '/panel/account']) {
      await shown(customer.page, url, 'header .who');
    }
    // Had the markup been inserted, the failing image would have run alert(1).
    expect([...admin.dialogs.seen, ...customer.dialogs.seen].filter((d) => d.type !== 'confirm')).toEqual([]);
  });
});
