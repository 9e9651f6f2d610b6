import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { pauseNode, resumeNode } from '../../server/lab/lab.js';
import { reconcileNode } from '../../server/loops/reconcile.js';
import { docker, inspect, labNode, labNodes } from '../helpers/lab.js';
import { startFleetPanel, createEnvironment, seedCustomer, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return { value, ms: Date.now() - t0 };
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('fleet: live state, sick nodes and drift', () => {
  let panel: TestPanel;
  let seed: Seed;
  let nodeIds: string[];
  beforeAll(async () => {
    ({ panel, nodeIds, seed } = await startFleetPanel());
  });
  afterAll(async () => {
    await resumeNode(2);
    await panel.close();
  });

  const history = async (id: string) => (await panel.api('GET', `/environments/${id}/events`)).body.items as { kind: string; exitCode: number | null; message: string }[];

  it('follows a container stopped or killed outside the panel within 2 s', async () => {
    const env = await createEnvironment(panel, { name: 'live', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] });
    await docker(labNode(1), 'stop', '-t', '0', containerName(env.id));
    const stopped = await until('state stopped', 5000, async () =>
      (await panel.api('GET', `/environments/${env.id}`)).body.state === 'stopped' ? true : undefined);
    expect(stopped.ms).toBeLessThan(2000);
    expect((await panel.api('GET', `/environments/${env.id}`)).body.drift.differences).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'state', expected: 'running' })]));

    await docker(labNode(1), 'start', containerName(env.id));
    await until('state running', 5000, async () => ((await panel.api('GET', `/environments/${env.id}`)).body.state === 'running' ? true : undefined));
    await docker(labNode(1), 'kill', containerName(env.id));
    const died = await until('died in history', 5000, async () => (await history(env.id)).find((e) => e.kind === 'died' && e.exitCode === 137));
    expect(died.ms).toBeLessThan(2000);
    const kinds = (await history(env.id)).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['started', 'stopped', 'died']));
  });

  it('detects limits changed with docker update, shows the difference and restores the plan', async () => {
    const env = await createEnvironment(panel, { name: 'drift', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] });
    await docker(labNode(1), 'update', '--memory', '300m', '--memory-swap', '300m', containerName(env.id));
    const drift = await until('drift in history', 5000, async () => (await history(env.id)).find((e) => e.kind === 'drift'));
    expect(drift.value.message).toMatch(/memoryMb: 128 expected, 300 found/);
    await until('restored', 5000, async () => (await history(env.id)).find((e) => e.kind === 'restored'));
    expect((await inspect(labNode(1), containerName(env.id))).HostConfig.Memory).toBe(128 * 1048576);
  });

  it('never waits on a hung node: reads stay fast, it goes offline, placement avoids it, actions fail cleanly, and it recovers', async () => {
    const onTwo = await createEnvironment(panel, { name: 'on-two', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[1] });
    const readTimes = async () => {
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        expect((await panel.api('GET', '/environments?limit=500')).status).toBe(200);
        expect((await panel.api('GET', '/nodes')).status).toBe(200);
        times.push(performance.now() - t0);
      }
      return times.sort((a, b) => a - b)[times.length - 1]!;
    };
    const before = await readTimes();
    await pauseNode(2);
    const during = await readTimes();
    expect(during).toBeLessThan(Math.max(100, before * 3));

    const offline = await until('node offline', 15_000, async () =>
      (await panel.api('GET', `/nodes/${nodeIds[1]}`)).body.status === 'offline' ? true : undefined);
    expect(offline.ms).toBeLessThan(15_000);
    expect((await panel.api('GET', `/environments/${onTwo.id}`)).body.state).toBe('unknown');

    for (let i = 0; i < 3; i++) {
      const env = await createEnvironment(panel, { name: `healthy-${i}`, templateId: 'static-site', planId: seed.planId, customerId: seed.customerId });
      expect(env.nodeId).not.toBe(nodeIds[1]);
    }
    const t0 = Date.now();
    const action = await panel.api('POST', `/environments/${onTwo.id}/actions`, { action: 'restart' });
    expect(Date.now() - t0).toBeLessThan(500);
    expect(action.status).toBe(503);
    expect(action.body.error.code).toBe('node_unavailable');
    const stats = await panel.api('GET', `/environments/${onTwo.id}/stats`);
    expect(stats.status).toBe(503);
    expect(stats.body.error.code).toBe('node_unavailable');

    await resumeNode(2);
    const online = await until('node online', 20_000, async () =>
      (await panel.api('GET', `/nodes/${nodeIds[1]}`)).body.status === 'online' ? true : undefined);
    expect(online.ms).toBeLessThan(20_000);
    await until('state running again', 10_000, async () =>
      (await panel.api('GET', `/environments/${onTwo.id}`)).body.state === 'running' ? true : undefined);
    const restart = await panel.api('POST', `/environments/${onTwo.id}/actions`, { action: 'restart' });
    expect((await waitOperation(panel, restart.body.operation.id)).status).toBe('succeeded');
  });

  it('reconciles: removes its own orphans and never touches containers without its label', async () => {
    const image = await panel.ctx.images.resolve(panel.ctx.templates.get('static-site')!);
    const ref = image.kind === 'archive' ? image.imageId : image.reference;
    await docker(labNode(1), 'rm', '-f', 'not-kura', 'kura-orphan').catch(() => '');
    await docker(labNode(1), 'create', '--name', 'not-kura', '--label', 'io.kura.environment=env_00000000000000000000', ref);
    await docker(labNode(1), 'create', '--name', 'kura-orphan', '--label', `io.kura.panel=${panel.ctx.panelId}`,
      '--label', 'io.kura.environment=env_00000000000000000000', ref);
    const report = await reconcileNode(panel.ctx, nodeIds[0]!);
    expect(report.error).toBeUndefined();
    expect(report.removed).toHaveLength(1);
    expect((await docker(labNode(1), 'ps', '-a', '--format', '{{.Names}}')).split('\n')).toEqual(expect.arrayContaining(['not-kura']));
    expect((await docker(labNode(1), 'ps', '-a', '--format', '{{.Names}}')).split('\n')).not.toContain('kura-orphan');
    await docker(labNode(1), 'rm', '-f', 'not-kura');
  });

  it('previews placement with a score per node and the reason each excluded node is excluded', async () => {
    await panel.api('PATCH', `/nodes/${nodeIds[2]}`, { state: 'maintenance' });
    await panel.api('PATCH', `/nodes/${nodeIds[0]}`, { cpuOvercommit: 8, memoryOvercommit: 1.5 });
    const res = await panel.api('POST', '/placement/preview', { planId: seed.planId });
    expect(res.status).toBe(200);
    const rows = res.body.nodes as { nodeId: string; eligible: boolean; score: number | null; reason: string | null }[];
    expect(rows).toHaveLength(3);
    expect(rows.find((r) => r.nodeId === nodeIds[2])).toMatchObject({ eligible: false, score: null, reason: 'node is maintenance' });
    const eligible = rows.filter((r) => r.eligible);
    expect(eligible.every((r) => typeof r.score === 'number' && r.score > 0 && r.score <= 1)).toBe(true);
    expect(res.body.chosen).toBe(eligible[0]!.nodeId);
    const customer = await panel.api('POST', '/placement/preview', { planId: seed.planId }, { token: seed.customerToken });
    expect(customer.status).toBe(403);
    const node = (await panel.api('GET', `/nodes/${nodeIds[0]}`)).body;
    expect(node).toMatchObject({ cpuOvercommit: 8, memoryOvercommit: 1.5 });
    await panel.api('PATCH', `/nodes/${nodeIds[2]}`, { state: 'active' });
  });

  it('preloads a template onto every active node as one operation, reporting each node', async () => {
    const built = await panel.ctx.images.resolve(panel.ctx.templates.get('static-site')!);
    const imageId = built.kind === 'archive' ? built.imageId : '';
    expect(imageId).toMatch(/^sha256:/);
    // Where no container uses it, the image is removed first, so the preload really loads it there.
    for (const n of labNodes()) await docker(n, 'rmi', imageId).catch(() => '');
    panel.ctx.known.clear();
    const res = await panel.api('POST', '/templates/static-site/preload');
    expect(res.status).toBe(202);
    const op = await waitOperation(panel, res.body.operation.id);
    expect(op.status).toBe('succeeded');
    for (const n of labNodes()) expect(op.message).toContain(`${n.name}: loaded`);
    for (const n of labNodes()) expect(JSON.parse(await docker(n, 'image', 'inspect', imageId))[0].Id).toBe(imageId);
  });

  it('exposes Prometheus metrics to the admin only', async () => {
    const res = await panel.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${'test-admin-token-0123456789'}` } });
    expect(res.statusCode).toBe(200);
    for (const name of ['kura_environments{', 'kura_node_capacity{', 'kura_node_allocated{', 'kura_operation_duration_seconds_bucket{',
      'kura_docker_call_seconds_bucket{', 'kura_node_up{', 'kura_process_resident_memory_bytes']) {
      expect(res.body).toContain(name);
    }
    expect(res.body).toMatch(/kura_environments\{state="running",node="lab1"\} \d+/);
    expect((await panel.app.inject({ url: '/metrics' })).statusCode).toBe(401);
    expect((await panel.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${seed.customerToken}` } })).statusCode).toBe(403);
  });

  it('lets exactly one of 20 parallel creates through one below the customer limit', async () => {
    const limited = await seedCustomer(panel, { limits: { environments: 3 } });
    for (let i = 0; i < 2; i++) await createEnvironment(panel, { name: `have-${i}`, templateId: 'static-site', planId: limited.planId, customerId: limited.customerId });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => panel.api('POST', '/environments',
      { name: `par-${i}`, templateId: 'static-site', planId: limited.planId }, { token: limited.customerToken })));
    expect(results.filter((r) => r.status === 202)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409 && r.body.error.code === 'quota_exceeded')).toHaveLength(19);
    await waitOperation(panel, results.find((r) => r.status === 202)!.body.operation.id);
  });
});
