import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { docker, inspect, labNode, nodeBody } from '../helpers/lab.js';
import { spawnPanel, type PanelProcess } from '../helpers/process.js';

const PORT = 3920;
const MIB = 1048576;
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

async function containersOn(nodeIndex: number, envId: string): Promise<string[]> {
  const out = await docker(labNode(nodeIndex), 'ps', '-a', '--filter', `label=io.kura.environment=${envId}`, '--format', '{{.Names}} {{.State}}');
  return out.split('\n').filter(Boolean);
}

async function checksum(envId: string): Promise<string> {
  return (await docker(labNode(1), 'exec', containerName(envId), 'sh', '-c', 'md5sum /srv/www/data.bin /srv/www/note.txt')).replace(/\s+/g, ' ');
}

describe('a panel killed in the middle of a disk change', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-durable-disk-'));
  let panel: PanelProcess | null = null;
  afterAll(async () => {
    await panel?.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('ends on one plan, in one container with that disk and the data, whenever it is killed', async () => {
    panel = await spawnPanel(dataDir, PORT);
    const nodeId = (await panel.api('POST', '/nodes', nodeBody(labNode(1)))).body.id as string;
    const plans: string[] = [];
    for (const diskMb of [512, 768]) {
      plans.push((await panel.api('POST', '/plans', { name: `disk-${diskMb}`, cpus: 0.25, memoryMb: 64, diskMb, pids: 64 })).body.id);
    }
    const customer = await panel.api('POST', '/customers', { name: 'Durable resizer', email: 'durable-resizer@example.com' });
    const created = await panel.api('POST', '/environments',
      { name: 'resizer', templateId: 'static-site', planId: plans[0], customerId: customer.body.id, nodeId });
    const envId = created.body.environment.id as string;
    expect((await panel.api('GET', `/operations/${created.body.operation.id}/wait?timeout=60`)).body.status).toBe('succeeded');
    await docker(labNode(1), 'exec', containerName(envId), 'sh', '-c',
      'head -c 60000000 /dev/urandom > /srv/www/data.bin && echo "still here" > /srv/www/note.txt');
    const expected = await checksum(envId);

    let on = 0;
    // From the new container's creation through the copy, the final sync, the start and the switch
    // (here a change of 60 MB takes about 1.1 s), to after the end.
    for (const delay of [0, 100, 300, 500, 700, 800, 900, 1000, 1100, 1200, 1600]) {
      const to = on === 0 ? 1 : 0;
      const started = await panel.api('PATCH', `/environments/${envId}`, { planId: plans[to] });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      await new Promise((r) => setTimeout(r, delay));
      await panel.kill('SIGKILL');
      panel = await spawnPanel(dataDir, PORT);
      const op = (await panel.api('GET', `/operations/${started.body.operation.id}/wait?timeout=60`)).body;
      expect(TERMINAL, `after ${delay} ms: ${op.status}`).toContain(op.status);
      const env = (await panel.api('GET', `/environments/${envId}`)).body;
      on = env.planId === plans[1] ? 1 : 0;
      // Whatever the moment: one plan, one container under the environment's name, with that plan's disk and the data.
      expect(env.state, `after ${delay} ms`).toBe('running');
      expect(env.planId).toBe(op.status === 'succeeded' ? plans[to] : plans[to === 1 ? 0 : 1]);
      expect(await containersOn(1, envId), `after ${delay} ms`).toEqual([`${containerName(envId)} running`]);
      const c = await inspect(labNode(1), containerName(envId));
      expect(Number(c.HostConfig.StorageOpt.size) / MIB).toBe(env.limits.diskMb);
      expect(await checksum(envId)).toBe(expected);
      // Nothing stays held: the node counts the one disk.
      expect((await panel.api('GET', `/nodes/${nodeId}`)).body.allocated.diskMb, `after ${delay} ms`).toBe(env.limits.diskMb);
    }
  });
});
