import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Dialog, type Page } from 'playwright-core';
import { newId, nowIso } from '../../server/lib/ids.js';
import { hashPassword } from '../../server/lib/secrets.js';
import { labNodes } from './lab.js';
import { registerNode, startTestPanel, type TestPanel } from './panel.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SCREENSHOTS = path.join(ROOT, 'artifacts/screenshots');
export const CHROMIUM = process.env.KURA_CHROMIUM ?? '/usr/bin/chromium';
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

export const ADMIN = { email: 'admin@kura.example', password: 'admin-password-1' };

/** A panel listening on loopback, with the lab nodes registered, an admin login and one plan. */
export interface WebPanel {
  panel: TestPanel;
  url: string;
  nodeIds: string[];
  plan: { id: string; name: string };
  close(): Promise<void>;
}

export async function startWebPanel(o: { env?: Record<string, string> } = {}): Promise<WebPanel> {
  const panel = await startTestPanel({ background: true, ...(o.env ? { env: o.env } : {}) });
  try {
    await panel.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = panel.app.server.address() as AddressInfo;
    const nodeIds: string[] = [];
    for (const node of labNodes()) nodeIds.push(await registerNode(panel, node));
    panel.ctx.repos.admins.insert(newId('adm'), ADMIN.email, await hashPassword(ADMIN.password), nowIso());
    const planName = `web-${Math.random().toString(36).slice(2, 8)}`;
    const plan = await panel.api('POST', '/plans', { name: planName, cpus: 0.5, memoryMb: 128, diskMb: 256, pids: 64 });
    if (plan.status !== 201) throw new Error(`plan: ${plan.status} ${plan.text}`);
    return { panel, url: `http://127.0.0.1:${port}`, nodeIds, plan: { id: plan.body.id, name: planName }, close: () => panel.close() };
  } catch (err) {
    await panel.close();
    throw err;
  }
}

/**
 * Debian's Chromium, headless. playwright-core gives every launch a fresh temporary profile
 * (its own --user-data-dir), and name resolution is limited to loopback and the lab's
 * addresses, so nothing the pages or the browser do can leave this machine. `hosts` maps
 * names (a customer's domain) to lab addresses, as their DNS would.
 */
export async function launchBrowser(hosts: Record<string, string> = {}): Promise<Browser> {
  const mapped = Object.entries(hosts).map(([name, address]) => `MAP ${name} ${address}, `).join('');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--host-resolver-rules=${mapped}MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE 10.231.*`],
  });
}

/** Dialogs a page opened: confirm() is accepted as a user would; alert() must never appear. */
export interface DialogLog {
  seen: Array<{ type: string; message: string }>;
}

/** A new browser session (its own cookies) with an English-speaking user at a desktop size. */
export async function newSession(browser: Browser, viewport = DESKTOP): Promise<{ context: BrowserContext; page: Page; dialogs: DialogLog }> {
  const context = await browser.newContext({ viewport, locale: 'en-US' });
  const dialogs: DialogLog = { seen: [] };
  context.on('page', (p) => watchDialogs(p, dialogs));
  const page = await context.newPage();
  return { context, page, dialogs };
}

function watchDialogs(page: Page, log: DialogLog): void {
  page.on('dialog', (d: Dialog) => {
    log.seen.push({ type: d.type(), message: d.message() });
    void (d.type() === 'confirm' ? d.accept() : d.dismiss());
  });
}

/** Signs in through the login form and waits for the home page the panel sends the account to. */
export async function login(page: Page, base: string, email: string, password: string, home: '/admin' | '/panel'): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(`${base}${home}`), page.click('form[action="/login"] button[type=submit]')]);
}

export async function logout(page: Page, base: string): Promise<void> {
  await Promise.all([page.waitForURL(`${base}/login`), page.click('form[action="/logout"] button[type=submit]')]);
}

/** A full-page PNG under artifacts/screenshots/. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** At a phone's width the page must not scroll sideways; names the widest elements when it does. */
export async function assertNoSideways(page: Page): Promise<void> {
  const size = page.viewportSize();
  if (size?.width !== PHONE.width || size.height !== PHONE.height) await page.setViewportSize(PHONE);
  const found = await page.evaluate((limit) => {
    const width = document.documentElement.scrollWidth;
    if (width <= limit) return { width, culprits: [] as string[] };
    const wide = (el: Element) => el.getBoundingClientRect().right > limit;
    // The innermost elements that stick out are the ones to fix.
    const culprits = [...document.querySelectorAll('body *')]
      .filter((el) => wide(el) && ![...el.children].some(wide))
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.split(' ').join('.')}` : ''} (right ${Math.round(el.getBoundingClientRect().right)})`);
    return { width, culprits };
  }, PHONE.width);
  if (found.width > PHONE.width) {
    throw new Error(`${page.url()} scrolls sideways at ${PHONE.width} px: scrollWidth ${found.width}; widest: ${found.culprits.join(', ')}`);
  }
}
