/**
 * Kura's edge, from one run on two lab nodes:
 * 1. requests per second and p50/p99 through the edge, against the same requests straight to
 *    the container's published port (16 clients, 8 s each way, alternating, twice), and the
 *    latency of one client alone (the added p50 without queueing).
 *    Targets: throughput ratio >= 0.8; added p50 < 1 ms.
 * 2. how soon a route change reaches the edges: from the change in the panel (a name starts
 *    being served, as after a move's switch) to the first answer for that name through the
 *    other node's edge. Target: < 1 s.
 * 3. a move of a 200 MB environment while a client sends 20 requests per second through the
 *    other node's edge: failed requests and the slowest one. Targets: 0 failed, slowest < 3 s.
 * 4. applying a route change to an edge that serves 1,200 routes (configuration written into
 *    the edge and reloaded). Target: < 200 ms.
 * Run: npm run bench:edge
 */
import http from 'node:http';
import { startBenchPanel } from './panel.js';
import { percentile } from './figures.js';
import { containerName } from '../server/docker/container-spec.js';
import { EDGE_CONTAINER } from '../server/docker/edge-spec.js';
import { labUp, nodeBody } from '../server/lab/lab.js';
import { startEdges } from '../server/loops/edge.js';
import { edgeChallenges, edgeRoutes } from '../server/read-models/edge-routes.js';
import { syncEdge } from '../server/services/edge.js';
import { publishEnvironment } from '../server/services/environment-state.js';

const TOKEN = 'bench-edge-admin-token-0123456789';
const CLIENTS = 16;
const LOAD_MS = 8000;
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });

function get(address: string, host: string | null, timeoutMs = 10_000): Promise<{ status: number; ms: number }> {
  const [hostname, port] = address.split(':');
  const t = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ hostname, port: Number(port), path: '/', agent, timeout: timeoutMs, ...(host ? { headers: { host } } : {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t }));
  });
}

/** `clients` loops for LOAD_MS: requests per second and latencies. */
async function load(address: string, host: string | null, clients = CLIENTS): Promise<{ rps: number; p50: number; p99: number; failed: number }> {
  const until = performance.now() + LOAD_MS;
  const ms: number[] = [];
  let failed = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < until) {
      const r = await get(address, host);
      if (r.status === 200) ms.push(r.ms); else failed++;
    }
  }));
  return { rps: ms.length / (LOAD_MS / 1000), p50: percentile(ms, 0.5), p99: percentile(ms, 0.99), failed };
}

const f = (n: number, d = 2) => n.toFixed(d);

