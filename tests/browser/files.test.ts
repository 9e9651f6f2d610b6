import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { containerName } from '../../server/docker/container-spec.js';
import { assertNoSideways, launchBrowser, login, newSession, PHONE, screenshot, startWebPanel, type WebPanel } from '../helpers/browser.js';
import { docker, httpGet, labNode } from '../helpers/lab.js';
import { createEnvironment } from '../helpers/panel.js';

/**
 * A customer on a phone opens the file manager, uploads two files (one by the file picker
 * with several files at once), makes a folder, edits the page in place, and deletes a file
 * after a confirmation that names it. The site, served by the real container, shows the edit.
 */
describe('the file manager in the customer panel', () => {
  let web: WebPanel;
  let browser: Browser;
  let env: any;
  let dir: string;

  beforeAll(async () => {
    web = await startWebPanel();
    const customer = await web.panel.api('POST', '/customers', { name: 'Files', email: 'files@kura.example', password: 'files-password-1' });
    env = await createEnvironment(web.panel, { name: 'shop', templateId: 'static-site', planId: web.plan.id, customerId: customer.body.id, nodeId: web.nodeIds[0] });
    browser = await launchBrowser();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-files-browser-'));
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uploads, makes a folder, edits a page in place and deletes with a named confirmation', async () => {
    const { page, dialogs } = await newSession(browser, PHONE);
    await login(page, web.url, 'files@kura.example', 'files-password-1', '/panel');
    await page.goto(`${web.url}/panel/environments/${env.id}`);
    expect(await page.textContent('[data-testid=sftp-command]')).toBe(`sftp -P 2222 ${env.id}@127.0.0.1`);
    await Promise.all([page.waitForURL(/\/files$/), page.click('[data-testid=open-files]')]);
    expect(await page.locator('[data-testid=file-row][data-name="index.html"]').count()).toBe(1);

    const page1 = path.join(dir, 'about.html');
    const notes = path.join(dir, 'notes.txt');
    fs.writeFileSync(page1, '<h1>About us</h1>\n');
    fs.writeFileSync(notes, 'to do\n');
    await Promise.all([page.waitForEvent('load'), page.setInputFiles('[data-testid=upload-input]', [page1, notes])]);
    await expect.poll(() => page.locator('[data-testid=file-row]').count(), { timeout: 15_000 }).toBe(3);

    await page.fill('[data-testid=mkdir-name]', 'img');
    await Promise.all([page.waitForURL(/\/files/), page.click('[data-testid=mkdir]')]);
    expect(await page.getAttribute('[data-testid=file-row][data-name="img"]', 'data-type')).toBe('dir');
    await assertNoSideways(page);
    await screenshot(page, 'panel-files-390');

    await Promise.all([page.waitForURL(/\/files\/edit/), page.click('[data-testid=file-row][data-name="about.html"] [data-testid=file-edit]')]);
    expect(await page.inputValue('[data-testid=editor]')).toBe('<h1>About us</h1>\n');
    await page.fill('[data-testid=editor]', '<h1>About our shop — 店舗について</h1>\n');
    await Promise.all([page.waitForURL(/\/files$/), page.click('[data-testid=save]')]);
    const served = await httpGet(`http://${env.endpoints[0].host}:${env.endpoints[0].port}/about.html`);
    expect(served?.body).toBe('<h1>About our shop — 店舗について</h1>\n');

    await Promise.all([page.waitForURL(/\/files/), page.click('[data-testid=file-row][data-name="notes.txt"] [data-testid=file-delete]')]);
    expect(dialogs.seen).toEqual([{ type: 'confirm', message: 'Delete the file notes.txt? It cannot be brought back.' }]);
    expect(await page.locator('[data-testid=file-row][data-name="notes.txt"]').count()).toBe(0);
    const left = await docker(labNode(1), 'exec', containerName(env.id), 'ls', '/srv/www');
    expect(left.trim().split('\n').sort()).toEqual(['about.html', 'img', 'index.html']);
  }, 120_000);

  it('refuses to open a binary file in the editor, saying why', async () => {
    await docker(labNode(1), 'exec', containerName(env.id), 'sh', '-c', 'printf "\\000\\001binary" > /srv/www/logo.bin');
    const { page } = await newSession(browser, PHONE);
    await login(page, web.url, 'files@kura.example', 'files-password-1', '/panel');
    const res = await page.goto(`${web.url}/panel/environments/${env.id}/files/edit?path=logo.bin`);
    expect(res?.status()).toBe(400);
    expect(await page.textContent('[data-testid=files-error]')).toContain('logo.bin is not UTF-8 text');
  });
});
