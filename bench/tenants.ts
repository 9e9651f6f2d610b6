/**
 * One customer floods the API while another works on the same node. Customer A keeps
 * hundreds of stats, list and action requests in flight (from a process of its own, the
 * next sent as soon as one answers, Retry-After ignored) and holds a few log streams open;
 * customer B works as usual: reads the environment, reads its live usage, and stops and
 * starts it (see bLoop). B's work runs once with the panel quiet and once during the
 * flood, in this process, against the same panel (a process of its own, as `npm start`).
 * A's flood is a process of its own too; see CPUS for how the machine's CPUs are shared.
 * Prints B's p50/p99 per kind and the ratio flood/quiet (target <= 1.5), whether the node
 * was ever shown offline, A's answers by status, the panel's event-loop delay, CPU and GC
 * time, and its peak RSS. Only loopback and the lab node receive traffic.
 * Run: npm run bench:tenants   (KURA_BENCH_FLOOD_SECONDS, default 25; KURA_BENCH_IN_FLIGHT, default 300;
 * KURA_BENCH_PANEL_FLAGS adds node flags to the panel, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labUp, nodeBody } from '../server/lab/lab.js';
import { removeLabelledContainers } from '../server/lab/containers.js';
import { percentile } from './figures.js';
import { floodInProcess } from './flood.js';
import { benchApi } from './http.js';
import { spawnPanelProcess } from './panel.js';
import { memoryOf } from './proc.js';

const FLOOD_MS = Number(process.env.KURA_BENCH_FLOOD_SECONDS ?? 25) * 1000;
const IN_FLIGHT = Number(process.env.KURA_BENCH_IN_FLIGHT ?? 300);
const TOKEN = 'tenants-bench-admin-token-0123456789';
const PORT = 3951;
const BASE = `http://127.0.0.1:${PORT}`;
const PASSWORD = 'tenants-bench-password';

const { call: callAs, api } = benchApi(BASE, TOKEN);
/** Calls the API as `token`; the status and body, whatever the status. */
const call = (method: string, url: string, token: string, body?: unknown) => callAs(method, url, body, token);

/** The panel's own figures: event-loop delay p99 and max since the last scrape (prom-client resets them), GC and CPU time so far. */
async function panelFigures(): Promise<{ loopP99Ms: number; loopMaxMs: number; gcMs: number; cpuMs: number }> {
  const text = await (await fetch(`${BASE}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const one = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  const gc = [...text.matchAll(/^kura_nodejs_gc_duration_seconds_sum\{[^}]*\} ([0-9.e+-]+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  return { loopP99Ms: one(/^kura_nodejs_eventloop_lag_p99_seconds ([0-9.e+-]+)$/m) * 1000,
    loopMaxMs: one(/^kura_nodejs_eventloop_lag_max_seconds ([0-9.e+-]+)$/m) * 1000, gcMs: gc * 1000,
    cpuMs: one(/^kura_process_cpu_seconds_total ([0-9.e+-]+)$/m) * 1000 };
}


/**
 * This one machine stands for three: the panel's, the node's and A's own computer. On two
 * or more CPUs the panel (and B's client, which is light) has CPU 0 to itself, and the lab
 * node uses any CPU, as the kernel schedules it. A's generator runs at the lowest priority:
 * its cost is A's, on a computer of A's own. Without this, the generator's bursts take the
 * panel's CPU from it, and B's tail measures this machine's scheduler rather than the panel.
 */
const CPUS = os.cpus().length;
const PANEL_CPUS = CPUS >= 2 ? '0' : undefined;

/** A's log streams in the web panel: logs in as A, opens `n` follows; close() ends them. */
async function openLogStreams(email: string, envId: string, n: number): Promise<{ opened: number; close(): void }> {
  const login = await fetch(`${BASE}/login`);
  const csrf = /kura_csrf=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1] ?? '';
  await login.arrayBuffer();
  const res = await fetch(`${BASE}/login`, {
    method: 'POST', redirect: 'manual',
    headers: { cookie: `kura_csrf=${csrf}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, email, password: PASSWORD }).toString(),
  });
  const session = /kura_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (!session) throw new Error(`log in as ${email} failed: ${res.status}`);
  const controller = new AbortController();
  const streams = await Promise.all(Array.from({ length: n }, async () => {
    const s = await fetch(`${BASE}/panel/environments/${envId}/logs/stream`, { headers: { cookie: `kura_session=${session}` }, signal: controller.signal });
    // Read and drop whatever the container prints, as a browser would.
    if (s.ok) void s.body?.pipeTo(new WritableStream()).catch(() => undefined);
    return s.ok;
  }));
  return { opened: streams.filter(Boolean).length, close: () => controller.abort() };
}

