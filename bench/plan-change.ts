/**
 * Downtime of a plan change that changes the disk, against a move of the same data, side by
 * side in one run. Each environment holds 200 MB; a probe asks for a page every 50 ms.
 * - move: the environment goes to the other lab node and back (copy while running, final sync);
 * - disk change: the environment alternates between a 1024 and a 1536 MiB disk on its node,
 *   rebuilt into a new container with its data by the same copy.
 * The unavailability window is the longest stretch in which no probe got an answer.
 * Target: a disk change's downtime is no more than a move's (ratio <= 1).
 *
 * On one node the new container usually gets the old one's address; the rebuild has it
 * announce itself to the node at once (see relocate.ts, announce), without which a probe
 * saw about 0.85 s more downtime than a move.
 * Run: npm run bench:plan-change   (KURA_BENCH_ROUNDS, default 3)
 */
import { startBenchPanel } from './panel.js';
import { percentile } from './figures.js';
import { answered, probe } from './probe.js';
import { containerName } from '../server/docker/container-spec.js';
import { labUp, nodeBody } from '../server/lab/lab.js';

const ROUNDS = Number(process.env.KURA_BENCH_ROUNDS ?? 3);
const DATA_MB = 200;
const TOKEN = 'bench-plan-change-admin-token-0123';

const median = (xs: number[]) => percentile(xs, 0.5);

async function main(): Promise<void> {
  const lab = await labUp({ nodes: 2 });
  const { ctx, api, succeeded: wait, close } = await startBenchPanel(TOKEN);
  const url = (env: any) => `http://${env.endpoints[0].host}:${env.endpoints[0].port}/probe.html`;

  try {
    const nodes: string[] = [];
    for (const n of lab.nodes) nodes.push((await api('POST', '/nodes', nodeBody(n))).id);
    const plans: string[] = [];
    for (const diskMb of [1024, 1536]) {
      plans.push((await api('POST', '/plans', { name: `bench-${diskMb}`, cpus: 0.5, memoryMb: 128, diskMb, pids: 64 })).id);
    }
    const customer = await api('POST', '/customers', { name: 'Bench', email: 'bench-plan-change@example.com' });
    const create = async (name: string) => {
      const r = await api('POST', '/environments', { name, templateId: 'static-site', planId: plans[0], customerId: customer.id, nodeId: nodes[0] });
      await wait(r.operation.id);
      const env = await api('GET', `/environments/${r.environment.id}`);
      await ctx.nodes.get(env.nodeId).exec(containerName(env.id), ['sh', '-c',
        `head -c ${DATA_MB * 1048576} /dev/urandom > /srv/www/data.bin && echo ok > /srv/www/probe.html`], 120_000);
      return env;
    };
    let moving: any = await create('moving');
    const resizing: any = await create('resizing');

    const moves: number[] = [];
    const changes: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const before = moving;
      let after: any = null;
      const p1 = probe(() => [url(before), ...(after ? [url(after)] : [])]);
      await new Promise((r) => setTimeout(r, 300));
      const target = nodes.find((n) => n !== moving.nodeId)!;
      const moved = await wait((await api('POST', `/environments/${moving.id}/migrate`, { nodeId: target })).operation.id);
      after = await api('GET', `/environments/${moving.id}`);
      await answered(url(after));
      moves.push(await p1.stop());
      moving = after;
      console.log(`  round ${round + 1} move:        ${moves.at(-1)} ms unavailable (${moved.message})`);

      const p2 = probe(() => [url(resizing)]);
      await new Promise((r) => setTimeout(r, 300));
      const planId = plans[(round + 1) % 2];
      const changed = await wait((await api('PATCH', `/environments/${resizing.id}`, { planId })).operation.id);
      await answered(url(resizing));
      changes.push(await p2.stop());
      console.log(`  round ${round + 1} disk change: ${changes.at(-1)} ms unavailable (${changed.message})`);
    }
    const m = median(moves);
    const c = median(changes);
    console.log(`\nenvironment data: ${DATA_MB} MB; probe every 50 ms; ${ROUNDS} rounds each, alternating`);
    console.log(`move between nodes:     median ${m} ms unavailable (max ${Math.max(...moves)} ms)`);
    console.log(`disk change on a node:  median ${c} ms unavailable (max ${Math.max(...changes)} ms)`);
    console.log(`ratio disk change / move: ${(c / m).toFixed(3)}  (target <= 1 -> ${c <= m ? 'met' : 'NOT met'})`);
    for (const env of [moving, resizing]) {
      const r = await api('DELETE', `/environments/${env.id}`);
      await api('GET', `/operations/${r.operation.id}/wait?timeout=60`);
    }
  } finally {
    await close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
