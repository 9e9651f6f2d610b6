// Preflight of an existing server: the lab's legacy server (debootstrap, sshd, nginx, a second service, hazards), read over SSH.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_BIG_FILE, legacyUp, type LegacyHost } from '../../server/lab/legacy.js';
import { containerName } from '../../server/docker/container-spec.js';
import { docker, httpGet, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';
import { WebClient } from '../helpers/web.js';
import { hashPassword } from '../../server/lib/secrets.js';
import { newId, nowIso } from '../../server/lib/ids.js';

/**
 * What the source's own daemons record about being read, whoever reads: sshd's and PAM's
 * login records and the message of the day PAM rewrites, and nginx's access log of the
 * front page the import compares. Kura writes nothing; these are the source's doing, and
 * they are the only entries left out of the comparison.
 */
const LOGIN_RECORDS = new Set(['run', 'run/motd.dynamic', 'var/log/btmp', 'var/log/wtmp', 'var/log/lastlog', 'var/log/auth.log', 'var/log/nginx/access.log']);

/** Every entry of the source's filesystem (but /proc) with its type, mode, owner, size, mtime, and each file's sha256. */
function listing(rootfs: string): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(rootfs, full);
      if (rel === 'proc') continue;
      if (LOGIN_RECORDS.has(rel)) {
        if (rel === 'run') walk(full);
        continue;
      }
      const st = fs.lstatSync(full);
      const hash = st.isFile() ? createHash('sha256').update(fs.readFileSync(full)).digest('hex') : st.isSymbolicLink() ? fs.readlinkSync(full) : '';
      out.push(`${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${hash}`);
      if (st.isDirectory()) walk(full);
    }
  };
  walk(rootfs);
  return out.join('\n');
}

