/**
 * The fleet benchmark: 40 lab nodes with 30 environments each (1200), one panel.
 * Prints provisioning time, list and node read latencies, the panel's RSS, how fast a
 * state change shows after containers are killed, and read latency with 5 nodes hung.
 * Run: npm run bench:fleet   (KURA_FLEET_NODES, KURA_FLEET_PER_NODE to scale down)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labStatus, labUp, labDown, nodeBody, pauseNode, resumeNode } from '../server/lab/lab.js';
import { percentile } from './figures.js';
import { benchApi } from './http.js';
import { spawnPanelProcess } from './panel.js';
import { labDocker, memoryOf } from './proc.js';
import { poolAll } from '../server/lib/pool.js';
import { ROOT } from '../server/config.js';

const NODES = Number(process.env.KURA_FLEET_NODES ?? 40);
const PER_NODE = Number(process.env.KURA_FLEET_PER_NODE ?? 30);
const TOKEN = 'fleet-bench-admin-token-0123456789';
const PORT = 3950;
/** Creates in flight at once: what a billing system's batch would keep open. */
const IN_FLIGHT = Number(process.env.KURA_FLEET_IN_FLIGHT ?? 24);
/**
 * Seconds between the environments' health checks here. A check is an exec in the container,
 * about 50 ms of CPU (npm run bench:density measures it). A real node has CPUs of its own;
 * here 40 nodes share 2, a twentieth each, and at the shipped 60 s the 1200 environments'
 * checks alone would take a whole CPU. At 600 s each lab node spends about 5% of its
 * twentieth on them; a real node with 30 environments at 60 s spends about 2.5% of one CPU.
 */
const HEALTHCHECK_SECONDS = Number(process.env.KURA_FLEET_HEALTHCHECK_SECONDS ?? 600);

/** The shipped templates, with the static site's health check every `seconds`; returns their folder. */
function templatesWithHealthcheck(dir: string, seconds: number): string {
  const out = path.join(dir, 'templates');
  fs.cpSync(path.join(ROOT, 'templates'), out, { recursive: true });
  const file = path.join(out, 'static-site', 'template.json');
  const template = JSON.parse(fs.readFileSync(file, 'utf8')) as { healthcheck: { intervalSeconds: number } };
  template.healthcheck.intervalSeconds = seconds;
  fs.writeFileSync(file, JSON.stringify(template, null, 2));
  return out;
}
const BASE = `http://127.0.0.1:${PORT}`;
const { api, timeReads } = benchApi(BASE, TOKEN);


/** Waits for an operation to finish, however long: an operation still running after a minute is reported, not counted as failed. */
async function waitFor(opId: string): Promise<{ status: string; progress?: number; message?: string; error?: { message: string } }> {
  for (let waited = 0; ; waited++) {
    const op = await api('GET', `/operations/${opId}/wait?timeout=60`);
    if (op.status === 'succeeded' || op.status === 'failed' || op.status === 'cancelled') return op;
    if (waited === 0) console.log(`  ${opId} still ${op.status} after 60 s (${op.progress ?? 0}%: ${op.message ?? 'no message'})`);
  }
}

