import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { docker, dockerResult, httpGet, inspect, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';

describe('environment lifecycle on a real node, checked with the docker CLI', () => {
  let panel: TestPanel;
  let seed: Seed;
  let nodeId: string;
  const node = () => labNode(1);

  beforeAll(async () => {
    panel = await startTestPanel();
    nodeId = await registerNode(panel, node());
    seed = await seedCustomer(panel);
  });
  afterAll(async () => panel.close());

  it('registers the node with what it read from the engine', async () => {
    const res = await panel.api('GET', `/nodes/${nodeId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'online', state: 'active', diskQuota: true, storageDriver: 'btrfs', maxEnvironments: 30 });
    expect(res.body.capacity.cpus).toBeGreaterThan(0);
    expect(res.body.dockerVersion).toMatch(/^20\./);
    const row = panel.ctx.repos.db.prepare('SELECT tls_key_enc FROM nodes WHERE id = ?').get(nodeId) as { tls_key_enc: string };
    expect(row.tls_key_enc).toMatch(/^v1\./);
    expect(row.tls_key_enc).not.toContain('PRIVATE KEY');
  });

  it('creates, serves, stops, starts, restarts, resizes and destroys an environment', async () => {
    const env = await createEnvironment(panel, { name: 'site', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId });
    expect(env.state).toBe('running');
    expect(env.nodeId).toBe(nodeId);
    const name = containerName(env.id);

    const c = await inspect(node(), name);
    expect(c.Config.Labels['io.kura.environment']).toBe(env.id);
    expect(c.Config.Labels['io.kura.customer']).toBe(seed.customerId);
    expect(c.HostConfig).toMatchObject({
      NanoCpus: 0.5e9, Memory: 128 * 1048576, MemorySwap: 128 * 1048576, PidsLimit: 64,
      StorageOpt: { size: String(256 * 1048576) }, CapDrop: ['ALL'], Privileged: false,
      SecurityOpt: ['no-new-privileges:true'], NetworkMode: `kura-net-${seed.customerId}`,
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      RestartPolicy: { Name: 'unless-stopped' },
    });
    expect(c.HostConfig.Binds ?? []).toEqual([]);
    expect(c.HostConfig.PidMode).toBe('');
    expect(c.HostConfig.UsernsMode).toBe('');
    expect(c.Mounts).toEqual([]);

    const endpoint = env.endpoints[0];
    const page = await httpGet(`http://${endpoint.host}:${endpoint.port}/`);
    expect(page?.status).toBe(200);
    expect(page?.body).toContain('It works');

    const stop = await panel.api('POST', `/environments/${env.id}/actions`, { action: 'stop' }, { token: seed.customerToken });
    expect(stop.status).toBe(202);
    expect(stop.headers.location).toBe(`/api/v1/operations/${stop.body.operation.id}`);
    expect((await waitOperation(panel, stop.body.operation.id)).status).toBe('succeeded');
    expect((await inspect(node(), name)).State.Running).toBe(false);
    expect((await panel.api('GET', `/environments/${env.id}`)).body.state).toBe('stopped');
    // Lists are served from a render cache: it must show the change too, for admin and customer alike.
    const listed = (await panel.api('GET', `/environments?customerId=${seed.customerId}`)).body.items.find((e: { id: string }) => e.id === env.id);
    expect(listed.state).toBe('stopped');
    const own = (await panel.api('GET', '/environments', undefined, { token: seed.customerToken })).body.items.find((e: { id: string }) => e.id === env.id);
    expect(own.state).toBe('stopped');

    const start = await panel.api('POST', `/environments/${env.id}/actions`, { action: 'start' });
    expect((await waitOperation(panel, start.body.operation.id)).status).toBe('succeeded');
    expect((await panel.api('GET', '/environments', undefined, { token: seed.customerToken })).body.items
      .find((e: { id: string }) => e.id === env.id).state).toBe('running');
    expect((await inspect(node(), name)).State.Running).toBe(true);

    const before = (await inspect(node(), name)).State.StartedAt;
    const restart = await panel.api('POST', `/environments/${env.id}/actions`, { action: 'restart' });
    expect((await waitOperation(panel, restart.body.operation.id)).status).toBe('succeeded');
    expect((await inspect(node(), name)).State.StartedAt).not.toBe(before);

    const bigger = await panel.api('POST', '/plans', { name: 'bigger', cpus: 1, memoryMb: 256, diskMb: 256, pids: 128, swapMb: 64 });
    const resize = await panel.api('PATCH', `/environments/${env.id}`, { planId: bigger.body.id });
    expect(resize.status).toBe(202);
    expect((await waitOperation(panel, resize.body.operation.id)).status).toBe('succeeded');
    const resized = await inspect(node(), name);
    expect(resized.HostConfig).toMatchObject({ NanoCpus: 1e9, Memory: 256 * 1048576, MemorySwap: 320 * 1048576, PidsLimit: 128 });
    expect(resized.State.Running).toBe(true);
    expect((await panel.api('GET', `/environments/${env.id}`)).body.limits).toEqual({ cpus: 1, memoryMb: 256, swapMb: 64, diskMb: 256, pids: 128, nofile: 16384 });

    const stats = await panel.api('GET', `/environments/${env.id}/stats`);
    expect(stats.status).toBe(200);
    expect(stats.body.memoryLimitMb).toBe(256);
    expect(stats.body.pids).toBeGreaterThan(0);

    const logs = await panel.api('GET', `/environments/${env.id}/logs?tail=50`);
    expect(logs.status).toBe(200);
    expect(logs.headers['content-type']).toMatch(/^text\/plain/);

    const del = await panel.api('DELETE', `/environments/${env.id}`);
    expect(del.status).toBe(202);
    expect((await waitOperation(panel, del.body.operation.id)).status).toBe('succeeded');
    expect((await dockerResult(node(), 'inspect', name)).code).not.toBe(0);
    expect((await panel.api('GET', `/environments/${env.id}`)).status).toBe(404);
    expect((await panel.api('GET', `/nodes/${nodeId}`)).body.allocated.environments).toBe(0);
  });

  it('says plainly when a plan is too small to hold the OS template on btrfs', async () => {
    const tiny = await panel.api('POST', '/plans', { name: 'tiny-disk', cpus: 0.5, memoryMb: 64, diskMb: 64, pids: 64 });
    const body = { name: 'deb-tiny', templateId: 'debian-nginx', planId: tiny.body.id, customerId: seed.customerId };
    // The first request may not know the image's size yet: then its operation fails with the reason.
    const first = await panel.api('POST', '/environments', body);
    if (first.status === 202) {
      const op = await waitOperation(panel, first.body.operation.id, 300);
      expect(op.status).toBe('failed');
      expect(op.error).toMatchObject({ code: 'conflict' });
      expect(op.error.message).toMatch(/cannot hold template debian-nginx/);
      await waitOperation(panel, (await panel.api('DELETE', `/environments/${first.body.environment.id}`)).body.operation.id);
    }
    // Once the image is built, the refusal comes before anything is reserved.
    const again = await panel.api('POST', '/environments', { ...body, name: 'deb-tiny-2' });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/64 MiB of disk cannot hold template debian-nginx/);
  });

  it('replays a POST with the same Idempotency-Key and refuses a different body with it', async () => {
    const body = { name: 'idem', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId };
    const headers = { 'idempotency-key': 'create-idem-1' };
    const first = await panel.api('POST', '/environments', body, { headers });
    const again = await panel.api('POST', '/environments', body, { headers });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    const other = await panel.api('POST', '/environments', { ...body, name: 'idem-2' }, { headers });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_mismatch');
    await waitOperation(panel, first.body.operation.id);
    const list = await panel.api('GET', `/environments?customerId=${seed.customerId}`);
    expect(list.body.items.filter((e: { name: string }) => e.name.startsWith('idem'))).toHaveLength(1);
    const containers = await docker(node(), 'ps', '-aq', '--filter', `label=io.kura.environment=${first.body.environment.id}`);
    expect(containers.trim().split('\n')).toHaveLength(1);
  });
});
