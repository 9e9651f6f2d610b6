/**
 * How many environments one lab node holds before a create or a read slows by half.
 * Creates static-site environments on one node, one after another, up to KURA_DENSITY_MAX
 * (default 200), and at every step of KURA_DENSITY_STEP (default 25) prints:
 * - the step's median create time (POST to the operation's end) against the first five's;
 * - the panel's list and single reads (p99 of 100 each);
 * - memory per idle environment: the RSS of its containerd shim and of its processes
 *   (docker-init, httpd), summed over the node and divided by the count;
 * - the node daemons' and the panel's RSS.
 * Targets: 200 environments with create time <= 1.5x the first's, list p99 < 50 ms.
 * Run: npm run bench:density   (only loopback and the lab node receive traffic)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nodeBody, restartNode, type LabNode } from '../server/lab/lab.js';
import { labDir, nodePaths } from '../server/lab/paths.js';
import { parseTemplate } from '../server/templates/catalog.js';
import { percentile } from './figures.js';
import { benchApi } from './http.js';
import { spawnPanelProcess } from './panel.js';
import { labDocker, memoryOf } from './proc.js';
import { ROOT } from '../server/config.js';
import { containerName } from '../server/docker/container-spec.js';

const MAX = Number(process.env.KURA_DENSITY_MAX ?? 200);
const STEP = Number(process.env.KURA_DENSITY_STEP ?? 25);
const TOKEN = 'density-bench-admin-token-0123456789';
const PORT = 3952;
const BASE = `http://127.0.0.1:${PORT}`;
const { api, timeReads } = benchApi(BASE, TOKEN);

const median = (xs: number[]) => percentile(xs, 0.5);

interface Memory { rssMb: number; ownMb: number }

/**
 * The node's memory by role, from /proc: its daemons (dockerd, containerd), and per
 * environment its shim (whose command line names the node's runtime dir) and its processes
 * (in the node's cgroup parent). RSS counts the shims' shared binary in each; "own" does not.
 */
function nodeMemory(node: LabNode): { daemons: Memory; environments: Memory; shims: number } {
  const p = nodePaths(labDir(), node.index);
  const daemons = { rssMb: 0, ownMb: 0 };
  const environments = { rssMb: 0, ownMb: 0 };
  let shims = 0;
  const add = (into: Memory, pid: string) => {
    const m = memoryOf(pid);
    into.rssMb += m.rssMb;
    into.ownMb += m.ownMb;
  };
  for (const pid of fs.readdirSync('/proc').filter((n) => /^[0-9]+$/.test(n))) {
    let cmd: string;
    let cgroup: string;
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      cgroup = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      continue;
    }
    const ofNode = cmd.includes(`${p.runDir}/`) || cmd.includes(`${p.nodeDir}/`);
    if (cgroup.includes(`${p.cgroupParent}/`)) add(environments, pid);
    else if (/^\S*containerd-shim/.test(cmd) && ofNode) {
      add(environments, pid);
      shims++;
    } else if (/^\S*(dockerd|containerd) /.test(cmd) && ofNode) add(daemons, pid);
  }
  return { daemons, environments, shims };
}

/** CPU time the whole machine has spent busy so far, in ms (/proc/stat counts in USER_HZ, 100 a second on Linux). */
function busyMs(): number {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return (cpu.reduce((a, b) => a + b, 0) - idle) * 10;
}

/**
 * What one health check costs the machine: `n` checks (the template's own command, run as
 * Docker runs it, an exec in the container) one after another, against the same time idle.
 */
async function healthCheckCost(node: LabNode, container: string, command: string[], n: number): Promise<{ cpuMs: number; wallMs: number }> {
  const c = labDocker(node).getContainer(container);
  const idle0 = busyMs();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 5000));
  const idleRate = (busyMs() - idle0) / (performance.now() - t0);
  const b0 = busyMs();
  const t1 = performance.now();
  for (let i = 0; i < n; i++) {
    const exec = await c.exec({ Cmd: command, AttachStdout: false, AttachStderr: false });
    await exec.start({ Detach: true });
    while ((await exec.inspect()).Running) await new Promise((r) => setTimeout(r, 5));
  }
  const wall = performance.now() - t1;
  return { cpuMs: (busyMs() - b0 - idleRate * wall) / n, wallMs: wall / n };
}

