/**
 * Creating an environment to running through the panel, against creating and starting
 * the identical container directly with dockerode, on the same lab node, interleaved.
 * Run: npm run bench   (KURA_BENCH_RUNS=20 by default)
 */
import { startBenchPanel } from './panel.js';
import { containerSpec } from '../server/docker/container-spec.js';
import { labUp, nodeBody } from '../server/lab/lab.js';
import { labDocker } from './proc.js';

const RUNS = Number(process.env.KURA_BENCH_RUNS ?? 20);
const TOKEN = 'bench-admin-token-0123456789';

async function main(): Promise<void> {
  const lab = await labUp({ nodes: 1 });
  const labNode = lab.nodes[0]!;
  const { ctx, api, close } = await startBenchPanel(TOKEN);

  try {
    const node = await api('POST', '/nodes', nodeBody(labNode, { maxEnvironments: 100 }));
    const plan = await api('POST', '/plans', { name: 'bench', cpus: 0.25, memoryMb: 64, diskMb: 128, pids: 64 });
    const customer = await api('POST', '/customers', { name: 'Bench', email: 'bench@example.com' });
    const create = async (name: string) => {
      const r = await api('POST', '/environments', { name, templateId: 'static-site', planId: plan.id, customerId: customer.id });
      const op = await api('GET', `/operations/${r.operation.id}/wait?timeout=60`);
      if (op.status !== 'succeeded') throw new Error(`provisioning failed: ${op.error?.message}`);
      return r.environment.id as string;
    };
    const destroy = async (id: string) => {
      const r = await api('DELETE', `/environments/${id}`);
      await api('GET', `/operations/${r.operation.id}/wait?timeout=60`);
    };
    // Warm-up: builds and loads the template (the node's template cache); the environment
    // stays, so the customer's network exists for both methods throughout.
    const warmup = await create('warmup');

    // The baseline: plain dockerode with its own keep-alive connection, the same spec and image.
    const direct = labDocker(labNode);
    for (const stale of await direct.listContainers({ all: true, filters: { label: ['io.kura.panel=bench-direct'] } })) {
      await direct.getContainer(stale.Id).remove({ force: true });
    }
    const template = ctx.templates.get('static-site')!;
    const built = await ctx.images.resolve(template);
    const image = built.kind === 'archive' ? built.imageId : built.reference;
    const directOnce = async (i: number) => {
      const spec = containerSpec({
        environment: { id: `env_bench${String(i).padStart(15, '0')}`, name: `direct-${i}`, customerId: customer.id,
          limits: { cpus: 0.25, memoryMb: 64, swapMb: 0, diskMb: 128, pids: 64, nofile: 4096 },
          ports: [{ name: 'http', protocol: 'tcp', containerPort: 8080, hostPort: 31000 + i }] },
        template, node: { diskQuota: true, publicHost: labNode.address }, image, panelId: 'bench-direct',
      });
      const t0 = performance.now();
      const c = await direct.createContainer(spec);
      await c.start();
      const ms = performance.now() - t0;
      await c.remove({ force: true, v: true });
      return ms;
    };
    const panelOnce = async (i: number) => {
      const t0 = performance.now();
      const id = await create(`panel-${i}`);
      const ms = performance.now() - t0;
      await destroy(id);
      return ms;
    };

    const panelTimes: number[] = [];
    const directTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // Alternate which goes first, so neither always runs on a warmer node.
      if (i % 2 === 0) {
        panelTimes.push(await panelOnce(i));
        directTimes.push(await directOnce(i));
      } else {
        directTimes.push(await directOnce(i));
        panelTimes.push(await panelOnce(i));
      }
    }
    const p = summary(panelTimes);
    const d = summary(directTimes);
    console.log(`create to running, ${RUNS} interleaved runs each, node ${labNode.name} (docker ${node.dockerVersion}, ${node.storageDriver})`);
    console.log(`  panel  (POST /environments + wait): p50 ${p.p50.toFixed(1)} ms  p90 ${p.p90.toFixed(1)} ms  min ${p.min.toFixed(1)} ms`);
    console.log(`  direct (dockerode create + start):  p50 ${d.p50.toFixed(1)} ms  p90 ${d.p90.toFixed(1)} ms  min ${d.min.toFixed(1)} ms`);
    await destroy(warmup);
    console.log(`  ratio of medians panel/direct: ${(p.p50 / d.p50).toFixed(3)}  (target <= 1.10; panel p50 target < 400 ms)`);
  } finally {
    await close();
  }
}

function summary(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: median(s), p90: at(0.9), min: s[0]! };
}
function median(s: number[]): number {
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