async function main(): Promise<void> {
  const lab = await labUp({ nodes: 2 });
  const { ctx, api, succeeded, close } = await startBenchPanel(TOKEN, { KURA_EDGE: 'on', KURA_BASE_DOMAIN: 'bench.kura.test' });
  const docker = (i: number) => ctx.nodes.get(nodes[i]!);
  const nodes: string[] = [];
  const edges = startEdges(ctx);
  try {
    for (const n of lab.nodes) {
      const id = (await api('POST', '/nodes', nodeBody(n))).id as string;
      await ctx.nodes.get(id).remove(EDGE_CONTAINER).catch(() => {});
      nodes.push(id);
    }
    const address = (i: number) => `${lab.nodes[i]!.address}:80`;
    const plan = await api('POST', '/plans', { name: 'bench', cpus: 1, memoryMb: 256, diskMb: 1024, pids: 128 });
    const customer = await api('POST', '/customers', { name: 'Bench', email: 'bench-edge@example.com' });
    const create = async (name: string, node: number) => {
      const r = await api('POST', '/environments', { name, templateId: 'static-site', planId: plan.id, customerId: customer.id, nodeId: nodes[node] });
      await succeeded(r.operation.id);
      return api('GET', `/environments/${r.environment.id}`);
    };
    await edges.syncAll();

    // 1. Throughput and latency.
    const site = await create('site', 0);
    const direct = `${site.endpoints[0].host}:${site.endpoints[0].port}`;
    for (let i = 0; i < 50 && (await get(address(0), site.hostname)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    const runs: { direct: Awaited<ReturnType<typeof load>>; edge: Awaited<ReturnType<typeof load>> }[] = [];
    const quiet: typeof runs = [];
    for (let round = 0; round < 2; round++) {
      const d = await load(direct, null);
      const e = await load(address(0), site.hostname);
      runs.push({ direct: d, edge: e });
      console.log(`  round ${round + 1}, ${CLIENTS} clients: direct ${f(d.rps, 0)} req/s p50 ${f(d.p50)} ms p99 ${f(d.p99)} ms | edge ${f(e.rps, 0)} req/s p50 ${f(e.p50)} ms p99 ${f(e.p99)} ms (failed ${d.failed}/${e.failed})`);
      const d1 = await load(direct, null, 1);
      const e1 = await load(address(0), site.hostname, 1);
      quiet.push({ direct: d1, edge: e1 });
      console.log(`  round ${round + 1}, one client: direct p50 ${f(d1.p50)} ms p99 ${f(d1.p99)} ms | edge p50 ${f(e1.p50)} ms p99 ${f(e1.p99)} ms`);
    }
    const avg = (set: typeof runs, k: 'direct' | 'edge', m: 'rps' | 'p50' | 'p99') => set.reduce((a, r) => a + r[k][m], 0) / set.length;
    const sum = (k: 'direct' | 'edge', m: 'rps' | 'p50' | 'p99') => avg(runs, k, m);

    // 2. Route changes: a name starts being served (as after a move's switch, the route changes
    // in the panel and goes out to every edge); timed until the other node's edge answers for it.
    const propagation: number[] = [];
    for (let i = 0; i < 5; i++) {
      const name = `switch-${i}.bench.test`;
      const d = ctx.repos.domains.insert({ id: `dom_bench${i}`, environmentId: site.id, customerId: customer.id, name, asciiName: name, verificationValue: 'x' });
      const t = performance.now();
      ctx.repos.domains.activate(d.id, 1);
      publishEnvironment(ctx, site.id);
      while ((await get(address(1), name, 1000)).status !== 200) await new Promise((r) => setTimeout(r, 2));
      propagation.push(performance.now() - t);
    }

    // 3. A move under a steady client through the other node's edge.
    const mover = await create('mover', 0);
    await docker(0).exec(containerName(mover.id), ['sh', '-c', 'head -c 209715200 /dev/urandom > /srv/www/data.bin'], 120_000);
    const outcomes: { status: number; ms: number }[] = [];
    let visiting = true;
    const visitor = (async () => {
      while (visiting) {
        const t = performance.now();
        outcomes.push(await get(address(1), mover.hostname, 10_000));
        await new Promise((r) => setTimeout(r, Math.max(0, 50 - (performance.now() - t))));
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    const started = await api('POST', `/environments/${mover.id}/migrate`, { nodeId: nodes[1] });
    const moved = await succeeded(started.operation.id);
    await new Promise((r) => setTimeout(r, 1000));
    visiting = false;
    await visitor;
    const failedDuringMove = outcomes.filter((o) => o.status !== 200).length;
    const slowest = Math.max(...outcomes.map((o) => o.ms));

    // 4. Applying one route change to an edge that serves 1,200 routes.
    const base = edgeRoutes(ctx);
    const filler = Array.from({ length: 1200 - base.length }, (_, i) => ({ host: `filler-${i}.bench.kura.test`, upstream: direct }));
    const table = { routes: [...base, ...filler], challenges: edgeChallenges(ctx) };
    let applied = (await syncEdge(ctx, nodes[0]!, table, undefined)).applied;
    const apply: number[] = [];
    for (let i = 0; i < 7; i++) {
      // A new table, as every pass of the edge loop makes (a table's digest is kept per table).
      const changed = { ...table, routes: [...table.routes.slice(0, -1), { host: `changed-${i}.bench.kura.test`, upstream: direct }] };
      const t = performance.now();
      const r = await syncEdge(ctx, nodes[0]!, changed, applied);
      apply.push(performance.now() - t);
      if (r.status.status !== 'running') throw new Error(`the edge refused 1,200 routes: ${r.status.message}`);
      applied = r.applied;
    }
    await edges.syncAll();

    const ratio = sum('edge', 'rps') / sum('direct', 'rps');
    const added = avg(quiet, 'edge', 'p50') - avg(quiet, 'direct', 'p50');
    const prop = percentile(propagation, 0.5);
    const applyMs = percentile(apply, 0.5);
    console.log(`
1. through the edge vs straight to the container (${CLIENTS} clients, ${LOAD_MS / 1000} s each way, 2 rounds; averages):
   direct ${f(sum('direct', 'rps'), 0)} req/s, p50 ${f(sum('direct', 'p50'))} ms, p99 ${f(sum('direct', 'p99'))} ms
   edge   ${f(sum('edge', 'rps'), 0)} req/s, p50 ${f(sum('edge', 'p50'))} ms, p99 ${f(sum('edge', 'p99'))} ms
   one client at a time: direct p50 ${f(avg(quiet, 'direct', 'p50'))} ms p99 ${f(avg(quiet, 'direct', 'p99'))} ms, edge p50 ${f(avg(quiet, 'edge', 'p50'))} ms p99 ${f(avg(quiet, 'edge', 'p99'))} ms
   throughput ratio ${f(ratio, 3)} (target >= 0.8: ${ratio >= 0.8 ? 'met' : 'NOT met'}); added p50, one client ${f(added, 3)} ms (target < 1 ms: ${added < 1 ? 'met' : 'NOT met'})
2. a route change until the other node's edge answers for the name: median ${f(prop, 0)} ms, max ${f(Math.max(...propagation), 0)} ms of ${propagation.length} (target < 1000 ms: ${prop < 1000 ? 'met' : 'NOT met'})
3. move of a 200 MB environment (${moved.message}) under ${outcomes.length} requests at 20/s through the other edge:
   failed ${failedDuringMove} (target 0: ${failedDuringMove === 0 ? 'met' : 'NOT met'}), slowest ${f(slowest, 0)} ms (target < 3000 ms: ${slowest < 3000 ? 'met' : 'NOT met'})
4. one route change applied to an edge with ${table.routes.length} routes: median ${f(applyMs, 0)} ms, max ${f(Math.max(...apply), 0)} ms of ${apply.length} (target < 200 ms: ${applyMs < 200 ? 'met' : 'NOT met'})`);
  } finally {
    await edges.stop();
    for (const id of nodes) await ctx.nodes.get(id).remove(EDGE_CONTAINER).catch(() => {});
    await close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