describe('preflight of a legacy server', () => {
  let panel: TestPanel;
  let legacy: LegacyHost;
  let seed: Seed;
  let before: string;
  let nodeId1: string;
  let imported: any;
  const source = (extra: Record<string, unknown> = {}) => ({ type: 'ssh', host: legacy.host, user: legacy.user, password: legacy.password, ...extra });

  async function preflight(body: Record<string, unknown>): Promise<any> {
    const res = await panel.api('POST', '/imports/preflight', body);
    expect(res.status, res.text).toBe(202);
    expect(res.body.operation.resource.type).toBe('import');
    await waitOperation(panel, res.body.operation.id, 120);
    return (await panel.api('GET', `/operations/${res.body.operation.id}`)).body;
  }

  beforeAll(async () => {
    legacy = await legacyUp();
    before = listing(legacy.rootfs);
    panel = await startTestPanel({ background: false });
    nodeId1 = await registerNode(panel, labNode(1));
    seed = await seedCustomer(panel, { email: 'imports@kura.example', plan: { diskMb: 1024 } });
  }, 600_000);
  afterAll(async () => panel?.close());

  it('reports the facts and every hazard, each with its severity and action, and no blocker when the plan fits', async () => {
    const op = await preflight({ source: source(), planId: seed.planId });
    expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    const { facts, findings } = op.result;
    expect(facts.distro).toMatch(/Debian GNU\/Linux 12/);
    expect(facts.arch).toBe('x86_64');
    expect(facts.libc).toMatch(/GLIBC 2\.36/);
    expect(facts.diskMb).toBeGreaterThan(200);
    expect(facts.services).toEqual(expect.arrayContaining(['nginx', 'cron', 'legacy-api', 'ssh']));
    expect(facts.listening.map((l: any) => [l.port, l.process])).toEqual(expect.arrayContaining([[22, 'sshd'], [80, 'nginx'], [8081, 'busybox']]));
    expect(facts.listening.find((l: any) => l.port === 8081).command).toMatch(/httpd -p 8081/);
    expect(facts.users.map((u: any) => u.name)).toEqual(['webadmin']);
    // The host key the panel saw is the source's own.
    const keys = fs.readdirSync(path.join(legacy.rootfs, 'etc/ssh')).filter((f) => f.endsWith('.pub'))
      .map((f) => execFileSync('ssh-keygen', ['-l', '-f', path.join(legacy.rootfs, 'etc/ssh', f)]).toString().split(' ')[1]);
    expect(keys).toContain(facts.hostKey);

    const byCode = new Map(findings.map((f: any) => [f.code, f]));
    expect(findings.filter((f: any) => f.severity === 'blocker')).toEqual([]);
    expect(byCode.get('device-nodes')).toMatchObject({ severity: 'warning', detail: expect.stringContaining('/opt/ttyS9') });
    expect(byCode.get('network-mount')).toMatchObject({ severity: 'warning', detail: expect.stringContaining('10.231.251.9:/export/shared') });
    expect(byCode.get('hard-coded-address')).toMatchObject({ severity: 'warning', detail: expect.stringContaining('/etc/nginx/sites-available/default:2 10.231.251.2') });
    expect(byCode.get('crontab')).toMatchObject({ severity: 'info', detail: expect.stringContaining('crontab of root') });
    expect(byCode.get('kernel-modules')).toMatchObject({ severity: 'warning', detail: 'nf_conntrack_ftp' });
    expect(byCode.get('sysctls')).toMatchObject({ severity: 'warning', detail: 'net.ipv4.ip_forward = 1' });
    expect(byCode.get('disk')).toMatchObject({ severity: 'info' });
    for (const f of findings) expect(f.action.length, f.code).toBeGreaterThan(10);
    // A customer token sees no report.
    expect((await panel.api('GET', `/operations/${op.id}`, undefined, { token: seed.customerToken })).status).toBe(404);
  }, 180_000);

  it('names data larger than the plan\'s disk as a blocker', async () => {
    const small = await panel.api('POST', '/plans', { name: 'tiny-disk', cpus: 0.5, memoryMb: 64, diskMb: 64, pids: 32 });
    const op = await preflight({ source: source(), planId: small.body.id });
    expect(op.status).toBe('succeeded');
    expect(op.result.findings.filter((f: any) => f.severity === 'blocker').map((f: any) => f.code)).toEqual(['disk']);
    expect(op.message).toMatch(/1 blocker/);
  }, 120_000);

  it('fails clearly, never hanging: a wrong password, an unreachable port, a source that never answers', async () => {
    const wrong = await preflight({ source: source({ password: 'not-the-password' }) });
    expect(wrong.status).toBe('failed');
    expect(wrong.error.message).toMatch(/authentication failed for root@10\.231\.251\.2/);
    const closed = await preflight({ source: source({ port: 2299 }) });
    expect(closed.status).toBe('failed');
    expect(closed.error.message).toMatch(/unreachable \(ECONNREFUSED\)/);
    // A listener that takes the connection and never says anything.
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const started = Date.now();
      const hung = await preflight({ source: source({ host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port }) });
      expect(hung.status).toBe('failed');
      expect(hung.error.message).toMatch(/timed out/);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      silent.close();
    }
  }, 120_000);

  it('refuses bad input, and is for admins only', async () => {
    expect((await panel.api('POST', '/imports/preflight', { source: { type: 'ssh', host: legacy.host, user: 'root' } })).status).toBe(400);
    expect((await panel.api('POST', '/imports/preflight', { source: source({ host: 'a;rm -rf /' }) })).status).toBe(400);
    expect((await panel.api('POST', '/imports/preflight', { source: source({ privateKey: 'not a key', password: undefined }) })).status).toBe(400);
    expect((await panel.api('POST', '/imports/preflight', { source: source(), planId: 'plan_nope' })).status).toBe(400);
    expect((await panel.api('POST', '/imports/preflight', { source: source() }, { token: seed.customerToken })).status).toBe(403);
    // Outside KURA_IMPORT_SOURCES (the test panel's: loopback and the lab): refused before any connection, names too.
    const outside = await panel.api('POST', '/imports/preflight', { source: source({ host: 'legacy.example.com' }) });
    expect(outside.status).toBe(400);
    expect(outside.body.error.message).toMatch(/KURA_IMPORT_SOURCES/);
    expect((await panel.api('POST', '/imports', { source: source({ host: '192.0.2.10' }), name: 'x', customerId: seed.customerId, planId: seed.planId })).status).toBe(400);
  });

  it('imports the server: the same pages and data, its services running, the listen address adapted and recorded', async () => {
    const res = await panel.api('POST', '/imports', { source: source(), name: 'legacy-shop', customerId: seed.customerId, planId: seed.planId, nodeId: nodeId1 });
    expect(res.status, res.text).toBe(202);
    const env = res.body.environment;
    imported = env;
    expect(env.endpoints.map((e: any) => e.name).sort()).toEqual(['port-80', 'port-8081']);
    await waitOperation(panel, res.body.operation.id, 300);
    const op = (await panel.api('GET', `/operations/${res.body.operation.id}`)).body;
    expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    expect(op.result.differences).toBe(0);
    expect(op.result.checks).toEqual([
      { port: 80, listening: true, http: { source: 200, environment: 200, same: true } },
      { port: 8081, listening: true, http: { source: 404, environment: 404, same: true } },
    ]);
    expect(op.result.changes).toEqual([{ file: '/etc/nginx/sites-available/default', line: 2,
      from: 'listen 10.231.251.2:80 default_server;', to: 'listen 80 default_server;' }]);
    expect(op.result.services.sort()).toEqual(['busybox', 'cron', 'nginx']);
    const current = (await panel.api('GET', `/environments/${env.id}`)).body;
    const site = current.endpoints.find((e: any) => e.name === 'port-80');
    expect((await httpGet(`http://${site.host}:${site.port}/about.html`))?.body).toBe('<p>since 2009</p>\n');
    const inEnv = (...cmd: string[]) => docker(labNode(1), 'exec', containerName(env.id), ...cmd);
    const big = createHash('sha256').update(fs.readFileSync(path.join(legacy.rootfs, LEGACY_BIG_FILE))).digest('hex');
    expect((await inEnv('sha256sum', LEGACY_BIG_FILE)).split(' ')[0]).toBe(big);
    expect((await inEnv('stat', '-c', '%U:%G %a', '/home/webadmin')).trim()).toBe('webadmin:webadmin 755');
    expect((await inEnv('stat', '-c', '%a %U', '/var/spool/cron/crontabs/root')).trim()).toBe('600 root');
    // The device node stayed behind; cron runs under the supervisor.
    await expect(inEnv('test', '-e', '/opt/ttyS9')).rejects.toThrow();
    expect(await inEnv('cat', '/proc/1/cmdline')).toBeTruthy();
    expect((await inEnv('sh', '-c', 'for p in /proc/[0-9]*; do cat $p/comm; done')).split('\n')).toEqual(expect.arrayContaining(['cron', 'nginx']));
  }, 420_000);

  it('a refresh pass copies only what changed since the last pass', async () => {
    expect(imported).toBeTruthy();
    // A change on the live source (made by the test, from the host, and undone after).
    const dir = path.join(legacy.rootfs, 'var/www/html');
    const dirTimes = fs.statSync(dir);
    fs.writeFileSync(path.join(dir, 'new.html'), '<p>written after the first pass</p>\n');
    try {
      const res = await panel.api('POST', `/environments/${imported.id}/import/refresh`);
      expect(res.status, res.text).toBe(202);
      await waitOperation(panel, res.body.operation.id, 300);
      const op = (await panel.api('GET', `/operations/${res.body.operation.id}`)).body;
      expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
      expect(op.message).toMatch(/^refreshed/);
      expect(op.result.copiedBytes).toBeLessThan(5 * 1048576);
      expect(op.result.differences).toBe(0);
      const site = (await panel.api('GET', `/environments/${imported.id}`)).body.endpoints.find((e: any) => e.name === 'port-80');
      expect((await httpGet(`http://${site.host}:${site.port}/new.html`))?.body).toBe('<p>written after the first pass</p>\n');
    } finally {
      fs.rmSync(path.join(dir, 'new.html'));
      fs.utimesSync(dir, dirTimes.atime, dirTimes.mtime);
    }
    expect((await panel.api('POST', `/environments/${imported.id}/import/refresh`, undefined, { token: seed.customerToken })).status).toBe(403);
  }, 420_000);

  it('captures the imported environment as a template that new environments serve the old site from', async () => {
    const res = await panel.api('POST', `/environments/${imported.id}/template`, { id: 'legacy-shop', name: 'Legacy shop', version: '1' });
    expect(res.status, res.text).toBe(202);
    expect((await waitOperation(panel, res.body.operation.id, 300)).status).toBe('succeeded');
    expect((await panel.api('GET', '/templates/legacy-shop')).body.ports.map((p: any) => p.port)).toEqual([80, 8081]);
    const copy = await createEnvironment(panel, { name: 'shop-copy', templateId: 'legacy-shop', planId: seed.planId, customerId: seed.customerId, nodeId: nodeId1 });
    expect(copy.templateVersion).toBe('1');
    const site = copy.endpoints.find((e: any) => e.name === 'port-80');
    let body: string | undefined;
    for (let i = 0; i < 40 && body !== '<h1>legacy shop</h1>\n'; i++) {
      body = (await httpGet(`http://${site.host}:${site.port}/`))?.body;
      if (body !== '<h1>legacy shop</h1>\n') await new Promise((r) => setTimeout(r, 250));
    }
    expect(body).toBe('<h1>legacy shop</h1>\n');
  }, 420_000);

  it('left the source exactly as it was: every file, mode, owner, size, time and hash (but its own logs of being read)', () => {
    const after = listing(legacy.rootfs);
    expect(after.split('\n').length).toBeGreaterThan(5000);
    expect(after).toBe(before);
  });
});