async function main(): Promise<void> {
  // An empty node, with disk for 200 plans of 64 MB (the file is sparse: only what is written takes room).
  const node = await restartNode(1, { fresh: true, diskGb: Math.max(8, Math.ceil((MAX * 64) / 1024) + 2) });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-density-'));
  const panel = await spawnPanelProcess({ dataDir, token: TOKEN, port: PORT });
  try {
    const nodeRec = await api('POST', '/nodes', nodeBody(node, { maxEnvironments: MAX + 10 }));
    // Two CPUs hold 200 plans of 0.05 CPUs at 8 per CPU; idle sites use next to none.
    await api('PATCH', `/nodes/${nodeRec.id}`, { cpuOvercommit: 8 });
    const plan = await api('POST', '/plans', { name: 'density', cpus: 0.05, memoryMb: 32, diskMb: 64, pids: 32 });
    const customerId = (await api('POST', '/customers', { name: 'Density', email: 'density@example.com' })).id as string;
    const preload = await api('POST', '/templates/static-site/preload');
    await api('GET', `/operations/${preload.operation.id}/wait?timeout=60`);
    const before = nodeMemory(node);
    console.log(`density benchmark: one node (${node.name}), static-site environments one after another up to ${MAX}`);
    console.log(`  empty node: daemons ${before.daemons.rssMb.toFixed(0)} MB RSS`);

    const creates: number[] = [];
    let baseline = NaN;
    let slowedAt: number | null = null;
    let firstId = '';
    for (let i = 1; i <= MAX; i++) {
      const t0 = performance.now();
      const r = await api('POST', '/environments', { name: `d${i}`, templateId: 'static-site', planId: plan.id, customerId, nodeId: nodeRec.id });
      const op = await api('GET', `/operations/${r.operation.id}/wait?timeout=60`);
      if (op.status !== 'succeeded') throw new Error(`environment ${i} did not provision: ${op.status} ${op.error?.message ?? ''}`);
      creates.push(performance.now() - t0);
      if (i === 1) firstId = r.environment.id as string;
      if (i === 5) baseline = median(creates);
      if (i % STEP !== 0 && i !== MAX) continue;
      // Settle: the last create's start-up work ends before the reads are timed.
      await new Promise((res) => setTimeout(res, 3000));
      const step = creates.slice(-STEP);
      const ratio = median(step) / baseline;
      if (slowedAt === null && ratio > 1.5) slowedAt = i;
      const list = await timeReads('/environments?limit=500', 100);
      const one = await timeReads(`/environments/${firstId}`, 100);
      const mem = nodeMemory(node);
      const perEnv = { rss: mem.environments.rssMb / i, own: mem.environments.ownMb / i };
      console.log(`  ${String(i).padStart(4)}: create median ${median(step).toFixed(0)} ms (${ratio.toFixed(2)}x the first five's ${baseline.toFixed(0)} ms); `
        + `list p99 ${percentile(list, 0.99).toFixed(1)} ms, one p99 ${percentile(one, 0.99).toFixed(1)} ms; `
        + `per environment (shim and processes, ${mem.shims} shims) ${perEnv.rss.toFixed(1)} MB RSS, ${perEnv.own.toFixed(1)} MB not shared; `
        + `daemons ${mem.daemons.rssMb.toFixed(0)} MB, panel ${memoryOf(panel.pid!).rssMb.toFixed(0)} MB; load average ${os.loadavg()[0]!.toFixed(1)}`);
    }
    console.log(`  create slowed by half: ${slowedAt === null ? `not within ${MAX} environments (target: 200 at <= 1.5x)` : `at ${slowedAt} environments`}`);
    const check = parseTemplate('static-site', path.join(ROOT, 'templates/static-site')).healthcheck!;
    const cost = await healthCheckCost(node, containerName(firstId), check.command, 50);
    const perSecond = MAX / check.intervalSeconds;
    console.log(`  one health check (an exec in the container): ${cost.cpuMs.toFixed(0)} ms of CPU, ${cost.wallMs.toFixed(0)} ms; `
      + `${MAX} environments checked every ${check.intervalSeconds} s: ${perSecond.toFixed(1)} a second, `
      + `about ${((perSecond * cost.cpuMs) / 10).toFixed(0)}% of one CPU`);
  } finally {
    panel.kill('SIGTERM');
    await new Promise((r) => panel.once('exit', r));
    fs.rmSync(dataDir, { recursive: true, force: true });
    // The lab is shared: lab1 is left empty, with the usual disk.
    await restartNode(1, { fresh: true });
  }
}

main().catch((err: unknown) => {
  console.error('density benchmark failed:', err);
  process.exitCode = 1;
});