interface Times { get: number[]; stats: number[]; action: number[]; failures: string[] }

/**
 * B's work for `ms`, as three loops side by side, all well within a customer's limits:
 * read the environment every 30 ms (about 750 samples in a run, so its p99 is the seventh
 * slowest rather than one unlucky request), read its live usage, and stop and start it
 * (each to its operation's end) with a second between.
 */
async function bLoop(token: string, envId: string, ms: number): Promise<Times> {
  const t: Times = { get: [], stats: [], action: [], failures: [] };
  const timed = async (into: number[], what: string, fn: () => Promise<boolean>) => {
    const t0 = performance.now();
    if (await fn()) into.push(performance.now() - t0);
    else t.failures.push(what);
  };
  const act = async (action: string) => {
    const r = await call('POST', `/environments/${envId}/actions`, token, { action });
    if (r.status !== 202) return false;
    return (await call('GET', `/operations/${r.body.operation.id}/wait?timeout=60`, token)).body?.status === 'succeeded';
  };
  const end = Date.now() + ms;
  const pause = (n: number) => new Promise((r) => setTimeout(r, n));
  await Promise.all([
    (async () => {
      while (Date.now() < end) {
        await timed(t.get, 'get', async () => (await call('GET', `/environments/${envId}`, token)).status === 200);
        await pause(30);
      }
    })(),
    (async () => {
      while (Date.now() < end) await timed(t.stats, 'stats', async () => (await call('GET', `/environments/${envId}/stats`, token)).status === 200);
    })(),
    (async () => {
      while (Date.now() < end) {
        await timed(t.action, 'stop', () => act('stop'));
        await timed(t.action, 'start', () => act('start'));
        await pause(1000);
      }
    })(),
  ]);
  return t;
}

const fmt = (xs: number[]) => xs.length ? `p50 ${percentile(xs, 0.5).toFixed(1)} ms, p99 ${percentile(xs, 0.99).toFixed(1)} ms (n=${xs.length})` : 'none';

