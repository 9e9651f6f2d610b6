import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { docker, dockerResult, httpGet, labNode } from '../helpers/lab.js';
import { startFleetPanel, createEnvironment, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';

/**
 * A sparse file far larger than the environment's disk (btrfs quotas count only the blocks a
 * file holds, so `truncate -s 10G` fits in a 256 MiB quota). Docker's archive API would write
 * its holes out as 10 GiB of zeros; the move refuses it at once instead, clearly, and leaves
 * the environment running on its source with the file still sparse.
 */
describe('migrate: a sparse file larger than the disk', () => {
  let panel: TestPanel;
  let seed: Seed;
  let nodeIds: string[];
  beforeAll(async () => {
    ({ panel, nodeIds, seed } = await startFleetPanel({ seed: { plan: { diskMb: 256 } } }));
  });
  afterAll(async () => panel.close());

  /** Apparent size and KiB really allocated, as the container sees the file. */
  const sizes = async (envId: string) => {
    const out = await docker(labNode(1), 'exec', containerName(envId), 'sh', '-c', 'stat -c %s /srv/www/sparse.img && du -k /srv/www/sparse.img');
    const [apparent, du] = out.trim().split('\n');
    return { apparent: Number(apparent), allocatedKiB: Number(du!.split(/\s+/)[0]) };
  };

  it('is refused before any byte moves, and the environment keeps running with the file still sparse', async () => {
    const env = await createEnvironment(panel, { name: 'sparse', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] });
    await docker(labNode(1), 'exec', containerName(env.id), 'sh', '-c', 'truncate -s 10G /srv/www/sparse.img && echo kept > /srv/www/kept.txt');
    const before = await sizes(env.id);
    expect(before.apparent).toBe(10 * 2 ** 30);
    expect(before.allocatedKiB).toBeLessThan(1024);

    const started = Date.now();
    const res = await panel.api('POST', `/environments/${env.id}/migrate`, { nodeId: nodeIds[1] });
    expect(res.status).toBe(202);
    const op = await waitOperation(panel, res.body.operation.id, 120);
    const tookMs = Date.now() - started;

    expect(op.status).toBe('failed');
    expect(op.error.code).toBe('conflict');
    expect(op.error.message).toMatch(/sparse files \(largest: \/srv\/www\/sparse\.img \(10\.0 GiB\)\)/);
    expect(op.error.message).toMatch(/256 MiB disk/);
    // Refused up front: no 10 GiB stream (the lab moves well under 200 MiB/s).
    expect(tookMs).toBeLessThan(30_000);

    const after = (await panel.api('GET', `/environments/${env.id}`)).body;
    expect(after).toMatchObject({ nodeId: nodeIds[0], state: 'running' });
    expect((await httpGet(`http://${after.endpoints[0].host}:${after.endpoints[0].port}/kept.txt`))?.body).toBe('kept\n');
    expect(await sizes(env.id)).toEqual(before);
    // Nothing was left on the target.
    expect((await dockerResult(labNode(2), 'inspect', containerName(env.id))).code).not.toBe(0);
  });
});
