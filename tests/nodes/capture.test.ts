// Templates captured from environments, on real lab nodes: the capture, an environment made from it elsewhere, versions, deletion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { docker, httpGet, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';

describe('templates captured from environments', () => {
  let panel: TestPanel;
  let a: Seed;
  let shop: any;
  let node2Id: string;
  const url = (env: any, p = '/') => `http://${env.endpoints[0].host}:${env.endpoints[0].port}${p}`;

  beforeAll(async () => {
    panel = await startTestPanel({ background: false });
    const node1Id = await registerNode(panel, labNode(1));
    node2Id = await registerNode(panel, labNode(2));
    a = await seedCustomer(panel, { email: 'capture@kura.example' });
    shop = await createEnvironment(panel, { name: 'shop', templateId: 'static-site', planId: a.planId, customerId: a.customerId, nodeId: node1Id });
    expect(shop.templateVersion).toBe(panel.ctx.templates.get('static-site')!.version);
  }, 120_000);
  afterAll(async () => panel?.close());

  async function capture(body: Record<string, unknown>): Promise<any> {
    const res = await panel.api('POST', `/environments/${shop.id}/template`, body);
    expect(res.status, res.text).toBe(202);
    expect(res.body.operation.resource).toEqual({ type: 'template', id: body.id });
    return waitOperation(panel, res.body.operation.id, 180);
  }

  it('captures an environment\'s files as a template that new environments use, on another node', async () => {
    await docker(labNode(1), 'exec', containerName(shop.id), 'sh', '-c', 'echo "<h1>the shop, captured</h1>" > /srv/www/index.html');
    const op = await capture({ id: 'shop-site', name: 'Shop site', version: '1.0' });
    expect(op.status, JSON.stringify(op)).toBe('succeeded');
    const template = (await panel.api('GET', '/templates/shop-site')).body;
    expect(template).toMatchObject({ id: 'shop-site', name: 'Shop site', version: '1.0', source: 'captured', dataPath: '/srv/www' });
    expect(template.ports).toEqual(panel.ctx.templates.get('static-site')!.ports);
    // The source keeps running, unchanged.
    expect((await panel.api('GET', `/environments/${shop.id}`)).body.state).toBe('running');
    const copy = await createEnvironment(panel, { name: 'shop2', templateId: 'shop-site', planId: a.planId, customerId: a.customerId, nodeId: node2Id });
    expect(copy).toMatchObject({ templateId: 'shop-site', templateVersion: '1.0', nodeId: node2Id });
    expect((await httpGet(url(copy)))?.body).toBe('<h1>the shop, captured</h1>\n');
    // Hardened like any environment: the template's user, not root.
    expect((await docker(labNode(2), 'exec', containerName(copy.id), 'id', '-u')).trim()).toBe('1000');

    // A new version keeps the id; new environments get it, the existing one keeps its version.
    await docker(labNode(1), 'exec', containerName(shop.id), 'sh', '-c', 'echo "<h1>version two</h1>" > /srv/www/index.html');
    expect((await capture({ id: 'shop-site', name: 'Shop site', version: '2.0' })).status).toBe('succeeded');
    expect((await panel.api('GET', '/templates/shop-site')).body.version).toBe('2.0');
    const third = await createEnvironment(panel, { name: 'shop3', templateId: 'shop-site', planId: a.planId, customerId: a.customerId, nodeId: node2Id });
    expect(third.templateVersion).toBe('2.0');
    expect((await httpGet(url(third)))?.body).toBe('<h1>version two</h1>\n');
    expect((await panel.api('GET', `/environments/${copy.id}`)).body.templateVersion).toBe('1.0');

    // In use: not deleted. Once no environment uses it: deleted.
    const refused = await panel.api('DELETE', '/templates/shop-site');
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/used by 2 environments/);
    for (const env of [copy, third]) {
      const del = await panel.api('DELETE', `/environments/${env.id}`);
      expect((await waitOperation(panel, del.body.operation.id)).status).toBe('succeeded');
    }
    expect((await panel.api('DELETE', '/templates/shop-site')).status).toBe(204);
    expect((await panel.api('GET', '/templates/shop-site')).status).toBe(404);
  }, 300_000);

  it('refuses what cannot be captured, changing nothing', async () => {
    const before = (await panel.api('GET', '/templates')).body.items.length;
    expect((await panel.api('POST', `/environments/${shop.id}/template`, { id: 'static-site', name: 'x', version: '9' })).status).toBe(409);
    expect((await panel.api('POST', `/environments/${shop.id}/template`, { id: 'Bad Id', name: 'x', version: '1' })).status).toBe(400);
    expect((await panel.api('POST', `/environments/${shop.id}/template`, { id: 'ok-id', name: 'x', version: '../1' })).status).toBe(400);
    expect((await panel.api('POST', `/environments/${shop.id}/template`, { id: 'ok-id', name: 'x', version: '1' }, { token: a.customerToken })).status).toBe(403);
    expect((await panel.api('POST', '/environments/env_nope/template', { id: 'ok-id', name: 'x', version: '1' })).status).toBe(404);
    expect((await panel.api('DELETE', '/templates/static-site')).status).toBe(409);
    expect((await panel.api('DELETE', '/templates/static-site', undefined, { token: a.customerToken })).status).toBe(403);
    expect((await panel.api('GET', '/templates')).body.items.length).toBe(before);
  });
});
