import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { assertNoSideways, launchBrowser, login, newSession, PHONE, screenshot, startWebPanel, type DialogLog, type WebPanel } from '../helpers/browser.js';
import { docker, httpGet, labNode } from '../helpers/lab.js';
import { createEnvironment } from '../helpers/panel.js';
import { until } from '../helpers/waiting.js';

const strings = (lang: string) => JSON.parse(fs.readFileSync(new URL(`../../locales/${lang}/panel.json`, import.meta.url), 'utf8'));
const en = strings('en');
const ja = strings('ja');
const CUSTOMER = { email: 'backups@kura.example', password: 'backups-password-1' };
const ENV_NAME = 'shop';
const PAGE = '<h1>Shop — 開店中</h1>\n';
const ABOUT = '<p>About the shop</p>\n';

/** Waits until the operation `opId` shown on the page ends, then says how it ended, with the reason of a failure (the page's live script updates it). */
async function operationEnd(page: Page, opId: string, timeout = 90_000): Promise<string> {
  const status = `[data-op="${opId}"] [data-op-status]`;
  await page.waitForFunction((sel) => /state-(succeeded|failed)/.test(document.querySelector(sel)?.className ?? ''), status, { timeout });
  const message = await page.textContent(`[data-op="${opId}"] [data-op-message]`);
  const cls = (await page.getAttribute(status, 'class')) ?? '';
  return /state-succeeded/.test(cls) ? 'succeeded' : `failed: ${message?.trim() ?? ''}`;
}

/** When a backup was taken, as its row shows it ("2025-06-01 09:30 UTC"). */
async function takenAt(page: Page, row: string): Promise<string> {
  const text = (await page.textContent(`${row} td:first-child`)) ?? '';
  const shown = /\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/.exec(text)?.[0];
  if (!shown) throw new Error(`the backup's row does not say when it was taken: ${text}`);
  return shown;
}

/** The operation a page was sent to after a form started one (`/panel/environments/<id>?op=<op>`). */
const operationOf = (page: Page) => new URL(page.url()).searchParams.get('op') ?? '';

/**
 * A customer on a phone takes a backup of their site with a note, changes the site, puts
 * every file back from the backup after a page that warns what it replaces, then puts back
 * one deleted file from the backup's file browser; sees the backup pages in Japanese; and
 * deletes the backup after a confirmation that names its date. The files are read from the
 * real container, and the site from its real endpoint.
 */
