import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { EDGE_CONTAINER } from '../../server/docker/edge-spec.js';
import { assertNoSideways, launchBrowser, login, newSession, PHONE, screenshot, startWebPanel, type WebPanel } from '../helpers/browser.js';
import { startFakeDns, type FakeDns } from '../helpers/challtestsrv.js';
import { dockerResult, httpsVia, labNodes } from '../helpers/lab.js';
import { createEnvironment } from '../helpers/panel.js';
import { startPebble, type Pebble } from '../helpers/pebble.js';

const DOMAIN = 'www.their-shop.jp';

/**
 * A customer adds their own domain in the panel on a phone, sees it wait for proof, sets the
 * record, sees it turn active and get its certificate, and opens the site over HTTPS: real
 * DNS (pebble-challtestsrv), a real CA (pebble), the edges on the lab nodes.
 */
describe('a customer\'s own domain, from the panel to the HTTPS site', () => {
  let dns: FakeDns;
  let pebble: Pebble;
  let web: WebPanel;
  let browser: Browser;
  let envId: string;
  const lab1 = () => new URL(labNodes()[0]!.endpoint.replace('tcp:', 'http:')).hostname;
  const removeEdges = async () => {
    for (const node of labNodes()) await dockerResult(node, 'rm', '-f', EDGE_CONTAINER);
  };

  beforeAll(async () => {
    await removeEdges();
    dns = await startFakeDns({ defaultIPv4: lab1() });
    pebble = await startPebble(dns.server);
    web = await startWebPanel({ env: { KURA_EDGE: 'on', KURA_BASE_DOMAIN: 'sites.kura.test', KURA_DNS_SERVERS: dns.server,
      KURA_ACME_DIRECTORY: pebble.directory, KURA_ACME_CA_FILE: pebble.apiCaFile } });
    const customer = await web.panel.api('POST', '/customers', { name: 'Their shop', email: 'owner@their-shop.jp', password: 'their-shop-pw-1' });
    envId = (await createEnvironment(web.panel, { name: 'shop', templateId: 'static-site', planId: web.plan.id, customerId: customer.body.id,
      nodeId: web.nodeIds[0] })).id;
    browser = await launchBrowser({ [DOMAIN]: lab1() });
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await pebble?.close();
    await dns?.close();
    await removeEdges();
  });

  it('goes from pending to active with a certificate, and the site opens over HTTPS', async () => {
    const { context, page } = await newSession(browser, PHONE);
    try {
      await login(page, web.url, 'owner@their-shop.jp', 'their-shop-pw-1', '/panel');
      await page.goto(`${web.url}/panel/environments/${envId}`);
      await Promise.all([page.waitForURL(/\/domains$/), page.click('[data-testid=manage-domains]')]);
      await page.fill('[data-testid=domain-name]', DOMAIN);
      await Promise.all([page.waitForURL(/\/domains$/), page.click('[data-testid=domain-add]')]);
      expect(await page.getAttribute('[data-testid=domain-status]', 'data-status')).toBe('pending');
      const name = await page.textContent('[data-testid=txt-name]');
      const value = await page.textContent('[data-testid=txt-value]');
      expect(name).toBe(`_kura-challenge.${DOMAIN}`);
      await assertNoSideways(page);
      await screenshot(page, 'panel-domains-pending-390');

      // The customer sets the record at their DNS provider, then asks the panel to check.
      await dns.setTxt(name!, value!);
      await Promise.all([page.waitForURL(/\/domains(#dom_[0-9a-z]+)?$/), page.click('[data-testid=domain-check]')]);
      expect(await page.getAttribute('[data-testid=domain-status]', 'data-status')).toBe('active');
      await expect.poll(async () => {
        await page.reload();
        return page.textContent('[data-testid=certificate]');
      }, { timeout: 90_000, interval: 1000 }).toContain('Issued');
      await screenshot(page, 'panel-domains-active-390');

      // The browser opens the site by its name (resolved to lab1, as DNS would), over HTTPS.
      const site = await context.browser()!.newContext({ ignoreHTTPSErrors: true });
      const visitor = await site.newPage();
      const res = await visitor.goto(`http://${DOMAIN}/`);
      expect(visitor.url()).toBe(`https://${DOMAIN}/`);
      expect(res?.status()).toBe(200);
      await site.close();
      // The certificate the browser was shown is pebble's, for this name (checked against pebble's root).
      const checked = await httpsVia(`${lab1()}:443`, DOMAIN, await pebble.issuingRoot());
      expect(checked).toMatchObject({ status: 200, names: `DNS:${DOMAIN}` });
    } finally {
      await context.close();
    }
  });
});
