import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { edgeRoutes } from '../../server/read-models/edge-routes.js';
import { startFakeDns, type FakeDns } from '../helpers/challtestsrv.js';
import { TestCa } from '../helpers/certs.js';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import { createEnvironment, waitOperation } from '../helpers/panel.js';

const BASE = 'sites.test';

/**
 * Customers' own domain names: added pending, proven through DNS (a real resolver asking
 * pebble-challtestsrv), then served by the edge; never another customer's.
 */
describe('customer domains', () => {
  let dns: FakeDns;
  let fleet: FakeFleet;
  let a: { customerId: string; token: string; envId: string; hostname: string };
  let b: { customerId: string; token: string; envId: string; hostname: string };

  beforeAll(async () => {
    dns = await startFakeDns();
  });
  afterAll(async () => dns.close());

  beforeEach(async () => {
    fleet = await startFakeFleet({ KURA_BASE_DOMAIN: BASE, KURA_DNS_SERVERS: dns.server });
    fleet.addNode('n1', { cpus: 8, memoryMb: 8192 });
    const planId = await fleet.plan('p', 0.5, 256);
    const customer = async (name: string) => {
      const customerId = (await fleet.panel.api('POST', '/customers', { name, email: `${name}@example.com` })).body.id as string;
      const token = (await fleet.panel.api('POST', `/customers/${customerId}/tokens`, { name: 'billing' })).body.token as string;
      const env = await createEnvironment(fleet.panel, { name: 'site', templateId: 'web', planId, customerId });
      return { customerId, token, envId: env.id as string, hostname: env.hostname as string };
    };
    a = await customer('alice');
    b = await customer('bob');
  });
  afterEach(async () => fleet.close());

  const add = (who: typeof a, name: string) => fleet.panel.api('POST', `/environments/${who.envId}/domains`, { name }, { token: who.token });
  const check = (who: typeof a, id: string) => fleet.panel.api('POST', `/domains/${id}/check`, undefined, { token: who.token });

  it('adds a name pending, with the TXT record to set, and keeps a Japanese name as entered', async () => {
    const res = await add(a, '例え.jp');
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ name: '例え.jp', asciiName: 'xn--r8jz45g.jp', status: 'pending', environmentId: a.envId,
      verification: { type: 'dns-txt', name: '_kura-challenge.xn--r8jz45g.jp', value: expect.stringMatching(/^kura-verify-[0-9a-f]{32}$/) },
      cnameTarget: a.hostname, certificate: { source: null, status: 'none', notAfter: null, error: null } });
    const list = await fleet.panel.api('GET', `/environments/${a.envId}/domains`, undefined, { token: a.token });
    expect(list.body.items.map((d: any) => d.name)).toEqual(['例え.jp']);
    // Pending names are not served.
    expect(edgeRoutes(fleet.panel.ctx).map((r) => r.host)).not.toContain('xn--r8jz45g.jp');
    expect((await add(a, '例え.jp')).status).toBe(409);
  });

  it.each([
    ['1.2.3.4', /IP address/], ['shop', /single label/], ['localhost', /single label|local name/], ['*.shop.jp', /wildcard/],
    [`x.${BASE}`, /under sites\.test/], ['bad_label.jp', /not a valid label/],
  ])('refuses %j with 400 and a reason, adding nothing', async (name, reason) => {
    const res = await add(a, name);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(reason);
    expect((await fleet.panel.api('GET', `/environments/${a.envId}/domains`)).body.items).toEqual([]);
  });

  it('stays pending, saying why, until the TXT record holds the value; then the edge serves it', async () => {
    const added = (await add(a, 'www.alice-shop.jp')).body;
    const first = await check(a, added.id);
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('pending');
    expect(first.body.reason).toContain('there is no TXT record at _kura-challenge.www.alice-shop.jp');
    expect(first.body.reason).toContain(`not a CNAME to ${a.hostname}`);
    await dns.setTxt('_kura-challenge.www.alice-shop.jp', 'someone-else');
    expect((await check(a, added.id)).body.reason).toContain('does not hold the value');

    await dns.setTxt('_kura-challenge.www.alice-shop.jp', added.verification.value);
    const proven = await check(a, added.id);
    expect(proven.body).toMatchObject({ status: 'active', reason: null });
    const route = edgeRoutes(fleet.panel.ctx).find((r) => r.host === 'www.alice-shop.jp');
    expect(route?.upstream).toBe(edgeRoutes(fleet.panel.ctx).find((r) => r.host === a.hostname)?.upstream);
    await dns.clearTxt('_kura-challenge.www.alice-shop.jp');
  });

  it('takes a CNAME to the environment\'s hostname as proof', async () => {
    const added = (await add(a, 'blog.alice-shop.jp')).body;
    await dns.setCname('blog.alice-shop.jp', a.hostname);
    expect((await check(a, added.id)).body.status).toBe('active');
  });

  it('lets several customers claim a name, gives it to the first who proves control, and refuses it to the others after', async () => {
    const mine = (await add(a, 'contested.jp')).body;
    const theirs = (await add(b, 'contested.jp')).body;
    expect(theirs.status).toBe('pending');
    await dns.setTxt('_kura-challenge.contested.jp', theirs.verification.value);
    expect((await check(b, theirs.id)).body.status).toBe('active');
    const lost = (await fleet.panel.api('GET', `/domains/${mine.id}`, undefined, { token: a.token })).body;
    expect(lost).toMatchObject({ status: 'failed', reason: 'another customer proved control of this name first' });
    // Proving it later changes nothing: the name is held.
    await dns.setTxt('_kura-challenge.contested.jp', mine.verification.value);
    expect((await check(a, mine.id)).body).toMatchObject({ status: 'failed', reason: 'another customer holds this name' });
    const again = await add(a, 'contested.jp');
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe('contested.jp is held by another customer');
    expect(edgeRoutes(fleet.panel.ctx).filter((r) => r.host === 'contested.jp')).toHaveLength(1);
    await dns.clearTxt('_kura-challenge.contested.jp');
  });

  it('shows, checks and deletes a domain for its owner only: another customer gets 404', async () => {
    const mine = (await add(a, 'private.jp')).body;
    for (const [method, url] of [['GET', `/domains/${mine.id}`], ['POST', `/domains/${mine.id}/check`], ['DELETE', `/domains/${mine.id}`],
      ['GET', `/environments/${a.envId}/domains`], ['POST', `/environments/${a.envId}/domains`]] as const) {
      const res = await fleet.panel.api(method, url, method === 'POST' && url.endsWith('/domains') ? { name: 'x.jp' } : undefined, { token: b.token });
      expect(res.status, `${method} ${url}`).toBe(404);
    }
    expect((await fleet.panel.api('DELETE', `/domains/${mine.id}`, undefined, { token: a.token })).status).toBe(204);
    expect((await fleet.panel.api('GET', `/domains/${mine.id}`)).status).toBe(404);
  });

  it('checks again later, less and less often, and forgets the names of a deleted environment', async () => {
    const d = (await add(a, 'later.jp')).body;
    const domains = fleet.panel.ctx.repos.domains;
    const { verifyDomain } = await import('../../server/services/domains.js');
    const gaps: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = Date.now();
      await verifyDomain(fleet.panel.ctx, domains.get(d.id)!);
      gaps.push(Math.round((Date.parse(domains.get(d.id)!.nextCheckAt!) - before) / 1000));
    }
    expect(gaps.map((g) => Math.round(g / 10) * 10)).toEqual([30, 60, 120]);
    const gone = await fleet.panel.api('DELETE', `/environments/${a.envId}`);
    expect((await waitOperation(fleet.panel, gone.body.operation.id)).status).toBe('succeeded');
    expect(domains.get(d.id)).toBeUndefined();
  });

  it('takes the customer\'s own certificate after checking it, and the edge serves the name over HTTPS', async () => {
    const ca = new TestCa();
    try {
      const d = (await add(a, 'secure.alice-shop.jp')).body;
      const wrong = ca.leaf(['other.jp']);
      const refused = await fleet.panel.api('PUT', `/domains/${d.id}/certificate`, { cert: wrong.certPem, key: wrong.keyPem }, { token: a.token });
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toContain('does not cover secure.alice-shop.jp');
      const leaf = ca.leaf(['secure.alice-shop.jp']);
      // Another customer cannot put a certificate on it.
      expect((await fleet.panel.api('PUT', `/domains/${d.id}/certificate`, { cert: leaf.certPem, key: leaf.keyPem }, { token: b.token })).status).toBe(404);
      const res = await fleet.panel.api('PUT', `/domains/${d.id}/certificate`, { cert: leaf.certPem + ca.ca.certPem, key: leaf.keyPem }, { token: a.token });
      expect(res.status, res.text).toBe(200);
      expect(res.body.certificate).toMatchObject({ source: 'uploaded', status: 'issued', notAfter: expect.any(String), error: null });
      // The key is kept sealed, never as PEM.
      const stored = fleet.panel.ctx.repos.db.prepare('SELECT cert_key_sealed FROM domains WHERE id = ?').pluck().get(d.id) as string;
      expect(stored).not.toContain('PRIVATE KEY');
      // Served over HTTPS once proven, not before.
      expect(edgeRoutes(fleet.panel.ctx).find((r) => r.host === 'secure.alice-shop.jp')).toBeUndefined();
      await dns.setTxt('_kura-challenge.secure.alice-shop.jp', d.verification.value);
      expect((await check(a, d.id)).body.status).toBe('active');
      const route = edgeRoutes(fleet.panel.ctx).find((r) => r.host === 'secure.alice-shop.jp');
      expect(route?.tls?.keyPem).toContain('BEGIN PRIVATE KEY');
      expect(route?.tls?.certPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
      await dns.clearTxt('_kura-challenge.secure.alice-shop.jp');
    } finally {
      ca.close();
    }
  });

  it('refuses a suspended customer\'s new names', async () => {
    await fleet.panel.api('POST', `/customers/${a.customerId}/suspend`);
    const res = await add(a, 'suspended.jp');
    expect(res.status).toBe(409);
  });
});