async function main(): Promise<void> {
  const lab = await labUp({ nodes: 1 });
  const node = lab.nodes.find((n) => n.index === 1)!;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-tenants-'));
  // The same flags as `npm start` (package.json), run directly so its RSS is the panel's own.
  const nodeFlags = (process.env.KURA_BENCH_PANEL_FLAGS ?? '').split(' ').filter(Boolean);
  const panel = await spawnPanelProcess({ dataDir, token: TOKEN, port: PORT, nodeFlags, cpus: PANEL_CPUS });
  const customerIds: string[] = [];
  try {
    const nodeRec = await api('POST', '/nodes', nodeBody(node));
    const plan = await api('POST', '/plans', { name: 'tenants', cpus: 0.25, memoryMb: 64, diskMb: 256, pids: 64 });
    const customer = async (name: string) => {
      const c = await api('POST', '/customers', { name, email: `${name}@tenants.example`, password: PASSWORD });
      const token = (await api('POST', `/customers/${c.id}/tokens`, { name: 'script' })).token as string;
      const r = await api('POST', '/environments', { name, templateId: 'static-site', planId: plan.id, customerId: c.id, nodeId: nodeRec.id });
      const op = await api('GET', `/operations/${r.operation.id}/wait?timeout=60`);
      if (op.status !== 'succeeded') throw new Error(`provisioning failed: ${op.error?.message}`);
      customerIds.push(c.id as string);
      return { token, envId: r.environment.id as string, email: `${name}@tenants.example` };
    };
    const a = await customer('flooder');
    const b = await customer('neighbour');
    console.log(`tenants benchmark: node ${node.name}, A keeps ${IN_FLIGHT} requests in flight for ${FLOOD_MS / 1000} s`);
    console.log(PANEL_CPUS ? `  CPUs: panel and B on ${PANEL_CPUS}; the node anywhere; A's generator anywhere at nice 19` : '  CPUs: one, shared by all');

    await bLoop(b.token, b.envId, 3000); // warm-up: connections, first stats
    const quietStart = await panelFigures();
    const quiet = await bLoop(b.token, b.envId, FLOOD_MS - 2000);
    const quietEnd = await panelFigures();

    const quietRss = memoryOf(panel.pid!).rssMb;
    let peakRss = quietRss;
    let offline = 0;
    let polls = 0;
    const floodEnds = Date.now() + FLOOD_MS;
    const watching = (async () => {
      while (Date.now() < floodEnds) {
        peakRss = Math.max(peakRss, memoryOf(panel.pid!).rssMb);
        const shown = await call('GET', `/nodes/${nodeRec.id}`, TOKEN);
        polls++;
        if (shown.body?.status !== 'online') offline++;
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const streams = await openLogStreams(a.email, a.envId, 4);
    const answers = floodInProcess({ base: `${BASE}/api/v1`, token: a.token, inFlight: IN_FLIGHT, ms: FLOOD_MS, targets: [
      { method: 'GET', url: `/environments/${a.envId}/stats` },
      { method: 'GET', url: '/environments' },
      { method: 'GET', url: `/environments/${a.envId}/stats` },
      { method: 'POST', url: `/environments/${a.envId}/actions`, body: { action: 'restart' } },
    ] });
    await new Promise((r) => setTimeout(r, 2000)); // the flood is under way before B measures
    const floodStart = await panelFigures();
    const during = await bLoop(b.token, b.envId, FLOOD_MS - 2000);
    const floodEnd = await panelFigures();
    const counts = await answers;
    streams.close();
    await watching;

    const ratio = (k: 'get' | 'stats' | 'action', q: number) => percentile(during[k], q) / percentile(quiet[k], q);
    console.log(`  B quiet:  GET environment ${fmt(quiet.get)}; GET stats ${fmt(quiet.stats)}; stop/start ${fmt(quiet.action)}`);
    console.log(`  B flood:  GET environment ${fmt(during.get)}; GET stats ${fmt(during.stats)}; stop/start ${fmt(during.action)}`);
    for (const k of ['get', 'stats', 'action'] as const) {
      console.log(`  ratio flood/quiet ${k.padEnd(6)}: p50 ${ratio(k, 0.5).toFixed(2)}, p99 ${ratio(k, 0.99).toFixed(2)} (target <= 1.5)`);
    }
    console.log(`  B failures: quiet ${quiet.failures.length}, flood ${during.failures.length}${during.failures.length ? ` (${during.failures.slice(0, 5).join(', ')})` : ''}`);
    console.log(`  node shown offline: ${offline > 0 ? `YES, in ${offline} of ${polls} polls` : `never (${polls} polls of GET /nodes)`}`);
    const total = Object.values(counts).reduce((x, y) => x + y, 0);
    console.log(`  A's answers: ${total} in ${FLOOD_MS / 1000} s, ${JSON.stringify(counts)}; 429s: ${counts['429'] ?? 0}; log streams open: ${streams.opened}/4`);
    const seconds = (FLOOD_MS - 2000) / 1000;
    const describe = (from: typeof quietEnd, to: typeof quietEnd) => `event-loop delay p99 ${to.loopP99Ms.toFixed(1)} ms`
      + ` (max ${to.loopMaxMs.toFixed(1)} ms), `
      + `CPU ${((to.cpuMs - from.cpuMs) / seconds / 10).toFixed(0)}%, GC ${((to.gcMs - from.gcMs) / seconds).toFixed(1)} ms/s`;
    console.log(`  panel quiet: ${describe(quietStart, quietEnd)}; flood: ${describe(floodStart, floodEnd)}`);
    console.log(`  panel RSS: ${quietRss.toFixed(0)} MB before the flood, peak ${peakRss.toFixed(0)} MB during it; machine load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`);
  } finally {
    panel.kill('SIGTERM');
    await new Promise((r) => panel.once('exit', r));
    fs.rmSync(dataDir, { recursive: true, force: true });
    // The lab is shared: the benchmark's containers go with it.
    for (const id of customerIds) await removeLabelledContainers([node], `io.kura.customer=${id}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
