import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDns, type FakeDns } from '../helpers/challtestsrv.js';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import { createEnvironment } from '../helpers/panel.js';
import { WebClient } from '../helpers/web.js';
import { TestCa } from '../helpers/certs.js';
import { newId, nowIso } from '../../server/lib/ids.js';
import { hashPassword } from '../../server/lib/secrets.js';

/** The customer panel's domains page: the record to set, a check on demand, adding and removing, in English and Japanese. */
describe('domains in the customer panel', () => {
  let dns: FakeDns;
  let fleet: FakeFleet;
  let envId: string;
  let customerId: string;

  beforeAll(async () => {
    dns = await startFakeDns();
    fleet = await startFakeFleet({ KURA_BASE_DOMAIN: 'sites.test', KURA_DNS_SERVERS: dns.server });
    fleet.addNode('n1', { cpus: 8, memoryMb: 8192 });
    customerId = (await fleet.panel.api('POST', '/customers', { name: 'Shop', email: 'shop@kura.example', password: 'password-123' })).body.id;
    envId = (await createEnvironment(fleet.panel, { name: 'site', templateId: 'web', planId: await fleet.plan('p', 1, 256), customerId })).id;
  });
  afterAll(async () => {
    await fleet.close();
    await dns.close();
  });

  const customer = async () => {
    const web = new WebClient(fleet.panel);
    expect((await web.login('shop@kura.example', 'password-123')).statusCode).toBe(303);
    return web;
  };

  it('adds a name, shows the TXT record to set, and turns it active once the record holds', async () => {
    const web = await customer();
    await web.page(`/panel/environments/${envId}/domains`);
    const added = await web.post(`/panel/environments/${envId}/domains`, { name: '例え.jp' });
    expect(added.statusCode, added.body).toBe(303);
    const page = await web.page(`/panel/environments/${envId}/domains`);
    expect(page.body).toContain('例え.jp');
    expect(page.body).toContain('(xn--r8jz45g.jp)');
    expect(page.body).toContain('<code data-testid="txt-name">_kura-challenge.xn--r8jz45g.jp</code>');
    const value = /data-testid="txt-value">(kura-verify-[0-9a-f]{32})</.exec(page.body)?.[1];
    expect(value).toBeTruthy();
    expect(page.body).toMatch(/Or make xn--r8jz45g\.jp a CNAME to <code>site-[0-9a-z]{8}\.sites\.test<\/code>/);
    const ja = await web.get(`/panel/environments/${envId}/domains`, { 'accept-language': 'ja' });
    expect(ja.body).toContain('所有確認待ち');

    const domainId = /id="(dom_[0-9a-z]+)"/.exec(page.body)![1];
    await web.post(`/panel/domains/${domainId}/check`, {});
    expect((await web.page(`/panel/environments/${envId}/domains`)).body).toContain('there is no TXT record at _kura-challenge.xn--r8jz45g.jp');
    await dns.setTxt('_kura-challenge.xn--r8jz45g.jp', value!);
    await web.post(`/panel/domains/${domainId}/check`, {});
    const active = await web.page(`/panel/environments/${envId}/domains`);
    expect(active.body).toContain('data-status="active"');
    expect(active.body).toContain('http://xn--r8jz45g.jp/');
    // The environment's page lists it too.
    expect((await web.page(`/panel/environments/${envId}`)).body).toContain('<code>例え.jp</code>');
    const entries = fleet.panel.ctx.repos.audit.list({ limit: 20, customerId }).map((e) => e.action);
    expect(entries).toEqual(expect.arrayContaining(['domain.add', 'domain.check']));
  });

  it('says why a name is refused, keeps what was typed, and escapes it', async () => {
    const web = await customer();
    await web.page(`/panel/environments/${envId}/domains`);
    const refused = await web.post(`/panel/environments/${envId}/domains`, { name: '<b>x</b>' });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('data-testid="domain-error"');
    expect(refused.body).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(refused.body).not.toContain('<b>x</b>');
  });

  it('takes the customer\'s own certificate from the page, and says what is wrong with a bad one', async () => {
    const ca = new TestCa();
    try {
      const web = await customer();
      await web.page(`/panel/environments/${envId}/domains`);
      await web.post(`/panel/environments/${envId}/domains`, { name: 'tls.jp' });
      const id = fleet.panel.ctx.repos.domains.byName('tls.jp')[0]!.id;
      const wrong = ca.leaf(['other.jp']);
      const refused = await web.post(`/panel/domains/${id}/certificate`, { cert: wrong.certPem, key: wrong.keyPem });
      expect(refused.statusCode).toBe(400);
      expect(refused.body).toContain('tls.jp: the certificate does not cover tls.jp');
      const leaf = ca.leaf(['tls.jp']);
      expect((await web.post(`/panel/domains/${id}/certificate`, { cert: leaf.certPem, key: leaf.keyPem })).statusCode).toBe(303);
      const page = await web.page(`/panel/environments/${envId}/domains`);
      expect(page.body).toMatch(/data-testid="certificate">HTTPS certificate: <span class="state state-running">Issued<\/span>/);
      expect(page.body).toContain('(your own)');
      const entry = fleet.panel.ctx.repos.audit.list({ limit: 20, customerId }).find((e) => e.action === 'domain.certificate');
      expect(entry?.detail).toBe('name=tls.jp source=uploaded');
    } finally {
      ca.close();
    }
  });

  it('puts a failed certificate, and one about to end, on the admin\'s dashboard', async () => {
    fleet.panel.ctx.repos.admins.insert(newId('adm'), 'ops@kura.example', await hashPassword('ops-password-1'), nowIso());
    const domains = fleet.panel.ctx.repos.domains;
    const failing = domains.insert({ id: newId('dom'), environmentId: envId, customerId, name: 'failing.jp', asciiName: 'failing.jp', verificationValue: 'v' });
    const ending = domains.insert({ id: newId('dom'), environmentId: envId, customerId, name: 'ending.jp', asciiName: 'ending.jp', verificationValue: 'v' });
    const fine = domains.insert({ id: newId('dom'), environmentId: envId, customerId, name: 'fine.jp', asciiName: 'fine.jp', verificationValue: 'v' });
    for (const d of [failing, ending, fine]) domains.activate(d.id, 1);
    domains.setCertificate(failing.id, { source: 'acme', status: 'failed', error: 'the CA refused: <urn:acme:error:rateLimited>' });
    domains.setCertificate(ending.id, { source: 'uploaded', status: 'issued', notAfter: new Date(Date.now() + 3 * 86400_000).toISOString() });
    domains.setCertificate(fine.id, { source: 'acme', status: 'issued', notAfter: new Date(Date.now() + 60 * 86400_000).toISOString() });
    const admin = new WebClient(fleet.panel);
    await admin.login('ops@kura.example', 'ops-password-1');
    const page = (await admin.page('/admin')).body;
    const alerts = [...page.matchAll(/data-testid="alert-certificate">(.*?)<\/li>/g)].map((m) => m[1]!);
    expect(alerts).toHaveLength(2);
    expect(alerts.join('\n')).toContain('failing.jp</a> · the CA refused: &lt;urn:acme:error:rateLimited&gt;');
    expect(alerts.join('\n')).toMatch(/ending\.jp<\/a> · ends \d{4}-/);
    for (const d of [failing, ending, fine]) domains.remove(d.id);
  });

  it('removes a name', async () => {
    const web = await customer();
    await web.page(`/panel/environments/${envId}/domains`);
    await web.post(`/panel/environments/${envId}/domains`, { name: 'gone.jp' });
    const id = fleet.panel.ctx.repos.domains.byName('gone.jp')[0]!.id;
    const page = await web.page(`/panel/environments/${envId}/domains`);
    expect(page.body).toContain('data-confirm="Remove gone.jp? The site stops answering at this name."');
    expect((await web.post(`/panel/domains/${id}/delete`, {})).statusCode).toBe(303);
    expect(fleet.panel.ctx.repos.domains.get(id)).toBeUndefined();
  });
});
