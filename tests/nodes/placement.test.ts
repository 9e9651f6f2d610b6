import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../server/config.js';
import { importBusybox } from '../../server/lab/images.js';
import { docker, httpGet, labNode, labNodes } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type TestPanel } from '../helpers/panel.js';

describe('placement and atomic reservation across three nodes', () => {
  let panel: TestPanel;
  let nodeIds: string[];
  beforeAll(async () => {
    panel = await startTestPanel();
    nodeIds = [];
    for (const n of labNodes()) nodeIds.push(await registerNode(panel, n, { maxEnvironments: 3 }));
  });
  afterAll(async () => panel.close());

  it('spreads environments to the node with the most room', async () => {
    const seed = await seedCustomer(panel);
    const placed: string[] = [];
    for (let i = 0; i < 3; i++) {
      const env = await createEnvironment(panel, { name: `spread-${i}`, templateId: 'static-site', planId: seed.planId, customerId: seed.customerId });
      placed.push(env.nodeId);
    }
    expect(new Set(placed).size).toBe(3);
  });

  it('lets exactly as many parallel creates through as the customer limit allows', async () => {
    const seed = await seedCustomer(panel, { limits: { environments: 1 } });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => panel.api('POST', '/environments',
      { name: `race-${i}`, templateId: 'static-site', planId: seed.planId }, { token: seed.customerToken })));
    const ok = results.filter((r) => r.status === 202);
    expect(ok).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 202)) {
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('quota_exceeded');
    }
    await waitOperation(panel, ok[0]!.body.operation.id);
  });

  it('never overfills a node pinned by 10 parallel creates', async () => {
    const seed = await seedCustomer(panel);
    const target = nodeIds[2]!;
    const before = (await panel.api('GET', `/nodes/${target}`)).body.allocated.environments as number;
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => panel.api('POST', '/environments',
      { name: `pin-${i}`, templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: target })));
    const ok = results.filter((r) => r.status === 202);
    expect(ok).toHaveLength(3 - before);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.error.code === 'no_capacity')).toBe(true);
    await Promise.all(ok.map((r) => waitOperation(panel, r.body.operation.id)));
    expect((await panel.api('GET', `/nodes/${target}`)).body.allocated.environments).toBe(3);
    const running = await docker(labNode(3), 'ps', '-q', '--filter', `label=io.kura.customer=${seed.customerId}`);
    expect(running.split('\n').filter(Boolean)).toHaveLength(3 - before);
  });

  it('answers no_capacity with the reason of each excluded node when the fleet is full', async () => {
    const seed = await seedCustomer(panel);
    let res;
    for (let i = 0; i < 12; i++) {
      res = await panel.api('POST', '/environments', { name: `fill-${i}`, templateId: 'static-site', planId: seed.planId, customerId: seed.customerId });
      if (res.status !== 202) break;
      await waitOperation(panel, res.body.operation.id);
    }
    expect(res!.status).toBe(409);
    expect(res!.body.error.code).toBe('no_capacity');
    expect(res!.body.error.details.excluded).toHaveLength(3);
    expect(res!.body.error.details.excluded[0].reason).toMatch(/maximum of 3/);
  });

  it('refuses to place a disk plan on a node in maintenance unless pinned', async () => {
    await panel.api('PATCH', `/nodes/${nodeIds[0]}`, { state: 'maintenance', maxEnvironments: 30 });
    await panel.api('PATCH', `/nodes/${nodeIds[1]}`, { maxEnvironments: 30 });
    const seed = await seedCustomer(panel);
    const env = await createEnvironment(panel, { name: 'not-maint', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId });
    expect(env.nodeId).toBe(nodeIds[1]);
    expect((await panel.api('DELETE', `/nodes/${nodeIds[1]}`)).status).toBe(409);
    await panel.api('PATCH', `/nodes/${nodeIds[0]}`, { state: 'active' });
  });
});

describe('a registry-image template', () => {
  let panel: TestPanel;
  let templatesDir: string;
  beforeAll(async () => {
    templatesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-templates-'));
    fs.cpSync(path.join(ROOT, 'templates'), templatesDir, { recursive: true });
    fs.mkdirSync(path.join(templatesDir, 'registry-busybox'));
    fs.writeFileSync(path.join(templatesDir, 'registry-busybox', 'template.json'), JSON.stringify({
      name: 'Busybox from a registry', version: '1', description: 'image reference, no build',
      source: { type: 'registry', reference: 'busybox:lab' }, ports: [{ name: 'http', port: 8080, protocol: 'tcp' }],
      dataPath: '/www', user: '1000:1000', capabilities: [], command: ['httpd', '-f', '-p', '8080', '-h', '/www'], env: {}, defaults: null,
    }));
    panel = await startTestPanel({ templatesDir });
  });
  afterAll(async () => {
    await panel.close();
    fs.rmSync(templatesDir, { recursive: true, force: true });
  });

  it('runs from an image already present on the node, and says why when it is missing', async () => {
    await importBusybox(labNode(3));
    const nodeId = await registerNode(panel, labNode(3));
    const other = await registerNode(panel, labNode(2));
    await docker(labNode(2), 'rmi', '-f', 'busybox:lab').catch(() => '');
    const seed = await seedCustomer(panel);
    const env = await createEnvironment(panel, { name: 'reg', templateId: 'registry-busybox', planId: seed.planId, customerId: seed.customerId, nodeId });
    expect(env.state).toBe('running');
    expect((await httpGet(`http://${env.endpoints[0].host}:${env.endpoints[0].port}/`))?.status).toBe(404);
    const res = await panel.api('POST', '/environments', { name: 'reg2', templateId: 'registry-busybox', planId: seed.planId, customerId: seed.customerId, nodeId: other });
    const op = await waitOperation(panel, res.body.operation.id);
    expect(op.status).toBe('failed');
    expect(op.error.message).toMatch(/busybox:lab is not on node lab2 and could not be pulled/);
    expect((await panel.api('GET', `/environments/${res.body.environment.id}`)).body.state).toBe('error');
  });
});
