import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../server/config.js';
import { containerName } from '../../server/docker/container-spec.js';
import { reconcileAll } from '../../server/loops/reconcile.js';
import { docker, httpGet, labNode, nodeBody } from '../helpers/lab.js';
import { IMAGE_CACHE, createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type TestPanel } from '../helpers/panel.js';

/**
 * A panel whose database is lost, with no backup: `npm run recover` rebuilds it from the
 * containers on its nodes, and the panel started on the result keeps them (none removed),
 * with the same environment and customer ids, states, ports and data.
 */
describe('recovering a panel from its nodes\' containers', () => {
  let recovered: TestPanel | undefined;
  const dirs: string[] = [];
  afterAll(async () => {
    await recovered?.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('rebuilds environments, customers and placements, and reports what the labels cannot give', async () => {
    const lost = await startTestPanel();
    const nodeId = await registerNode(lost, labNode(1));
    const seed = await seedCustomer(lost);
    const running = await createEnvironment(lost, { name: 'shop', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId });
    const stopped = await createEnvironment(lost, { name: 'blog', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId });
    const stop = await lost.api('POST', `/environments/${stopped.id}/actions`, { action: 'stop' });
    expect((await waitOperation(lost, stop.body.operation.id)).status).toBe('succeeded');
    await docker(labNode(1), 'exec', containerName(running.id), 'sh', '-c', 'echo kept > /srv/www/kept.html');
    // The database is gone, the containers stay.
    await lost.app.close();
    fs.rmSync(lost.dataDir, { recursive: true, force: true });

    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-recover-'));
    dirs.push(work);
    const nodesFile = path.join(work, 'nodes.json');
    fs.writeFileSync(nodesFile, JSON.stringify([nodeBody(labNode(1))]));
    const dataDir = path.join(work, 'data');
    const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server/cli/recover.ts'), nodesFile], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, KURA_DATA_DIR: dataDir, KURA_IMAGE_CACHE: IMAGE_CACHE, KURA_LOG_LEVEL: 'silent' },
    });
    expect(out).toContain(`recovered panel ${lost.ctx.panelId}`);
    expect(out).toContain('placeholder names and emails');

    recovered = await startTestPanel({ dataDir });
    expect(recovered.ctx.panelId).toBe(lost.ctx.panelId);
    const reports = await reconcileAll(recovered.ctx);
    expect(reports.flatMap((r) => r.removed)).toEqual([]);
    for (const before of [running, stopped]) {
      const after = (await recovered.api('GET', `/environments/${before.id}`)).body;
      expect(after.customerId).toBe(before.customerId);
      expect(after.state).toBe(before.id === running.id ? 'running' : 'stopped');
      expect(after.endpoints).toEqual(before.endpoints);
      expect(after.limits).toEqual(before.limits);
    }
    expect((await httpGet(`http://${running.endpoints[0].host}:${running.endpoints[0].port}/kept.html`))?.body).toBe('kept\n');
    // The recovered panel runs them as its own: a stop goes through.
    const again = await recovered.api('POST', `/environments/${running.id}/actions`, { action: 'stop' });
    expect((await waitOperation(recovered, again.body.operation.id)).status).toBe('succeeded');
  }, 180_000);
});
