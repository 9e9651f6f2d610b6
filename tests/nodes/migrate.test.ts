import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { killNode, restartNode } from '../../server/lab/lab.js';
import { importBusybox } from '../../server/lab/images.js';
import { docker, dockerResult, httpGet, labNode } from '../helpers/lab.js';
import { startFleetPanel, createEnvironment, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';

/** Every file under the data path with its checksum, owner and mode, as the container sees it. */
async function fingerprint(nodeIndex: number, envId: string): Promise<string> {
  return docker(labNode(nodeIndex), 'exec', containerName(envId), 'sh', '-c',
    'cd /srv/www && find . | sort | while read f; do if [ -f "$f" ]; then echo "$f $(md5sum < "$f" | cut -c1-32) $(stat -c %u:%g:%a "$f")"; else echo "$f $(stat -c %u:%g:%a "$f")"; fi; done');
}

describe('migrate: an environment moves between lab nodes with its data', () => {
  let panel: TestPanel;
  let seed: Seed;
  let nodeIds: string[];
  beforeAll(async () => {
    ({ panel, nodeIds, seed } = await startFleetPanel({ seed: { plan: { diskMb: 512 } } }));
  });
  afterAll(async () => {
    await restartNode(3);
    await panel.close();
  });

  it('moves the data byte for byte, keeps serving apart from a short window, and updates the endpoints', async () => {
    const env = await createEnvironment(panel, { name: 'movable', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] });
    const name = containerName(env.id);
    await docker(labNode(1), 'exec', name, 'sh', '-c', [
      'head -c 20000000 /dev/urandom > /srv/www/big.bin', 'mkdir -p /srv/www/blog/2026', 'echo "<h1>post</h1>" > /srv/www/blog/2026/post.html',
      'chmod 640 /srv/www/blog/2026/post.html', 'rm /srv/www/index.html', 'mkdir -p /tmp/work && echo scratch > /tmp/work/s',
    ].join(' && '));
    const before = await fingerprint(1, env.id);
    expect(before).toMatch(/big\.bin [0-9a-f]{32} 1000:1000:644/);
    expect(before).not.toMatch(/index\.html/);

    // A probe every 50 ms on the old and the new address: the site counts as up when either answers.
    const oldUrl = `http://${env.endpoints[0].host}:${env.endpoints[0].port}/blog/2026/post.html`;
    let newUrl: string | null = null;
    const gaps: number[] = [];
    let lastUp = Date.now();
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const t = Date.now();
        const up = (await httpGet(oldUrl, 300))?.status === 200 || (newUrl !== null && (await httpGet(newUrl, 300))?.status === 200);
        if (up) {
          if (t - lastUp > 150) gaps.push(t - lastUp);
          lastUp = t;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const res = await panel.api('POST', `/environments/${env.id}/migrate`, { nodeId: nodeIds[1] });
    expect(res.status).toBe(202);
    expect((await panel.api('GET', `/environments/${env.id}`)).body.state).toBe('migrating');
    const op = await waitOperation(panel, res.body.operation.id, 120);
    const moved = (await panel.api('GET', `/environments/${env.id}`)).body;
    newUrl = `http://${moved.endpoints[0].host}:${moved.endpoints[0].port}/blog/2026/post.html`;
    await new Promise((r) => setTimeout(r, 500));
    probing = false;
    await probe;

    expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    expect(moved).toMatchObject({ nodeId: nodeIds[1], state: 'running' });
    expect(moved.endpoints[0].host).toBe(new URL(labNode(2).endpoint.replace('tcp:', 'http:')).hostname);
    expect(await fingerprint(2, env.id)).toBe(before);
    // The template's index.html, deleted on the source, is not back on the target.
    expect((await httpGet(newUrl))?.body).toBe('<h1>post</h1>\n');
    expect((await dockerResult(labNode(1), 'inspect', name)).code).not.toBe(0);
    expect((await docker(labNode(2), 'exec', name, 'cat', '/tmp/work/s')).trim()).toBe('scratch');
    // Unavailable only during the final sync and start: well under the 2 s target here.
    expect(Math.max(0, ...gaps)).toBeLessThan(2000);
    // The template itself did not cross: far less than the image plus data was copied.
    expect(op.message).toMatch(/moved to lab2: 19\.\d MiB copied/);
  });

  it('a dead target mid-copy leaves the environment running on its source, and the operation fails cleanly', async () => {
    const env = await createEnvironment(panel, { name: 'survivor', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] });
    await docker(labNode(1), 'exec', containerName(env.id), 'sh', '-c', 'head -c 200000000 /dev/zero > /srv/www/zeros.bin && echo kept > /srv/www/kept.txt');
    const before = await fingerprint(1, env.id);
    const res = await panel.api('POST', `/environments/${env.id}/migrate`, { nodeId: nodeIds[2] });
    expect(res.status).toBe(202);
    // Kill the target's dockerd as soon as the copy has started.
    for (let i = 0; i < 400; i++) {
      const op = (await panel.api('GET', `/operations/${res.body.operation.id}`)).body;
      if (op.progress >= 15 || op.status !== 'running' && op.status !== 'queued') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    await killNode(3);
    const op = await waitOperation(panel, res.body.operation.id, 120);
    expect(op.status).toBe('failed');
    expect(op.error.message).toBeTruthy();
    const after = (await panel.api('GET', `/environments/${env.id}`)).body;
    expect(after).toMatchObject({ nodeId: nodeIds[0], state: 'running' });
    expect(await fingerprint(1, env.id)).toBe(before);
    expect((await httpGet(`http://${after.endpoints[0].host}:${after.endpoints[0].port}/kept.txt`))?.body).toBe('kept\n');
    // Bring the node back for the next tests. Its status may never have turned offline (the kill is
    // shorter than two missed beats), so wait for a heartbeat after the restart: that one closes the breaker.
    await restartNode(3);
    const restartedAt = new Date().toISOString();
    for (let i = 0; i < 200; i++) {
      const n = (await panel.api('GET', `/nodes/${nodeIds[2]}`)).body;
      if (n.status === 'online' && n.lastSeenAt > restartedAt) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('two moves into one node at once take different host ports, and a move needs no body', async () => {
    const a = await createEnvironment(panel, { name: 'pair-a', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] });
    const b = await createEnvironment(panel, { name: 'pair-b', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] });
    const [ra, rb] = await Promise.all([
      panel.api('POST', `/environments/${a.id}/migrate`, { nodeId: nodeIds[1] }),
      panel.api('POST', `/environments/${b.id}/migrate`, { nodeId: nodeIds[1] }),
    ]);
    expect([ra.status, rb.status]).toEqual([202, 202]);
    const ops = await Promise.all([waitOperation(panel, ra.body.operation.id, 120), waitOperation(panel, rb.body.operation.id, 120)]);
    expect(ops.map((o) => o.status), JSON.stringify(ops.map((o) => o.error))).toEqual(['succeeded', 'succeeded']);
    const [ea, eb] = await Promise.all([a, b].map(async (e) => (await panel.api('GET', `/environments/${e.id}`)).body));
    expect(ea.endpoints[0].port).not.toBe(eb.endpoints[0].port);
    for (const e of [ea, eb]) expect((await httpGet(`http://${e.endpoints[0].host}:${e.endpoints[0].port}/`))?.status).toBe(200);
    // No body at all: the panel picks the node.
    const back = await panel.api('POST', `/environments/${a.id}/migrate`);
    expect(back.status).toBe(202);
    const backOp = await waitOperation(panel, back.body.operation.id, 120);
    expect(backOp.status, JSON.stringify(backOp.error)).toBe('succeeded');
    expect((await panel.api('GET', `/environments/${a.id}`)).body.nodeId).not.toBe(nodeIds[1]);
  });

  it('avoids a host port that a container outside the panel publishes on the target', async () => {
    const env = await createEnvironment(panel, { name: 'dodger', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] });
    // The port the panel would choose on lab3 next (past any an earlier test left published there), taken by someone else's container.
    const published = await panel.ctx.nodes.get(nodeIds[2]!).publishedPorts();
    const [next] = panel.ctx.repos.environments.portsOn(nodeIds[2]!, panel.ctx.repos.environments.get(env.id)!.ports, published);
    await importBusybox(labNode(3));
    const foreign = (await docker(labNode(3), 'run', '-d', '--label', 'io.kura.test=foreign', '-p', `${next!.hostPort}:80`, 'busybox:lab', 'sleep', '600')).trim();
    try {
      const res = await panel.api('POST', `/environments/${env.id}/migrate`, { nodeId: nodeIds[2] });
      const op = await waitOperation(panel, res.body.operation.id, 120);
      expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
      const moved = (await panel.api('GET', `/environments/${env.id}`)).body;
      expect(moved.endpoints[0].port).not.toBe(next!.hostPort);
      expect((await httpGet(`http://${moved.endpoints[0].host}:${moved.endpoints[0].port}/`))?.status).toBe(200);
    } finally {
      await docker(labNode(3), 'rm', '-f', foreign);
    }
  });

  it('refuses a customer token, an unknown node and its own node', async () => {
    const env = (await panel.api('GET', `/environments?customerId=${seed.customerId}&nodeId=${nodeIds[0]}`)).body.items[0];
    expect((await panel.api('POST', `/environments/${env.id}/migrate`, {}, { token: seed.customerToken })).status).toBe(403);
    expect((await panel.api('POST', `/environments/${env.id}/migrate`, { nodeId: 'node_nope' })).status).toBe(400);
    expect((await panel.api('POST', `/environments/${env.id}/migrate`, { nodeId: nodeIds[0] })).status).toBe(400);
    expect((await panel.api('POST', `/environments/${env.id}/migrate`, { nodeId: nodeIds[1], extra: 1 })).status).toBe(400);
  });
});
