import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { docker, labNode, nodeBody } from '../helpers/lab.js';
import { spawnPanel, type PanelProcess } from '../helpers/process.js';

const PORT = 3917;
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** Containers on the node that belong to a customer, by the labels the panel puts on them. */
async function containersOf(customerId: string): Promise<{ id: string; env: string }[]> {
  const out = await docker(labNode(2), 'ps', '-a', '--filter', `label=io.kura.customer=${customerId}`,
    '--format', '{{.ID}} {{.Label "io.kura.environment"}}');
  return out.split('\n').filter(Boolean).map((l) => {
    const [id, env] = l.split(' ');
    return { id: id!, env: env! };
  });
}

describe('a panel killed in the middle of provisioning', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-durable-'));
  let panel: PanelProcess | null = null;
  afterAll(async () => {
    await panel?.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('finishes or fails every operation after restart, with no duplicate and no orphan container', async () => {
    panel = await spawnPanel(dataDir, PORT);
    const node = await panel.api('POST', '/nodes', nodeBody(labNode(2)));
    expect(node.status).toBe(201);
    const plan = await panel.api('POST', '/plans', { name: 'tiny', cpus: 0.1, memoryMb: 32, diskMb: 64, pids: 32 });
    const customer = await panel.api('POST', '/customers', { name: 'Durable', email: 'durable@example.com' });
    const customerId = customer.body.id as string;

    // Rounds of: start creates and deletes, SIGKILL the panel after a different delay each time, restart.
    const created: string[] = [];
    const delays = [0, 40, 120, 250, 400];
    for (const [round, delay] of delays.entries()) {
      const requests = Array.from({ length: 4 }, (_, i) => panel!.api('POST', '/environments',
        { name: `r${round}-e${i}`, templateId: 'static-site', planId: plan.body.id, customerId }));
      const deleting = created.length > 0 ? [panel.api('DELETE', `/environments/${created.shift()!}`)] : [];
      const answered = await Promise.all(requests);
      await Promise.all(deleting);
      for (const r of answered) {
        expect(r.status).toBe(202);
        created.push(r.body.environment.id);
      }
      await new Promise((r) => setTimeout(r, delay));
      await panel.kill('SIGKILL');
      panel = await spawnPanel(dataDir, PORT);
    }

    // After the last restart every operation must end.
    const deadline = Date.now() + 90_000;
    let ops: { status: string; kind: string }[] = [];
    for (;;) {
      ops = (await panel.api('GET', '/operations?limit=500')).body.items;
      if (ops.every((o) => TERMINAL.includes(o.status)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(ops.filter((o) => !TERMINAL.includes(o.status))).toEqual([]);
    expect(ops.filter((o) => o.status === 'failed')).toEqual([]);

    const envs = (await panel.api('GET', `/environments?customerId=${customerId}&limit=500`)).body.items as { id: string; state: string }[];
    expect(envs.map((e) => e.state).every((s) => s === 'running')).toBe(true);
    // Wait for the start-up reconcile to clear any container whose environment was deleted mid-flight.
    let containers = await containersOf(customerId);
    for (let i = 0; i < 40 && containers.length !== envs.length; i++) {
      await new Promise((r) => setTimeout(r, 250));
      containers = await containersOf(customerId);
    }
    const byEnv = new Map<string, number>();
    for (const c of containers) byEnv.set(c.env, (byEnv.get(c.env) ?? 0) + 1);
    for (const env of envs) expect(byEnv.get(env.id), `containers of ${env.id}`).toBe(1);
    expect(containers.filter((c) => !envs.some((e) => e.id === c.env)), 'orphans').toEqual([]);
    expect(envs.length).toBe(delays.length * 4 - (delays.length - 1));

    for (const env of envs) await panel.api('DELETE', `/environments/${env.id}`);
    const end = Date.now() + 60_000;
    while ((await containersOf(customerId)).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 250));
    expect(await containersOf(customerId)).toEqual([]);
  });
});