describe('backups in the customer panel', () => {
  let web: WebPanel;
  let browser: Browser;
  let env: any;
  let session: { page: Page; dialogs: DialogLog };
  let backupId = '';
  const sh = (script: string) => docker(labNode(1), 'exec', containerName(env.id), 'sh', '-c', script);
  const site = async (path: string) => {
    const fresh = (await web.panel.api('GET', `/environments/${env.id}`)).body;
    const ep = fresh.endpoints[0];
    return until(`${path} served by the site`, async () => {
      const res = await httpGet(`http://${ep.host}:${ep.port}${path}`);
      return res && res.status === 200 ? res.body : null;
    }, 20_000, 250);
  };

  beforeAll(async () => {
    [web, browser] = await Promise.all([startWebPanel(), launchBrowser()]);
    const customer = await web.panel.api('POST', '/customers', { name: 'Backups', email: CUSTOMER.email, password: CUSTOMER.password });
    if (customer.status !== 201) throw new Error(`customer: ${customer.text}`);
    env = await createEnvironment(web.panel, { name: ENV_NAME, templateId: 'static-site', planId: web.plan.id, customerId: customer.body.id, nodeId: web.nodeIds[0] });
    // The site's content: a page, a second page, and 2 MiB that do not compress, so the backup takes room.
    await sh(`printf '%s' '${PAGE}' > /srv/www/index.html && printf '%s' '${ABOUT}' > /srv/www/about.html && mkdir -p /srv/www/img `
      + '&& head -c 2097152 /dev/urandom > /srv/www/img/photo.bin && chown -R 1000:1000 /srv/www');
    session = await newSession(browser, PHONE);
    await login(session.page, web.url, CUSTOMER.email, CUSTOMER.password, '/panel');
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('takes a backup with a note and restores all of it, then one deleted file from its file browser', async () => {
    const { page, dialogs } = session;
    expect(await sh('cat /srv/www/index.html')).toBe(PAGE);
    await page.goto(`${web.url}/panel/environments/${env.id}`);
    await Promise.all([page.waitForURL(`${web.url}/panel/environments/${env.id}/backups`), page.click('[data-testid=open-backups]')]);
    expect(await page.textContent('h1')).toBe(en.backups.title.replace('{name}', ENV_NAME));
    expect(await page.locator('[data-testid=backup-row]').count()).toBe(0);

    await page.fill('[data-testid=backup-note]', 'before the summer sale');
    await Promise.all([page.waitForEvent('load'), page.click('[data-testid=backup-now]')]);
    expect(page.url()).toBe(`${web.url}/panel/environments/${env.id}/backups`);
    const rows = page.locator('[data-testid=backup-row]');
    expect(await rows.count()).toBe(1);
    backupId = (await rows.first().getAttribute('data-backup')) ?? '';
    expect(backupId).toMatch(/^bkp_/);
    const row = `[data-testid=backup-row][data-backup="${backupId}"]`;
    // The page reloads itself when the backup's operation ends.
    await page.waitForSelector(`${row}:not([data-status=running])`, { timeout: 90_000 });
    expect(await page.getAttribute(row, 'data-status'), await page.textContent(row) ?? '').toBe('succeeded');
    expect(await page.textContent(`${row} td:nth-child(4)`)).toBe('before the summer sale');
    const used = (await page.textContent('[data-testid=backup-storage-used]')) ?? '';
    expect(used).toMatch(/^\d+(\.\d+)? MiB$/);
    expect(parseFloat(used), `backups take ${used}`).toBeGreaterThanOrEqual(2);
    await assertNoSideways(page);
    await screenshot(page, 'panel-backups-390');
    const taken = await takenAt(page, row);

    // The site changes: a page is rewritten and a file is added.
    await sh('echo "<h1>Sale!</h1>" > /srv/www/index.html && echo new > /srv/www/new.txt');
    expect(await site('/')).toBe('<h1>Sale!</h1>\n');

    await Promise.all([page.waitForURL(`${web.url}/panel/backups/${backupId}/restore`), page.click(`${row} [data-testid=backup-restore]`)]);
    const warning = (await page.textContent('[data-testid=restore-warning]')) ?? '';
    expect(warning).toBe(en.backups.restoreWarning.replaceAll('{name}', ENV_NAME).replace('{date}', taken));
    await assertNoSideways(page);
    await Promise.all([page.waitForURL(new RegExp(`/panel/environments/${env.id}\\?op=op_`)), page.click('[data-testid=restore-same-confirm]')]);
    expect(await operationEnd(page, operationOf(page))).toBe('succeeded');
    expect(await sh('cat /srv/www/index.html')).toBe(PAGE);
    expect(await sh('ls /srv/www')).toBe('about.html\nimg\nindex.html\n');
    expect(await site('/')).toBe(PAGE);

    // One file: deleted in the environment, put back from the backup's files; another change stays.
    await sh('rm /srv/www/about.html && echo "<h1>Sale again</h1>" > /srv/www/index.html');
    expect((await httpGet(`http://${env.endpoints[0].host}:${env.endpoints[0].port}/about.html`))?.status).toBe(404);
    await page.goto(`${web.url}/panel/environments/${env.id}/backups`);
    await Promise.all([page.waitForURL(`${web.url}/panel/backups/${backupId}/files`), page.click(`${row} [data-testid=backup-files]`)]);
    await Promise.all([page.waitForURL(/path=%2Fsrv$/), page.click('[data-testid=backup-file-row][data-name="srv"] a')]);
    await Promise.all([page.waitForURL(/path=%2Fsrv%2Fwww$/), page.click('[data-testid=backup-file-row][data-name="www"] a')]);
    const names = await page.locator('[data-testid=backup-file-row]').evaluateAll((els) => els.map((el) => el.getAttribute('data-name')));
    expect(names.sort()).toEqual(['about.html', 'img', 'index.html']);
    await assertNoSideways(page);
    await screenshot(page, 'panel-backup-files-390');
    expect(dialogs.seen).toEqual([]);
    await Promise.all([page.waitForURL(new RegExp(`/panel/environments/${env.id}\\?op=op_`)),
      page.click('[data-testid=backup-file-row][data-name="about.html"] [data-testid=restore-path]')]);
    expect(dialogs.seen).toEqual([{ type: 'confirm', message: en.backups.confirmRestorePath
      .replace('{path}', '/srv/www/about.html').replace('{name}', ENV_NAME).replace('{date}', taken) }]);
    expect(await operationEnd(page, operationOf(page))).toBe('succeeded');
    expect(await sh('cat /srv/www/about.html')).toBe(ABOUT);
    expect(await sh('cat /srv/www/index.html')).toBe('<h1>Sale again</h1>\n');
    expect(await site('/about.html')).toBe(ABOUT);
  }, 300_000);

  it('shows the backup pages in Japanese to a customer whose browser asks for it', async () => {
    expect(backupId, 'the first test took no backup').not.toBe('');
    const context = await browser.newContext({ viewport: PHONE, locale: 'ja-JP' });
    try {
      const page = await context.newPage();
      await login(page, web.url, CUSTOMER.email, CUSTOMER.password, '/panel');
      await page.goto(`${web.url}/panel/environments/${env.id}/backups`);
      expect(await page.getAttribute('html', 'lang')).toBe('ja');
      expect(await page.textContent('h1')).toBe(ja.backups.title.replace('{name}', ENV_NAME));
      expect((await page.textContent(`[data-backup="${backupId}"] .state`))?.trim()).toBe(ja.backups.state.succeeded);
      await assertNoSideways(page);
      await screenshot(page, 'panel-backups-ja-390');
      await page.goto(`${web.url}/panel/backups/${backupId}/restore`);
      expect(await page.textContent('h1')).toBe(ja.backups.restoreTitle.replace('{name}', ENV_NAME));
      await assertNoSideways(page);
      await page.goto(`${web.url}/panel/backups/${backupId}/files?path=%2Fsrv%2Fwww`);
      expect(await page.textContent('h1')).toBe(ja.backups.filesTitle.replace('{name}', ENV_NAME));
      await assertNoSideways(page);
    } finally {
      await context.close();
    }
  });

  it('deletes a backup after a confirmation that names its date', async () => {
    expect(backupId, 'the first test took no backup').not.toBe('');
    const { page, dialogs } = session;
    const seen = dialogs.seen.length;
    await page.goto(`${web.url}/panel/environments/${env.id}/backups`);
    const row = `[data-testid=backup-row][data-backup="${backupId}"]`;
    // The dialog says the date as the row does, without the zone the row adds.
    const date = await takenAt(page, row);
    await Promise.all([page.waitForEvent('load'), page.click(`${row} [data-testid=backup-delete]`)]);
    expect(page.url()).toBe(`${web.url}/panel/environments/${env.id}/backups`);
    expect(dialogs.seen.slice(seen)).toEqual([{ type: 'confirm', message: en.backups.confirmDelete.replace('{date}', date) }]);
    expect(await page.locator(row).count()).toBe(0);
    expect((await web.panel.api('GET', `/backups/${backupId}`)).status).toBe(404);
  });
});
