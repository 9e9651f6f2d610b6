import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { pauseNode, resumeNode } from '../../server/lab/lab.js';
import { labDir, nodePaths } from '../../server/lab/paths.js';
import { docker, dockerResult, httpGet, inspect, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';

/** What one customer can do to a node through their own environment, and what the panel keeps true. */
describe('tenant checks on a real node', () => {
  let panel: TestPanel;
  let seed: Seed;
  let nodeIds: string[];
  const node = () => labNode(1);

  beforeAll(async () => {
    panel = await startTestPanel({ background: true });
    nodeIds = [await registerNode(panel, labNode(1)), await registerNode(panel, labNode(2))];
    seed = await seedCustomer(panel, { plan: { diskMb: 64 } });
  });
  afterAll(async () => {
    await resumeNode(1).catch(() => undefined);
    await panel.close();
  });

  it('keeps a log flood within the 3 × 10 MB cap', async () => {
    const env = await createEnvironment(panel, { name: 'loud', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] });
    const name = containerName(env.id);
    // The environment's first process writes 60 MB to its own standard output, as a runaway script would.
    await docker(node(), 'exec', name, 'sh', '-c', 'yes 0123456789abcdef0123456789abcdef0123456789abcdef | head -c 60000000 > /proc/1/fd/1');
    const id = (await inspect(node(), name)).Id as string;
    const dir = path.join(nodePaths(labDir(), 1).dataRoot, 'containers', id);
    const total = fs.readdirSync(dir).filter((f) => f.includes('-json.log')).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    expect(total).toBeGreaterThan(10 * 1048576);
    expect(total).toBeLessThanOrEqual(3 * 10 * 1048576 + 1048576);
  });

  it('stops an inode flood at the disk quota, and the environment and its neighbour still work', async () => {
    const flood = await createEnvironment(panel, { name: 'inodes', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] });
    const neighbour = await createEnvironment(panel, { name: 'calm', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] });
    // Empty files cost no data, only metadata: the quota must count that too. xargs stops at the first refused batch.
    const r = await dockerResult(node(), 'exec', containerName(flood.id), 'sh', '-c',
      'mkdir -p /srv/www/d && cd /srv/www/d && seq 1 400000 | xargs -n 4000 sh -c \'touch "$@" || exit 255\' _; echo "files=$(ls | wc -l)"');
    expect(`${r.stdout}${r.stderr}`).toMatch(/Disk quota exceeded|No space left on device/);
    const files = Number(/files=(\d+)/.exec(r.stdout)?.[1]);
    expect(files).toBeGreaterThan(1000);
    expect(files).toBeLessThan(400000);
    expect((await httpGet(`http://${flood.endpoints[0].host}:${flood.endpoints[0].port}/`))?.status).toBe(200);
    expect((await dockerResult(node(), 'exec', containerName(neighbour.id), 'sh', '-c', 'echo fine > /srv/www/ok.txt')).code).toBe(0);
  });

  it('refuses host settings on every create and update path, and every container keeps the hardened baseline', async () => {
    const forbidden = [{ privileged: true }, { HostConfig: { Privileged: true } }, { binds: ['/:/host'] }, { capabilities: ['SYS_ADMIN'] },
      { network: 'host' }, { image: 'alpine' }, { user: '0' }];
    for (const extra of forbidden) {
      const body = { name: 'x', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, ...extra };
      expect((await panel.api('POST', '/environments', body)).status, JSON.stringify(extra)).toBe(400);
      expect((await panel.api('POST', '/plans', { name: 'p', cpus: 1, memoryMb: 64, diskMb: 64, pids: 64, ...extra })).status).toBe(400);
      expect((await panel.api('PATCH', `/plans/${seed.planId}`, { cpus: 1, ...extra })).status).toBe(400);
    }
    const env = await createEnvironment(panel, { name: 'checked', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] });
    for (const extra of forbidden) expect((await panel.api('PATCH', `/environments/${env.id}`, { planId: seed.planId, ...extra })).status).toBe(400);

    const bigger = (await panel.api('POST', '/plans', { name: 'checked-plus', cpus: 1, memoryMb: 256, diskMb: 64, pids: 128 })).body;
    const hardened = async (index: number, what: string) => {
      const hc = (await inspect(labNode(index), containerName(env.id))).HostConfig;
      expect({ what, privileged: hc.Privileged, capDrop: hc.CapDrop, capAdd: hc.CapAdd ?? [], binds: hc.Binds ?? [], devices: hc.Devices ?? [],
        network: hc.NetworkMode, pid: hc.PidMode, userns: hc.UsernsMode, secopt: hc.SecurityOpt })
        .toEqual({ what, privileged: false, capDrop: ['ALL'], capAdd: [], binds: [], devices: [], network: `kura-net-${seed.customerId}`,
          pid: '', userns: '', secopt: ['no-new-privileges:true'] });
    };
    await hardened(1, 'create');
    expect((await waitOperation(panel, (await panel.api('PATCH', `/environments/${env.id}`, { planId: bigger.id })).body.operation.id)).status).toBe('succeeded');
    await hardened(1, 'plan change');
    expect((await waitOperation(panel, (await panel.api('POST', `/environments/${env.id}/reinstall`)).body.operation.id)).status).toBe('succeeded');
    await hardened(1, 'reinstall');
    expect((await waitOperation(panel, (await panel.api('POST', `/environments/${env.id}/migrate`, { nodeId: nodeIds[1] })).body.operation.id, 120)).status).toBe('succeeded');
    await hardened(2, 'move');
  });

  it('recovers an environment whose node was cut off while it started', async () => {
    const res = await panel.api('POST', '/environments', { name: 'cutoff', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] });
    expect(res.status).toBe(202);
    await pauseNode(1);
    const op = await waitOperation(panel, res.body.operation.id, 90);
    await resumeNode(1);
    expect(['succeeded', 'failed']).toContain(op.status);
    // Whatever the operation said, once the node answers again the environment's record is true and nothing is orphaned.
    const id = res.body.environment.id as string;
    await expect.poll(async () => {
      const env = (await panel.api('GET', `/environments/${id}`)).body;
      const out = await docker(node(), 'ps', '-a', '--filter', `label=io.kura.environment=${id}`, '--format', '{{.State}}');
      return { state: env.state, containers: out.split('\n').filter(Boolean).length };
    }, { timeout: 60_000, interval: 1000 }).toSatisfy((s: { state: string; containers: number }) =>
      (s.state === 'running' && s.containers === 1) || (s.state === 'error' && s.containers <= 1));
    if ((await panel.api('GET', `/environments/${id}`)).body.state === 'error') {
      // A failed start is repaired by the customer's own action, with no operator in between.
      expect((await waitOperation(panel, (await panel.api('POST', `/environments/${id}/reinstall`)).body.operation.id, 90)).status).toBe('succeeded');
    }
  });

  it('copies the panel database online, under load, into a copy that passes integrity_check', async () => {
    const file = path.join(panel.dataDir, 'kura.db');
    let writing = true;
    const load = (async () => {
      for (let i = 0; writing && i < 2000; i++) await panel.api('POST', '/customers', { name: `Load ${i}`, email: `load${i}@example.com` });
    })();
    const copies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const source = new Database(file, { readonly: true, fileMustExist: true });
      const copy = path.join(panel.dataDir, `copy-${i}.db`);
      await source.backup(copy);
      source.close();
      copies.push(copy);
    }
    writing = false;
    await load;
    for (const copy of copies) {
      const db = new Database(copy, { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect((db.prepare('SELECT COUNT(*) AS n FROM customers').get() as { n: number }).n).toBeGreaterThan(0);
      db.close();
    }
  });
});
