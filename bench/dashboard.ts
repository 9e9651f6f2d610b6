/**
 * The admin dashboard's server-side render time with 40 nodes and 1200 environments.
 * The panel's database is seeded directly (no Docker is needed to render the dashboard:
 * it reads only the panel's own records), and requests go through fastify's inject, so
 * the figures are the server's own time. The API's node list over the same data is the
 * baseline in the same run. Target: dashboard p50 < 150 ms.
 * Run: npm run bench:dashboard
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../server/app.js';
import { loadConfig } from '../server/config.js';
import { newId, nowIso } from '../server/lib/ids.js';
import { hashPassword } from '../server/lib/secrets.js';
import { percentile } from './figures.js';
import { DEFAULT_BACKUP_POLICY } from '../server/domain/backups.js';

const NODES = 40;
const PER_NODE = 30;
const RUNS = 200;
const TOKEN = 'dashboard-bench-admin-token-0123456789';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-bench-dashboard-'));
const config = loadConfig({ KURA_DATA_DIR: dataDir, KURA_ADMIN_TOKEN: TOKEN, KURA_LOG_LEVEL: 'silent',
  KURA_ADMIN_EMAIL: 'admin@kura.example', KURA_ADMIN_PASSWORD: 'bench-password-1' });
const { app, ctx } = await buildApp({ config, background: false });
await app.ready();
const { repos } = ctx;

// 40 nodes, 40 customers, 1200 environments; a few offline nodes, drifted environments, OOMs and failed operations.
const planId = newId('plan');
repos.plans.insert({ id: planId, name: 'bench', cpus: 0.5, memoryMb: 256, swapMb: 0, diskMb: 1024, pids: 128, nofile: 4096, selectable: false, backups: DEFAULT_BACKUP_POLICY });
const customers = Array.from({ length: NODES }, (_, i) => repos.customers.insert({ id: newId('cus'), name: `Customer ${i}`,
  email: `c${i}@bench.example`, passwordHash: null, limits: { environments: null, cpus: null, memoryMb: null, diskMb: null } }));
repos.db.transaction(() => {
  for (let n = 0; n < NODES; n++) {
    const node = repos.nodes.insert({ id: newId('node'), name: `node-${n}`, endpoint: `tcp://10.231.${n}.2:2376`, publicHost: `10.231.${n}.2`,
      tls: { ca: null, cert: null, keySealed: null }, capacity: { cpus: 16, memoryMb: 65536, diskMb: null }, cpuOvercommit: 4,
      maxEnvironments: 30, diskQuota: true, allowUnenforcedDisk: false, dockerVersion: '28.2.2', storageDriver: 'btrfs' });
    if (n % 13 === 5) repos.nodes.markSeen(node.id, 'offline');
    for (let e = 0; e < PER_NODE; e++) {
      const id = newId('env');
      repos.environments.insert({ id, name: `site-${n}-${e}`, customerId: customers[(n + e) % NODES]!.id, nodeId: node.id,
        templateId: 'static-site', planId, limits: { cpus: 0.5, memoryMb: 256, swapMb: 0, diskMb: 1024, pids: 128, nofile: 4096 } },
      [{ name: 'http', protocol: 'tcp', containerPort: 8080 }]);
      repos.environments.setState(id, e % 7 === 0 ? 'stopped' : 'running');
      if (e % 29 === 3) repos.environments.setDrift(id, { detectedAt: nowIso(), differences: [{ field: 'Memory', expected: 268435456, actual: 1 }] });
      if (e % 31 === 4) repos.history.add(id, 'oom', { message: 'out of memory' });
    }
  }
  for (let i = 0; i < 5; i++) {
    const op = repos.operations.insert({ id: newId('op'), kind: 'provision', resourceId: 'env_x', customerId: null, params: {} });
    repos.operations.finish(op.id, 'failed', 'failed', { error: { code: 'internal', message: 'bench failure' } });
  }
})();
repos.admins.insert(newId('adm'), 'bench-admin@kura.example', await hashPassword('bench-password-2'), nowIso());

// Log in as the admin through the real login form.
const login = await app.inject('/login');
const csrf = /kura_csrf=([^;]+)/.exec(String(login.headers['set-cookie']))![1]!;
const signedIn = await app.inject({ method: 'POST', url: '/login', headers: { cookie: `kura_csrf=${csrf}`, 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams({ _csrf: csrf, email: 'bench-admin@kura.example', password: 'bench-password-2' }).toString() });
const session = /kura_session=([^;]+)/.exec(String(signedIn.headers['set-cookie']))?.[1];
if (!session) throw new Error(`admin login failed: ${signedIn.statusCode}`);

async function time(url: string, headers: Record<string, string>): Promise<{ times: number[]; bytes: number }> {
  let bytes = 0;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const res = await app.inject({ url, headers });
    times.push(performance.now() - t0);
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    bytes = res.body.length;
  }
  return { times, bytes };
}

const cookie = { cookie: `kura_session=${session}` };
const bearer = { authorization: `Bearer ${TOKEN}` };
// Warm both paths, then interleave them so machine noise hits both alike.
await time('/admin', cookie);
await time('/api/v1/nodes', bearer);
const dash: number[] = [];
const nodes: number[] = [];
let dashBytes = 0;
for (let round = 0; round < 5; round++) {
  const d = await time('/admin', cookie);
  const n = await time('/api/v1/nodes', bearer);
  dash.push(...d.times);
  nodes.push(...n.times);
  dashBytes = d.bytes;
}
const envList = (await time('/admin/environments', cookie)).times;
const envCount = repos.environments.page('', 5000, {}).length;
const fmt = (xs: number[]) => `p50 ${percentile(xs, 0.5).toFixed(1)} ms, p95 ${percentile(xs, 0.95).toFixed(1)} ms, p99 ${percentile(xs, 0.99).toFixed(1)} ms`;
console.log(`fleet: ${NODES} nodes, ${envCount} environments`);
console.log(`GET /admin (dashboard, ${(dashBytes / 1024).toFixed(0)} KiB): ${fmt(dash)}`);
console.log(`GET /api/v1/nodes (baseline):  ${fmt(nodes)}`);
console.log(`GET /admin/environments (100 per page): ${fmt(envList)}`);
console.log(`ratio dashboard / node list at p50: ${(percentile(dash, 0.5) / percentile(nodes, 0.5)).toFixed(2)}`);
console.log(`target: dashboard p50 < 150 ms -> ${percentile(dash, 0.5) < 150 ? 'met' : 'NOT met'}`);
await app.close();
fs.rmSync(dataDir, { recursive: true, force: true });