describe('preflight in the admin console', () => {
  let panel: TestPanel;
  let legacy: LegacyHost;

  beforeAll(async () => {
    legacy = await legacyUp();
    panel = await startTestPanel({ background: false });
    await registerNode(panel, labNode(1));
  }, 600_000);
  afterAll(async () => panel?.close());

  it('takes the login in a form and shows the report before anything is copied', async () => {
    panel.ctx.repos.admins.insert(newId('adm'), 'import-admin@kura.example', await hashPassword('admin-password-1'), nowIso());
    const admin = new WebClient(panel);
    expect((await admin.login('import-admin@kura.example', 'admin-password-1')).statusCode).toBe(303);
    expect((await admin.page('/admin/imports')).statusCode).toBe(200);
    const refused = await admin.post('/admin/imports/preflight', { host: legacy.host, port: '22', user: 'root', password: '' });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('give source.password or source.privateKey');
    const started = await admin.post('/admin/imports/preflight', { host: legacy.host, port: '22', user: 'root', password: legacy.password });
    expect(started.statusCode).toBe(303);
    const opId = String(started.headers.location).split('/').pop()!;
    expect((await waitOperation(panel, opId, 120)).status).toBe('succeeded');
    const report = await admin.page(`/admin/imports/${opId}`);
    expect(report.statusCode).toBe(200);
    expect(report.body).toContain('Debian GNU/Linux 12 (bookworm)');
    expect(report.body).toContain('data-code="device-nodes" data-severity="warning"');
    expect(report.body).toContain('/etc/nginx/sites-available/default:2 10.231.251.2');
    // The password is nowhere on the page, nor in the operation as stored.
    expect(report.body).not.toContain(legacy.password);
    expect(JSON.stringify(panel.ctx.repos.operations.get(opId))).not.toContain(legacy.password);
    // The import form on the report: a bad name comes back to the report with the reason; nothing is made.
    expect(report.body).toContain('data-testid="import-form"');
    const seed = await seedCustomer(panel, { email: 'import-web@kura.example', plan: { diskMb: 1024 } });
    const bad = await admin.post(`/admin/imports/${opId}/import`, { name: 'Bad Name', customerId: seed.customerId, planId: seed.planId });
    expect(bad.statusCode).toBe(303);
    expect(String(bad.headers.location)).toMatch(new RegExp(`^/admin/imports/${opId}\\?error=`));
    expect((await admin.page(String(bad.headers.location))).body).toContain('data-testid="import-error"');
    expect((await panel.api('GET', `/environments?customerId=${seed.customerId}`)).body.items).toEqual([]);
  }, 180_000);
});
