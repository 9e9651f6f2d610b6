// Usage history: the sampler reads real lab containers, the API serves what it recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { pauseNode, resumeNode } from '../../server/lab/lab.js';
import { startUsageSampler, type UsageSampler } from '../../server/loops/usage-sampler.js';
import { docker, dockerResult, httpGet, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, type Seed, type TestPanel } from '../helpers/panel.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Point { at: string; cpuPercent: number; memoryMb: number; netRxBytes: number; netTxBytes: number }

describe('usage history from real containers', () => {
  let panel: TestPanel;
  let seed: Seed;
  let other: Seed;
  let sampler: UsageSampler;
  let env: { id: string; endpoints: { host: string; port: number }[] };
  const nodeIds: string[] = [];

  beforeAll(async () => {
    panel = await startTestPanel();
    nodeIds.push(await registerNode(panel, labNode(1)), await registerNode(panel, labNode(2)));
    seed = await seedCustomer(panel);
    other = await seedCustomer(panel);
    env = await createEnvironment(panel, { name: 'usage', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] });
    // No background work and no timer: the test takes the samples itself, when it wants them.
    sampler = startUsageSampler(panel.ctx, { schedule: false });
  });
  afterAll(async () => {
    await resumeNode(2);
    await sampler?.stop();
    await panel?.close();
  });

  const history = async (query = '', token?: string | null) =>
    panel.api('GET', `/environments/${env.id}/usage${query}`, undefined, token === undefined ? {} : { token });
  const lastPoint = async (): Promise<Point> => {
    const res = await history('', seed.customerToken);
    expect(res.status).toBe(200);
    const points = res.body.points as Point[];
    expect(points.length).toBeGreaterThan(0);
    return points[points.length - 1]!;
  };

  it('records memory, CPU and traffic of a running environment and serves them to its owner', async () => {
    expect((await history()).body).toEqual({ intervalSeconds: 60, points: [] });
    expect(await sampler.sampleOnce()).toBe(1);
    // Traffic between two samples: a page fetched from the site is sent by the container.
    const page = await httpGet(`http://${env.endpoints[0]!.host}:${env.endpoints[0]!.port}/`);
    expect(page?.status).toBe(200);
    await sleep(2000);
    expect(await sampler.sampleOnce()).toBe(1);

    const res = await history('', seed.customerToken);
    expect(res.status).toBe(200);
    expect(res.body.intervalSeconds).toBe(60);
    const points = res.body.points as Point[];
    expect(points.length).toBeGreaterThanOrEqual(1);
    for (const p of points) {
      expect(new Date(p.at).toISOString()).toBe(p.at);
      expect(new Date(p.at).getUTCSeconds()).toBe(0);
      expect(Date.now() - Date.parse(p.at)).toBeLessThan(3 * 60_000);
      expect(p.memoryMb).toBeGreaterThan(0);
      expect(p.memoryMb).toBeLessThan(128);
    }
    const sent = points.reduce((n, p) => n + p.netTxBytes, 0);
    const received = points.reduce((n, p) => n + p.netRxBytes, 0);
    expect(sent).toBeGreaterThan(page!.body.length);
    expect(received).toBeGreaterThan(0);
    // An idle busybox httpd uses next to no CPU.
    expect(points[points.length - 1]!.cpuPercent).toBeLessThan(10);
  });

  it('shows CPU rising under a busy loop, within the plan\'s half core', async () => {
    const idle = (await lastPoint()).cpuPercent;
    await docker(labNode(1), 'exec', '-d', containerName(env.id), 'sh', '-c', 'echo $$ > /tmp/busy.pid; while :; do :; done');
    try {
      await sleep(500);
      expect(await sampler.sampleOnce()).toBe(1);
      await sleep(3000);
      expect(await sampler.sampleOnce()).toBe(1);
      const busy = (await lastPoint()).cpuPercent;
      expect(busy).toBeGreaterThan(idle + 25);
      // The plan allows 0.5 CPU: the loop is throttled to about 50 % of one core.
      expect(busy).toBeLessThan(65);
    } finally {
      await dockerResult(labNode(1), 'exec', containerName(env.id), 'sh', '-c', 'kill $(cat /tmp/busy.pid)');
    }
  });

  it("answers 404 to another customer and 400 to hours outside 1..24, like the environment's other routes", async () => {
    const foreign = await history('', other.customerToken);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    expect((await panel.api('GET', '/environments/env_00000000000000000000/usage')).status).toBe(404);
    expect((await history('', null)).status).toBe(401);
    for (const bad of ['0', '25', '-1', '1.5', 'day']) {
      const res = await history(`?hours=${bad}`, seed.customerToken);
      expect(res.status, `hours=${bad}`).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
    }
    const one = await history('?hours=1', seed.customerToken);
    expect(one.status).toBe(200);
    expect(one.body.points.length).toBeGreaterThan(0);
  });

  it('lists the route in the OpenAPI document with the environments', async () => {
    const doc = JSON.parse((await panel.app.inject({ url: '/api/v1/openapi.json' })).body);
    const op = doc.paths['/environments/{id}/usage']?.get;
    expect(op?.tags).toEqual(['environments']);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '404']));
  });

  it('keeps only 25 hours: the first pass of the hour purges older samples', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = { environmentId: env.id, cpuPercent: 1, memoryMb: 1, netRxBytes: 0, netTxBytes: 0 };
    panel.ctx.repos.usage.insertMany([{ ...old, at: now - 26 * 3600 }, { ...old, at: now - 23 * 3600 }]);
    const fresh = startUsageSampler(panel.ctx, { schedule: false });
    try {
      await fresh.sampleOnce();
    } finally {
      await fresh.stop();
    }
    const kept = panel.ctx.repos.usage.series(env.id, 0, now + 60).map((s) => s.at);
    expect(kept).not.toContain(now - 26 * 3600);
    expect(kept).toContain(now - 23 * 3600);
    // Twenty-three hours ago is outside a one-hour window and inside the default day.
    expect((await history('?hours=1')).body.points.length).toBeLessThan((await history()).body.points.length);
  });

  it('never lets a hung node delay the others, and skips a node whose pass is still going', async () => {
    await createEnvironment(panel, { name: 'on-two', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[1] });
    await pauseNode(2);
    const t0 = Date.now();
    let firstDone = false;
    const first = sampler.sampleOnce().finally(() => (firstDone = true));
    // While node 2's read waits out its deadline, whole passes over node 1 keep completing:
    // node 2 is skipped (its pass is still going) and delays nobody.
    let fromNodeOne = 0;
    while (fromNodeOne === 0 && Date.now() - t0 < 4000) {
      await sleep(50);
      fromNodeOne = await sampler.sampleOnce();
    }
    expect(fromNodeOne).toBe(1);
    expect(firstDone).toBe(false);
    expect(Date.now() - t0).toBeLessThan(4000);
    // The first pass ends only when node 2's read gives up, with node 1's sample alone.
    expect(await first).toBe(1);
    expect(Date.now() - t0).toBeGreaterThan(4000);
  });
});
