import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { docker, labNode, nodeBody } from '../helpers/lab.js';
import { spawnPanel, type PanelProcess } from '../helpers/process.js';

const PORT = 3918;
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

async function containersOn(nodeIndex: number, envId: string): Promise<string[]> {
  const out = await docker(labNode(nodeIndex), 'ps', '-a', '--filter', `label=io.kura.environment=${envId}`, '--format', '{{.ID}} {{.State}}');
  return out.split('\n').filter(Boolean);
}

async function checksum(nodeIndex: number, envId: string): Promise<string> {
  return docker(labNode(nodeIndex), 'exec', containerName(envId), 'sh', '-c', 'md5sum /srv/www/data.bin /srv/www/note.txt');
}

describe('a panel killed in the middle of a migration', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-durable-migrate-'));
  let panel: PanelProcess | null = null;
  afterAll(async () => {
    await panel?.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('ends with the environment running on exactly one node with its data, whenever it is killed', async () => {
    panel = await spawnPanel(dataDir, PORT);
    const nodes: Record<number, string> = {};
    for (const i of [1, 2]) nodes[i] = (await panel.api('POST', '/nodes', nodeBody(labNode(i)))).body.id;
    const plan = await panel.api('POST', '/plans', { name: 'movable', cpus: 0.25, memoryMb: 64, diskMb: 512, pids: 64 });
    const customer = await panel.api('POST', '/customers', { name: 'Durable mover', email: 'durable-mover@example.com' });
    const created = await panel.api('POST', '/environments',
      { name: 'mover', templateId: 'static-site', planId: plan.body.id, customerId: customer.body.id, nodeId: nodes[1] });
    const envId = created.body.environment.id as string;
    expect((await panel.api('GET', `/operations/${created.body.operation.id}/wait?timeout=60`)).body.status).toBe('succeeded');
    await docker(labNode(1), 'exec', containerName(envId), 'sh', '-c',
      'head -c 60000000 /dev/urandom > /srv/www/data.bin && echo "still here" > /srv/www/note.txt');
    const expected = (await checksum(1, envId)).replace(/\s+/g, ' ');

    let at = 1;
    for (const delay of [0, 100, 300, 500, 700, 900, 1100, 1500]) {
      const to = at === 1 ? 2 : 1;
      const started = await panel.api('POST', `/environments/${envId}/migrate`, { nodeId: nodes[to] });
      expect(started.status).toBe(202);
      await new Promise((r) => setTimeout(r, delay));
      await panel.kill('SIGKILL');
      panel = await spawnPanel(dataDir, PORT);
      const op = (await panel.api('GET', `/operations/${started.body.operation.id}/wait?timeout=60`)).body;
      expect(TERMINAL, `after ${delay} ms: ${op.status}`).toContain(op.status);
      const env = (await panel.api('GET', `/environments/${envId}`)).body;
      at = env.nodeId === nodes[1] ? 1 : 2;
      const other = at === 1 ? 2 : 1;
      // Whatever the moment, one container and the data, on the node the record names.
      expect(env.state, `after ${delay} ms`).toBe('running');
      expect(env.nodeId).toBe(op.status === 'succeeded' ? nodes[to] : env.nodeId);
      expect(await containersOn(at, envId)).toEqual([expect.stringMatching(/ running$/)]);
      expect(await containersOn(other, envId), `orphan on lab${other} after ${delay} ms`).toEqual([]);
      expect((await checksum(at, envId)).replace(/\s+/g, ' ')).toBe(expected);
    }
  });
});
