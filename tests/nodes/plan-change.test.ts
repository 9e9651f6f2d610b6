import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { docker, dockerResult, httpGet, inspect, labNode } from '../helpers/lab.js';
import { createEnvironment, seedCustomer, startFleetPanel, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';

const MIB = 1048576;

/** Every file under the data path with its checksum, owner and mode, as the container sees it. */
async function fingerprint(nodeIndex: number, envId: string): Promise<string> {
  return docker(labNode(nodeIndex), 'exec', containerName(envId), 'sh', '-c',
    'cd /srv/www && find . | sort | while read f; do if [ -f "$f" ]; then echo "$f $(md5sum < "$f" | cut -c1-32) $(stat -c %u:%g:%a "$f")"; else echo "$f $(stat -c %u:%g:%a "$f")"; fi; done');
}

/** The environment's containers on a node: "name state" each. */
async function containersOn(nodeIndex: number, envId: string): Promise<string[]> {
  const out = await docker(labNode(nodeIndex), 'ps', '-a', '--filter', `label=io.kura.environment=${envId}`, '--format', '{{.Names}} {{.State}}');
  return out.split('\n').filter(Boolean);
}

/** The disk size Docker enforces for the environment's container, in MiB. */
async function enforcedDiskMb(nodeIndex: number, envId: string): Promise<number> {
  const c = await inspect(labNode(nodeIndex), containerName(envId));
  return Number(c.HostConfig.StorageOpt.size) / MIB;
}

/** Writes `mb` MiB into the environment; true when the disk took it all. */
async function fits(nodeIndex: number, envId: string, mb: number): Promise<boolean> {
  const r = await dockerResult(labNode(nodeIndex), 'exec', containerName(envId), 'sh', '-c',
    `head -c ${mb * MIB} /dev/zero > /srv/www/fill.bin; s=$?; rm -f /srv/www/fill.bin; exit $s`);
  return r.code === 0;
}

/**
 * Plan changes that change the disk, on lab nodes with btrfs quotas: the environment is
 * rebuilt into a new container with its data, and the new size is the one Docker enforces.
 */
describe('plan change: a new disk size', () => {
  let panel: TestPanel;
  let seed: Seed;
  let nodeIds: string[];
  const plans: Record<number, string> = {};
  const plan = async (diskMb: number, extra: Record<string, unknown> = {}) => {
    const res = await panel.api('POST', '/plans', { name: `disk-${diskMb}-${Math.random().toString(36).slice(2, 6)}`, cpus: 0.5, memoryMb: 128, diskMb, pids: 64, ...extra });
    expect(res.status, res.text).toBe(201);
    return res.body.id as string;
  };
  const envOf = async (id: string) => (await panel.api('GET', `/environments/${id}`)).body;

  beforeAll(async () => {
    ({ panel, nodeIds, seed } = await startFleetPanel({ seed: { plan: { diskMb: 256 } } }));
    plans[256] = seed.planId;
    plans[512] = await plan(512);
  });
  afterAll(async () => panel.close());

  it('grows and shrinks the disk with the data byte for byte, stopping only for the final sync', async () => {
    const env = await createEnvironment(panel, { name: 'grows', templateId: 'static-site', planId: plans[256], customerId: seed.customerId, nodeId: nodeIds[0] });
    await docker(labNode(1), 'exec', containerName(env.id), 'sh', '-c', [
      'head -c 20000000 /dev/urandom > /srv/www/big.bin', 'mkdir -p /srv/www/blog && echo "<h1>post</h1>" > /srv/www/blog/post.html',
      'chmod 640 /srv/www/big.bin', 'rm /srv/www/index.html',
    ].join(' && '));
    const before = await fingerprint(1, env.id);
    expect(await fits(1, env.id, 300)).toBe(false);

    // A probe every 50 ms: the longest time the page did not answer.
    const url = `http://${env.endpoints[0].host}:${env.endpoints[0].port}/blog/post.html`;
    let longest = 0;
    let lastUp = Date.now();
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const t = Date.now();
        if ((await httpGet(url, 300))?.status === 200) {
          longest = Math.max(longest, t - lastUp);
          lastUp = t;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const up = await panel.api('PATCH', `/environments/${env.id}`, { planId: plans[512] });
    expect(up.status, up.text).toBe(202);
    expect(up.body.environment.state).toBe('migrating');
    const grown = await waitOperation(panel, up.body.operation.id, 120);
    await new Promise((r) => setTimeout(r, 300));
    probing = false;
    await probe;

    expect(grown.status, JSON.stringify(grown.error)).toBe('succeeded');
    expect(grown.message).toMatch(/^disk changed from 256 to 512 MiB, on lab1: 19\.\d MiB copied, unavailable for \d+ ms$/);
    const result = panel.ctx.repos.operations.get(up.body.operation.id)?.result as { nodeId: string; downtimeMs: number };
    expect(result).toMatchObject({ nodeId: nodeIds[0], copiedBytes: expect.any(Number), downtimeMs: expect.any(Number) });
    // The probe saw no longer an outage than the operation reports (plus the probe's own step).
    expect(longest).toBeLessThanOrEqual(result.downtimeMs + 1000);
    const after = await envOf(env.id);
    expect(after).toMatchObject({ planId: plans[512], nodeId: nodeIds[0], state: 'running', limits: { diskMb: 512 } });
    expect(after.endpoints).toEqual(env.endpoints);
    expect(await containersOn(1, env.id)).toEqual([`${containerName(env.id)} running`]);
    expect(await enforcedDiskMb(1, env.id)).toBe(512);
    expect(await fingerprint(1, env.id)).toBe(before);
    expect(await fits(1, env.id, 300)).toBe(true);
    const history = (await panel.api('GET', `/environments/${env.id}/events`)).body;
    expect(JSON.stringify(history)).toContain('rebuilt with a 512 MiB disk (was 256 MiB), on lab1');

    const down = await panel.api('PATCH', `/environments/${env.id}`, { planId: plans[256] });
    expect(down.status, down.text).toBe(202);
    const shrunk = await waitOperation(panel, down.body.operation.id, 120);
    expect(shrunk.status, JSON.stringify(shrunk.error)).toBe('succeeded');
    expect(await containersOn(1, env.id)).toEqual([`${containerName(env.id)} running`]);
    expect(await enforcedDiskMb(1, env.id)).toBe(256);
    expect(await fingerprint(1, env.id)).toBe(before);
    expect(await fits(1, env.id, 300)).toBe(false);
    expect((await httpGet(url))?.body).toBe('<h1>post</h1>\n');
  });

  it('rebuilds a stopped environment stopped, and it starts with its data on the new disk', async () => {
    const env = await createEnvironment(panel, { name: 'sleeper', templateId: 'static-site', planId: plans[256], customerId: seed.customerId, nodeId: nodeIds[0] });
    await docker(labNode(1), 'exec', containerName(env.id), 'sh', '-c', 'echo asleep > /srv/www/note.txt && rm /srv/www/index.html');
    const before = await fingerprint(1, env.id);
    const stop = await panel.api('POST', `/environments/${env.id}/actions`, { action: 'stop' });
    expect((await waitOperation(panel, stop.body.operation.id)).status).toBe('succeeded');
    const res = await panel.api('PATCH', `/environments/${env.id}`, { planId: plans[512] });
    expect(res.status, res.text).toBe(202);
    const op = await waitOperation(panel, res.body.operation.id, 120);
    expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    expect(op.message).toMatch(/disk changed from 256 to 512 MiB, on lab1: .* kept stopped$/);
    expect(await envOf(env.id)).toMatchObject({ state: 'stopped', limits: { diskMb: 512 } });
    expect(await containersOn(1, env.id)).toEqual([expect.stringMatching(new RegExp(`^${containerName(env.id)} exited`))]);
    expect(await enforcedDiskMb(1, env.id)).toBe(512);
    const start = await panel.api('POST', `/environments/${env.id}/actions`, { action: 'start' });
    expect((await waitOperation(panel, start.body.operation.id)).status).toBe('succeeded');
    // The template's index.html, deleted before the change, stays deleted.
    expect(await fingerprint(1, env.id)).toBe(before);
  });

  it('refuses a smaller disk the data does not fit, naming both sizes, and changes nothing', async () => {
    const env = await createEnvironment(panel, { name: 'full', templateId: 'static-site', planId: plans[512], customerId: seed.customerId, nodeId: nodeIds[0] });
    await docker(labNode(1), 'exec', containerName(env.id), 'sh', '-c', 'head -c 240000000 /dev/urandom > /srv/www/data.bin');
    const before = await fingerprint(1, env.id);
    const id = (await inspect(labNode(1), containerName(env.id))).Id;
    const res = await panel.api('PATCH', `/environments/${env.id}`, { planId: plans[256] });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
    expect(res.body.error.message).toMatch(/files take 2\d\d\.\d MiB, which does not fit plan .*'s 256 MiB disk/);
    expect(await envOf(env.id)).toMatchObject({ planId: plans[512], state: 'running', limits: { diskMb: 512 } });
    expect((await inspect(labNode(1), containerName(env.id))).Id).toBe(id);
    expect(await containersOn(1, env.id)).toEqual([`${containerName(env.id)} running`]);
    expect(await fingerprint(1, env.id)).toBe(before);
  });

  it('moves the environment to a node with room when its own has none, and says so', async () => {
    const lab1 = (await panel.api('GET', `/nodes/${nodeIds[0]}`)).body;
    const memoryMb = lab1.capacity.memoryMb;
    // A large (but idle) environment takes most of lab1's memory; the new plan needs more than is left.
    const hog = await plan(256, { memoryMb: Math.floor(memoryMb * 0.6) });
    await createEnvironment(panel, { name: 'hog', templateId: 'static-site', planId: hog, customerId: seed.customerId, nodeId: nodeIds[0] });
    const roomy = await plan(512, { memoryMb: Math.floor(memoryMb * 0.5) });
    const env = await createEnvironment(panel, { name: 'crowded', templateId: 'static-site', planId: plans[256], customerId: seed.customerId, nodeId: nodeIds[0] });
    await docker(labNode(1), 'exec', containerName(env.id), 'sh', '-c', 'head -c 5000000 /dev/urandom > /srv/www/data.bin');
    const before = await fingerprint(1, env.id);

    const res = await panel.api('PATCH', `/environments/${env.id}`, { planId: roomy });
    expect(res.status, res.text).toBe(202);
    const op = await waitOperation(panel, res.body.operation.id, 120);
    expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    expect(op.message).toMatch(/^disk changed from 256 to 512 MiB, moved from lab1 to lab\d, which had room/);
    const moved = await envOf(env.id);
    expect(moved.nodeId).not.toBe(nodeIds[0]);
    const at = nodeIds.indexOf(moved.nodeId) + 1;
    expect(moved).toMatchObject({ planId: roomy, state: 'running', limits: { diskMb: 512 } });
    expect(await fingerprint(at, env.id)).toBe(before);
    expect(await enforcedDiskMb(at, env.id)).toBe(512);
    expect(await containersOn(1, env.id)).toEqual([]);
    expect((await httpGet(`http://${moved.endpoints[0].host}:${moved.endpoints[0].port}/data.bin`, 5000))?.status).toBe(200);
  });

  it('parallel changes never pass the customer\'s disk limit', async () => {
    const limited = await seedCustomer(panel, { plan: { diskMb: 256 }, limits: { diskMb: 1000 } });
    const big = await plan(600);
    const envs = await Promise.all(['one', 'two'].map((name) =>
      createEnvironment(panel, { name, templateId: 'static-site', planId: limited.planId, customerId: limited.customerId, nodeId: nodeIds[1] })));
    // 512 in use: either change fits 1000 (856), both would need 1200.
    const results = await Promise.all(envs.map((e) => panel.api('PATCH', `/environments/${e.id}`, { planId: big })));
    expect(results.map((r) => r.status).sort()).toEqual([202, 409]);
    expect(results.find((r) => r.status === 409)!.body.error.code).toBe('quota_exceeded');
    const accepted = results.find((r) => r.status === 202)!;
    expect((await waitOperation(panel, accepted.body.operation.id, 120)).status).toBe('succeeded');
    const disks = await Promise.all(envs.map(async (e) => (await envOf(e.id)).limits.diskMb));
    expect(disks.sort()).toEqual([256, 600]);
    for (const e of envs) expect(await enforcedDiskMb(2, e.id)).toBe((await envOf(e.id)).limits.diskMb);
  });
});
