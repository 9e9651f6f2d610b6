// Environment backups with real restic and rclone, on real lab nodes: consistency, increments, restores, isolation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { docker, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';

describe('environment backups', () => {
  let panel: TestPanel;
  let a: Seed;
  let b: Seed;
  let site: any;
  let nodeId: string;
  let node2Id: string;
  const node = () => labNode(1);
  const sh = (env: { id: string }, script: string, n = node()) => docker(n, 'exec', containerName(env.id), 'sh', '-c', script);
  /** Every file under /srv with its hash, sorted: what a restore must bring back exactly. */
  const fingerprint = (env: { id: string }, n = node()) => sh(env, 'cd /srv && find . -type f -exec sha256sum {} + | sort -k2', n);

  async function backUp(env: { id: string }, body: Record<string, unknown> = {}, token?: string): Promise<any> {
    const res = await panel.api('POST', `/environments/${env.id}/backups`, body, token ? { token } : {});
    expect(res.status, res.text).toBe(202);
    expect(res.body.operation.resource).toEqual({ type: 'backup', id: res.body.backup.id });
    const op = await waitOperation(panel, res.body.operation.id, 180);
    expect(op.status, JSON.stringify(op)).toBe('succeeded');
    return (await panel.api('GET', `/backups/${res.body.backup.id}`)).body;
  }

  beforeAll(async () => {
    panel = await startTestPanel({ background: false });
    nodeId = await registerNode(panel, node());
    node2Id = await registerNode(panel, labNode(2));
    a = await seedCustomer(panel, { email: 'backups-a@kura.example' });
    b = await seedCustomer(panel, { email: 'backups-b@kura.example' });
    site = await createEnvironment(panel, { name: 'site', templateId: 'static-site', planId: a.planId, customerId: a.customerId, nodeId });
  }, 120_000);
  afterAll(async () => {
    await panel?.close();
  });

  it('backs up without stopping, and a restore in place brings back exactly the files of the backup', async () => {
    await sh(site, 'echo "<h1>v1</h1>" > /srv/www/index.html && mkdir -p /srv/www/img && head -c 3000000 /dev/urandom > /srv/www/img/a.bin && echo keep > /srv/www/notes.txt');
    const before = await fingerprint(site);
    const backup = await backUp(site, { note: 'before the change' });
    expect(backup).toMatchObject({ environmentId: site.id, status: 'succeeded', kind: 'manual', keep: false, note: 'before the change' });
    expect(backup.sizeMb).toBeGreaterThan(2.5);
    expect(backup.frozenMs).toBeLessThan(1000);
    // Changed, deleted and new files.
    await sh(site, 'echo "<h1>v2</h1>" > /srv/www/index.html && rm /srv/www/notes.txt && echo new > /srv/www/new.txt');
    expect(await fingerprint(site)).not.toBe(before);
    const res = await panel.api('POST', `/backups/${backup.id}/restore`, { target: 'same' });
    expect(res.status, res.text).toBe(202);
    const op = await waitOperation(panel, res.body.operation.id, 180);
    expect(op.status, JSON.stringify(op)).toBe('succeeded');
    expect(await fingerprint(site)).toBe(before);
    expect((await panel.api('GET', `/environments/${site.id}`)).body.state).toBe('running');
  }, 300_000);
});
