/**
 * Downtime of moving an environment with 200 MB of data between two lab nodes, with an
 * HTTP probe every 50 ms, for two methods side by side in one run:
 * - Kura's migrate: copy while running, then a short final sync and switch;
 * - the naive way: stop, copy everything, start (through the same Docker archive calls,
 *   into a target container made beforehand, so the naive figure is if anything low).
 * The unavailability window is the longest stretch in which no probe got an answer from
 * either address. Targets: Kura <= 2 s, and <= 0.2x the naive method.
 * Run: npm run bench:migrate   (KURA_BENCH_ROUNDS, default 3)
 */
import { startBenchPanel } from './panel.js';
import { containerName } from '../server/docker/container-spec.js';
import { labUp, nodeBody } from '../server/lab/lab.js';
import { percentile } from './figures.js';
import { answered, probe } from './probe.js';

const ROUNDS = Number(process.env.KURA_BENCH_ROUNDS ?? 3);
const DATA_MB = 200;
const TOKEN = 'bench-migrate-admin-token-0123456789';

const median = (xs: number[]) => percentile(xs, 0.5);

async function main(): Promise<void> {
  const lab = await labUp({ nodes: 2 });
  const { ctx, api, succeeded: wait, close } = await startBenchPanel(TOKEN);
  const url = (env: any) => `http://${env.endpoints[0].host}:${env.endpoints[0].port}/probe.html`;

  try {
    const nodes: string[] = [];
    for (const n of lab.nodes) {
      nodes.push((await api('POST', '/nodes', nodeBody(n))).id);
    }
    const plan = await api('POST', '/plans', { name: 'bench', cpus: 0.5, memoryMb: 128, diskMb: 1024, pids: 64 });
    const customer = await api('POST', '/customers', { name: 'Bench', email: 'bench-migrate@example.com' });
    const create = async (name: string, nodeId: string) => {
      const r = await api('POST', '/environments', { name, templateId: 'static-site', planId: plan.id, customerId: customer.id, nodeId });
      await wait(r.operation.id);
      return api('GET', `/environments/${r.environment.id}`);
    };
    const fill = async (env: any) => {
      await ctx.nodes.get(env.nodeId).exec(containerName(env.id), ['sh', '-c',
        `head -c ${DATA_MB * 1048576} /dev/urandom > /srv/www/data.bin && echo ok > /srv/www/probe.html`], 120_000);
    };

    // Kura: one environment moved back and forth.
    let kuraEnv: any = await create('kura', nodes[0]!);
    await fill(kuraEnv);
    // Naive: data on one environment, copied into a second one (on the other node) that takes over.
    let naiveFrom: any = await create('naive-a', nodes[0]!);
    let naiveTo: any = await create('naive-b', nodes[1]!);
    await fill(naiveFrom);
    await ctx.nodes.get(naiveTo.nodeId).stop(containerName(naiveTo.id));

    const kura: number[] = [];
    const naive: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Kura's migrate.
      const before = kuraEnv;
      let after: any = null;
      const p1 = probe(() => [url(before), ...(after ? [url(after)] : [])]);
      await new Promise((r) => setTimeout(r, 300));
      const target = nodes.find((n) => n !== kuraEnv.nodeId)!;
      const started = await api('POST', `/environments/${kuraEnv.id}/migrate`, { nodeId: target });
      const op = await wait(started.operation.id);
      after = await api('GET', `/environments/${kuraEnv.id}`);
      await answered(url(after));
      kura.push(await p1.stop());
      kuraEnv = after;
      console.log(`  round ${round + 1} kura:  ${kura.at(-1)} ms unavailable (${op.message})`);

      // The naive way: stop, copy everything, start.
      const src = ctx.nodes.get(naiveFrom.nodeId).files(containerName(naiveFrom.id));
      const dst = ctx.nodes.get(naiveTo.nodeId).files(containerName(naiveTo.id));
      const p2 = probe(() => [url(naiveFrom), url(naiveTo)]);
      await new Promise((r) => setTimeout(r, 300));
      await ctx.nodes.get(naiveFrom.nodeId).stop(containerName(naiveFrom.id));
      await dst.write('/srv', await src.read('/srv/www'));
      await ctx.nodes.get(naiveTo.nodeId).start(containerName(naiveTo.id));
      await answered(url(naiveTo));
      naive.push(await p2.stop());
      console.log(`  round ${round + 1} naive: ${naive.at(-1)} ms unavailable`);
      [naiveFrom, naiveTo] = [naiveTo, naiveFrom];
    }
    const k = median(kura);
    const n = median(naive);
    console.log(`\nenvironment data: ${DATA_MB} MB; probe every 50 ms; ${ROUNDS} rounds each, alternating`);
    console.log(`Kura migrate:          median ${k} ms unavailable (max ${Math.max(...kura)} ms)`);
    console.log(`naive stop-copy-start: median ${n} ms unavailable (max ${Math.max(...naive)} ms)`);
    console.log(`ratio Kura / naive: ${(k / n).toFixed(3)}  (targets: Kura <= 2000 ms -> ${k <= 2000 ? 'met' : 'NOT met'}; ratio <= 0.2 -> ${k / n <= 0.2 ? 'met' : 'NOT met'})`);
    for (const env of [kuraEnv, naiveFrom, naiveTo]) {
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