async function listAll(): Promise<{ id: string; nodeId: string; state: string }[]> {
  const all: { id: string; nodeId: string; state: string }[] = [];
  for (let cursor: string | null = null, first = true; first || cursor; first = false) {
    const page: { items: { id: string; nodeId: string; state: string }[]; nextCursor: string | null } = await api('GET', `/environments?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    all.push(...page.items);
    cursor = page.nextCursor;
  }
  return all;
}


/** The panel's own figure for how late Docker's events reach it (sum and count of the histogram). */
async function eventLag(): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${BASE}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const num = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? 0);
  return { sum: num('kura_event_lag_seconds_sum'), count: num('kura_event_lag_seconds_count') };
}


async function main(): Promise<void> {
  const before = await labStatus();
  const hadNodes = before.nodes.filter((n) => n.running).length;
  console.log(`fleet benchmark: ${NODES} nodes x ${PER_NODE} environments`);
  let t = performance.now();
  const lab = await labUp({ nodes: NODES });
  console.log(`  lab up: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const nodes = lab.nodes.filter((n) => n.index <= NODES);

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-fleet-'));
  const templatesDir = templatesWithHealthcheck(dataDir, HEALTHCHECK_SECONDS);
  console.log(`  health checks every ${HEALTHCHECK_SECONDS} s (KURA_FLEET_HEALTHCHECK_SECONDS; the shipped templates say 60: see HEALTHCHECK_SECONDS)`);
  const panel = await spawnPanelProcess({ dataDir, token: TOKEN, port: PORT, env: { KURA_TEMPLATES_DIR: templatesDir } });
  try {
    await poolAll(nodes, 8, async (n) => {
      await api('POST', '/nodes', nodeBody(n, { maxEnvironments: PER_NODE }));
    });
    const plan = await api('POST', '/plans', { name: 'fleet', cpus: 0.05, memoryMb: 32, diskMb: 64, pids: 32 });
    const customers: string[] = [];
    for (let i = 0; i < Math.ceil((NODES * PER_NODE) / 10); i++) {
      customers.push((await api('POST', '/customers', { name: `Fleet ${i}`, email: `fleet${i}@example.com` })).id);
    }
    const preload = await api('POST', '/templates/static-site/preload');
    await api('GET', `/operations/${preload.operation.id}/wait?timeout=60`);

    t = performance.now();
    const total = NODES * PER_NODE;
    let failed = 0;
    let done = 0;
    let lastMark = t;
    const reasons = new Map<string, number>();
    // Progress every hundred, so a slowdown shows as it happens, not after the run.
    const progress = () => {
      done++;
      if (done % 100 !== 0 && done !== total) return;
      const now = performance.now();
      const per = done % 100 === 0 ? 100 : done % 100;
      console.log(`  ${String(done).padStart(5)}/${total}: last ${per} in ${((now - lastMark) / 1000).toFixed(1)} s `
        + `(${((per * 60_000) / (now - lastMark)).toFixed(0)}/min), ${failed} failed, `
        + `panel RSS ${memoryOf(panel.pid!).rssMb.toFixed(0)} MB, load average ${os.loadavg()[0]!.toFixed(1)}`);
      lastMark = now;
    };
    await poolAll(Array.from({ length: total }, (_, i) => i), IN_FLIGHT, async (i) => {
      const r = await api('POST', '/environments', { name: `e${i}`, templateId: 'static-site', planId: plan.id, customerId: customers[i % customers.length] });
      const op = await waitFor(r.operation.id);
      if (op.status !== 'succeeded') {
        failed++;
        const why = String(op.error?.message ?? op.status).replace(/env_[0-9a-z]+|[0-9a-f]{64}|\blab[0-9]+\b/g, '…').slice(0, 160);
        if (!reasons.has(why)) console.log(`  first failure of its kind: ${why}`);
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
      progress();
    });
    const provisionS = (performance.now() - t) / 1000;
    for (const [why, n] of reasons) console.log(`  failed x${n}: ${why}`);
    console.log(`  provisioned ${total - failed}/${total} environments in ${provisionS.toFixed(1)} s (${((provisionS * 1000) / total).toFixed(0)} ms each, ${IN_FLIGHT} in flight; target < 600 s)`);

    // Reads are measured once the fleet has settled (containers started, first reconciles done).
    await new Promise((r) => setTimeout(r, 10_000));
    const all = await listAll();
    const states = new Map<string, number>();
    for (const env of all) states.set(env.state, (states.get(env.state) ?? 0) + 1);
    console.log(`  environments by state after provisioning: ${[...states].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    await timeReads('/environments?limit=500', 20);
    const list = await timeReads('/environments?limit=500', 400);
    const nodeReads = await timeReads('/nodes', 400);
    console.log(`  GET /environments?limit=500: p50 ${percentile(list, 0.5).toFixed(1)} ms, p99 ${percentile(list, 0.99).toFixed(1)} ms (target p99 < 50 ms)`);
    console.log(`  GET /nodes: p99 ${percentile(nodeReads, 0.99).toFixed(1)} ms`);
    console.log(`  panel RSS: ${memoryOf(panel.pid!).rssMb.toFixed(0)} MB (target < 250 MB)`);

    // State change: kill 20 random containers out of band, time until the panel's event stream says so.
    const victims = all.sort(() => Math.random() - 0.5).slice(0, 20) as { id: string; nodeId: string }[];
    const nodeById = new Map((await api('GET', '/nodes?limit=500')).items.map((n: { id: string; name: string }) => [n.id, n.name]));
    const seen = new Map<string, number>();
    const controller = new AbortController();
    const stream = fetch(`${BASE}/api/v1/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: controller.signal }).then(async (res) => {
      const reader = res.body!.getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += new TextDecoder().decode(value);
        for (const m of buf.matchAll(/event: environment\ndata: (\{[^\n]*\})/g)) {
          const e = JSON.parse(m[1]!) as { id: string; state: string };
          if (e.state === 'stopped' && !seen.has(e.id)) seen.set(e.id, performance.now());
        }
        buf = buf.slice(buf.lastIndexOf('\n\n') + 1);
      }
    }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    // Killed through the Docker API directly (connections opened beforehand), so the clock
    // starts when the kill is sent, not when a CLI process has started.
    const clients = new Map(nodes.map((n) => [n.name, labDocker(n)]));
    await Promise.all([...clients.values()].map((c) => c.ping()));
    const lagBefore = await eventLag();
    const killedAt = new Map<string, number>();
    await Promise.all(victims.map(async (v) => {
      const client = clients.get(String(nodeById.get(v.nodeId)))!;
      killedAt.set(v.id, performance.now());
      await client.getContainer(`kura-${v.id}`).kill();
    }));
    const deadline = Date.now() + 15_000;
    while (victims.some((v) => !seen.has(v.id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await stream;
    const latencies = victims.filter((v) => seen.has(v.id)).map((v) => seen.get(v.id)! - killedAt.get(v.id)!);
    const lagAfter = await eventLag();
    const meanLag = ((lagAfter.sum - lagBefore.sum) / Math.max(1, lagAfter.count - lagBefore.count)) * 1000;
    console.log(`  state change after killing 20 containers: ${latencies.length}/20 seen, p50 ${percentile(latencies, 0.5).toFixed(0)} ms, ` +
      `max ${Math.max(...latencies).toFixed(0)} ms (target < 2000 ms); ` +
      `of which Docker event to panel, mean ${meanLag.toFixed(0)} ms`);

    // Reads with 5 nodes hung (SIGSTOP), against the healthy figure just before, once the
    // killed containers have restarted.
    await new Promise((r) => setTimeout(r, 10_000));
    const healthy = await timeReads('/environments?limit=500', 400);
    const hung = nodes.slice(-5);
    const hungNames = new Set(hung.map((n) => n.name));
    for (const n of hung) await pauseNode(n.index);
    const pausedAt = performance.now();
    try {
      const whileDetecting = await timeReads('/environments?limit=500', 100);
      for (;;) {
        const listed = (await api('GET', '/nodes?limit=500')).items as { name: string; status: string }[];
        if (listed.filter((n) => hungNames.has(n.name)).every((n) => n.status === 'offline')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const offlineS = (performance.now() - pausedAt) / 1000;
      const sick = await timeReads('/environments?limit=500', 400);
      const ratio = percentile(sick, 0.99) / percentile(healthy, 0.99);
      console.log(`  5 SIGSTOPped nodes marked offline after ${offlineS.toFixed(1)} s; reads meanwhile p99 ${percentile(whileDetecting, 0.99).toFixed(1)} ms`);
      console.log(`  read p99 healthy ${percentile(healthy, 0.99).toFixed(1)} ms, with 5 nodes SIGSTOPped ${percentile(sick, 0.99).toFixed(1)} ms: ratio ${ratio.toFixed(2)} (target <= 1.2)`);
      const metrics = await (await fetch(`${BASE}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      const loopP99 = Number(/^kura_nodejs_eventloop_lag_p99_seconds ([0-9.e+-]+)$/m.exec(metrics)?.[1] ?? NaN) * 1000;
      console.log(`  panel event-loop delay p99 since start: ${loopP99.toFixed(1)} ms; machine load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`);
      console.log(`  panel RSS at the end: ${memoryOf(panel.pid!).rssMb.toFixed(0)} MB`);
    } finally {
      for (const n of hung) await resumeNode(n.index);
    }
  } catch (err) {
    // Printed before the teardown starts, so it is the first thing to read.
    console.error('fleet benchmark failed:', err);
    process.exitCode = 1;
  } finally {
    panel.kill('SIGTERM');
    fs.rmSync(dataDir, { recursive: true, force: true });
    // Leave the lab as it was found: the benchmark's nodes go, the usual ones come back clean.
    // A teardown failure is printed on its own and never hides an error before it.
    t = performance.now();
    try {
      await labDown();
      if (hadNodes > 0) await labUp({ nodes: hadNodes });
      console.log(`  lab restored in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    } catch (err) {
      console.error(`  lab restore failed after ${((performance.now() - t) / 1000).toFixed(1)} s: ${String(err)}`);
      process.exitCode = 1;
    }
  }
}

main().catch((err: unknown) => {
  console.error('fleet benchmark failed:', err);
  process.exitCode = 1;
});
