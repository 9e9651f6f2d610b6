import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/waiting.js';
import { EDGE_CONTAINER } from '../../server/docker/edge-spec.js';
import { startFakeDns, type FakeDns } from '../helpers/challtestsrv.js';
import { dockerResult, httpsVia, httpVia, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, type Seed, type TestPanel } from '../helpers/panel.js';
import { startPebble, type Pebble } from '../helpers/pebble.js';


/**
 * HTTPS end to end: a real ACME CA (pebble) validates a customer's name over HTTP-01 against
 * the edge on a lab node (the DNS server, pebble-challtestsrv, points every name at it), and
 * the edge then serves the certificate, checked against pebble's root.
 */
describe('certificates by ACME', () => {
  let dns: FakeDns;
  let pebble: Pebble;
  let panel: TestPanel;
  let seed: Seed;
  let nodeId: string;
  const host = () => new URL(labNode(1).endpoint.replace('tcp:', 'http:')).hostname;

  beforeAll(async () => {
    await dockerResult(labNode(1), 'rm', '-f', EDGE_CONTAINER);
    dns = await startFakeDns({ defaultIPv4: host() });
    pebble = await startPebble(dns.server);
    panel = await startTestPanel({ background: true, env: { KURA_EDGE: 'on', KURA_BASE_DOMAIN: 'sites.kura.test', KURA_DNS_SERVERS: dns.server,
      KURA_ACME_DIRECTORY: pebble.directory, KURA_ACME_CA_FILE: pebble.apiCaFile, KURA_ACME_EMAIL: 'ops@kura.test' } });
    nodeId = await registerNode(panel, labNode(1));
    seed = await seedCustomer(panel);
  });
  afterAll(async () => {
    await panel.close();
    await pebble.close();
    await dns.close();
    await dockerResult(labNode(1), 'rm', '-f', EDGE_CONTAINER);
  });

  it('obtains a certificate once the name is proven, serves HTTPS with it, and redirects HTTP there', async () => {
    const env = await createEnvironment(panel, { name: 'shop', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId });
    const d = (await panel.api('POST', `/environments/${env.id}/domains`, { name: 'www.their-shop.jp' })).body;
    await dns.setTxt(d.verification.name, d.verification.value);
    expect((await panel.api('POST', `/domains/${d.id}/check`)).body.status).toBe('active');
    const issued = await until('the certificate', async () => {
      const now = (await panel.api('GET', `/domains/${d.id}`)).body;
      if (now.certificate.status === 'failed') throw new Error(`the certificate failed: ${now.certificate.error}`);
      return now.certificate.status === 'issued' ? now : null;
    }, 90_000);
    expect(issued.certificate).toMatchObject({ source: 'acme', status: 'issued', error: null, notAfter: expect.any(String) });
    // The key is sealed in the database.
    const sealed = panel.ctx.repos.db.prepare('SELECT cert_key_sealed FROM domains WHERE id = ?').pluck().get(d.id) as string;
    expect(sealed).toMatch(/^v1\./);

    const root = await pebble.issuingRoot();
    const page = await until('HTTPS', async () => {
      const r = await httpsVia(`${host()}:443`, 'www.their-shop.jp', root);
      return 'status' in r && r.status === 200 ? r : null;
    }, 15_000);
    expect(page.names).toBe('DNS:www.their-shop.jp');
    expect(page.body).toBe((await httpVia(`${host()}:80`, env.hostname))?.body);
    expect(await httpVia(`${host()}:80`, 'www.their-shop.jp', '/')).toMatchObject({ status: 308, location: 'https://www.their-shop.jp/' });
    // The challenge is gone once the order is done.
    expect(panel.ctx.repos.domains.challenges()).toEqual([]);

    // Renewal: when its time comes, a new certificate replaces the old one on the edges.
    const first = panel.ctx.repos.domains.get(d.id)!.certificate;
    expect(Date.parse(first.nextAt!)).toBeLessThan(Date.parse(first.notAfter!));
    panel.ctx.repos.domains.setCertificate(d.id, { nextAt: new Date().toISOString() });
    const renewed = await until('the renewal', async () => {
      const now = panel.ctx.repos.domains.get(d.id)!.certificate;
      return now.pem !== first.pem && now.status === 'issued' ? now : null;
    }, 60_000);
    expect(renewed.error).toBeNull();
    const serial = (pem: string) => new X509Certificate(pem).serialNumber;
    await until('the renewed certificate on the edge', async () => {
      const r = await httpsVia(`${host()}:443`, 'www.their-shop.jp', root);
      return 'status' in r && r.status === 200 && r.serial === serial(renewed.pem!) ? true : null;
    }, 15_000);
  });

  it('does not order a certificate for a name that does not point at the service, and says so', async () => {
    const env = await createEnvironment(panel, { name: 'elsewhere', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId });
    await dns.addA('shop.elsewhere.jp', '192.0.2.10');
    const d = (await panel.api('POST', `/environments/${env.id}/domains`, { name: 'shop.elsewhere.jp' })).body;
    await dns.setTxt(d.verification.name, d.verification.value);
    expect((await panel.api('POST', `/domains/${d.id}/check`)).body.status).toBe('active');
    const failed = await until('the refusal', async () => {
      const now = (await panel.api('GET', `/domains/${d.id}`)).body;
      return now.certificate.status === 'failed' ? now : null;
    }, 30_000);
    expect(failed.certificate.error).toBe('shop.elsewhere.jp points at 192.0.2.10, not at a node of this service; the certificate is tried again later');
    // Still served over HTTP.
    expect((await httpVia(`${host()}:80`, 'shop.elsewhere.jp'))?.status).toBe(200);
  });
});
