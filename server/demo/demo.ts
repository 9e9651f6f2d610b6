/**
 * npm run demo: a lab of Docker nodes, the panel on it, sample plans, a customer with an
 * environment, and the URLs and logins printed. Ctrl-C stops the panel; the lab stays up
 * (npm run lab -- down removes it).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { buildApp } from '../app.js';
import { startSftp } from '../sftp/server.js';
import { sftpHostKey } from '../services/sftp-host-key.js';
import { loadConfig, ROOT } from '../config.js';
import { labUp } from '../lab/lab.js';
import { removeStaleDemo } from './stale.js';

const NODES = Number(process.env.KURA_DEMO_NODES ?? 3);

async function main(): Promise<void> {
  const dataDir = path.resolve(process.env.KURA_DATA_DIR ?? path.join(ROOT, '.kura', 'demo'));
  step(`starting ${NODES} lab nodes (network namespaces with dockerd, mutual TLS, btrfs disk quotas)`);
  const lab = await labUp({ nodes: NODES });
  await removeStaleDemo(dataDir, lab);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const adminToken = `kura_demo_${randomBytes(18).toString('base64url')}`;
  const adminPassword = randomBytes(9).toString('base64url');
  const customerPassword = randomBytes(9).toString('base64url');
  const config = loadConfig({
    // Built template images outlive a demo, so the Debian template is built only once.
    KURA_IMAGE_CACHE: path.join(ROOT, '.kura', 'images'),
    // The request log would scroll the URLs and logins away: it goes to a file unless
    // KURA_LOG_FILE says otherwise (set empty, it stays on the terminal).
    KURA_LOG_FILE: path.join(dataDir, 'panel.log'),
    // Every site answers at a name under this domain, through the edge on each node.
    KURA_BASE_DOMAIN: 'sites.kura.test',
    ...process.env, KURA_DATA_DIR: dataDir, KURA_ADMIN_TOKEN: adminToken,
    KURA_ADMIN_EMAIL: 'admin@kura.example', KURA_ADMIN_PASSWORD: adminPassword,
  });
  const { app, ctx } = await buildApp({ config });
  const base = await app.listen({ port: config.port, host: config.host });
  const sftp = config.sftpPort === null ? null : await startSftp(ctx, { host: config.host, port: config.sftpPort });
  const api = async (method: string, url: string, body?: unknown, token = adminToken) => {
    const res = await fetch(`${base}/api/v1${url}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = await res.json() as Record<string, any>;
    if (res.status >= 400) throw new Error(`${method} ${url} answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  };

  step('registering the lab nodes with the panel');
  for (const n of lab.nodes) {
    const read = (f: string) => fs.readFileSync(f, 'utf8');
    await api('POST', '/nodes', { name: n.name, endpoint: n.endpoint, tls: { ca: read(n.tls.ca), cert: read(n.tls.cert), key: read(n.tls.key) } });
  }
  step('creating plans, a customer and an environment');
  const small = await api('POST', '/plans', { name: 'small', cpus: 0.5, memoryMb: 128, diskMb: 512, pids: 128,
    backups: { schedule: 'daily', keepLast: 7, keepDaily: 7, keepWeekly: 4, storageMb: 2048 } });
  await api('POST', '/plans', { name: 'medium', cpus: 1, memoryMb: 512, swapMb: 256, diskMb: 2048, pids: 256 });
  await api('POST', '/plans', { name: 'large', cpus: 2, memoryMb: 2048, swapMb: 512, diskMb: 8192, pids: 1024 });
  const customer = await api('POST', '/customers', { name: 'Demo Customer', email: 'customer@kura.example', password: customerPassword,
    limits: { environments: 5, cpus: 4, memoryMb: 4096, diskMb: 16384 } });
  const token = await api('POST', `/customers/${customer.id}/tokens`, { name: 'demo' });
  const created = await api('POST', '/environments', { name: 'www', templateId: 'static-site', planId: small.id }, token.token);
  const op = await api('GET', `/operations/${created.operation.id}/wait?timeout=60`);
  if (op.status !== 'succeeded') throw new Error(`the demo environment did not start: ${op.error?.message}`);
  const env = await api('GET', `/environments/${created.environment.id}`);
  const site = env.endpoints[0];
  const edges = await edgesUp(api);
  // The OS template takes about a minute to build the first time; it is started in the background.
  const debian = await api('POST', '/environments', { name: 'debian', templateId: 'debian-nginx', planId: small.id }, token.token);
  // A first backup of www, kept, so the Backups page has one to restore from.
  const backup = await api('POST', `/environments/${env.id}/backups`, { note: 'demo', keep: true }, token.token);

  console.log(`
Kura is running.

  Admin console   ${base}/admin    log in as admin@kura.example / ${adminPassword}
  Customer panel  ${base}/panel    log in as customer@kura.example / ${customerPassword}
  API docs        ${base}/api/v1/docs   (interactive; paste a token under Authorize)
  OpenAPI         ${base}/api/v1/openapi.json
  Health          ${base}/healthz

  Panel log       ${config.logLevel === 'silent' ? 'off (KURA_LOG_LEVEL=silent)' : config.logFile ?? 'this terminal'}

  Admin token     ${adminToken}
  Customer token  ${token.token}   (Demo Customer)

  Environment "www" (static-site) is running: http://${site.host}:${site.port}/${env.hostname ? `
    and at its own name, through the edge on any node (${edges}; in production a wildcard DNS record points ${config.baseDomain} at the nodes):
    curl --resolve ${env.hostname}:80:${site.host} http://${env.hostname}/` : ''}
  Files           ${sftp ? `sftp -P ${sftp.port} ${env.id}@${config.sftpHost}   (the customer's password above; host key ${sftpHostKey(ctx).fingerprint})
                  or the file manager: ${base}/panel/environments/${env.id}/files` : 'SFTP is off (KURA_SFTP_PORT=off)'}
  Backups         ${base}/panel/environments/${env.id}/backups   (a first one is being taken: ${backup.backup.id}; the "small" plan backs up daily)
  Environment "debian" (debian-nginx, a Debian OS template) is being built: operation ${debian.operation.id}

Try:
  curl -s -H 'Authorization: Bearer ${token.token}' ${base}/api/v1/environments
  curl -s -H 'Authorization: Bearer ${adminToken}' ${base}/api/v1/nodes

Ctrl-C stops the panel. The lab nodes keep running; remove them with: npm run lab -- down
`);
  const stop = () => {
    Promise.resolve(sftp?.close()).then(() => app.close()).then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** Waits (at most 30 s) for the nodes' edges, and says how they stand. */
async function edgesUp(api: (method: string, url: string) => Promise<any>): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const nodes = (await api('GET', '/nodes')).items as { name: string; edge: { status: string; message?: string } }[];
    const waiting = nodes.filter((n) => n.edge.status !== 'running');
    if (waiting.length === 0) return `edges running on ${nodes.map((n) => n.name).join(', ')}`;
    if (Date.now() > deadline) return `edges not running yet: ${waiting.map((n) => `${n.name} (${n.edge.message ?? n.edge.status})`).join(', ')}`;
    await new Promise((r) => setTimeout(r, 500));
  }
}

function step(text: string): void {
  console.log(`- ${text}`);
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
