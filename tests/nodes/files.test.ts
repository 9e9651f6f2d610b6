// SFTP (OpenSSH's own sftp and ssh-keygen as the customer's tools) and the file API, on real lab nodes.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { startSftp, type SftpEndpoint } from '../../server/sftp/server.js';
import { sftpHostKey } from '../../server/services/sftp-host-key.js';
import { docker, dockerResult, httpGet, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';
import { sftpClient, type SftpClient } from '../helpers/sftp.js';
import { until } from '../helpers/waiting.js';

const PASSWORD = 'files-password-1';
const OTHER_PASSWORD = 'files-password-2';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('customer files over SFTP and the file API', () => {
  let panel: TestPanel;
  let endpoint: SftpEndpoint;
  let a: Seed;
  let b: Seed;
  let site: any;
  let nodeId: string;
  let alice: SftpClient;
  let bob: SftpClient;
  const node = () => labNode(1);
  const inContainer = (env: { id: string }, ...cmd: string[]) => docker(node(), 'exec', containerName(env.id), ...cmd);
  const url = (env: any, p = '/') => `http://${env.endpoints[0].host}:${env.endpoints[0].port}${p}`;

  beforeAll(async () => {
    panel = await startTestPanel({ background: true });
    endpoint = await startSftp(panel.ctx, { host: '127.0.0.1', port: 0 });
    nodeId = await registerNode(panel, node());
    a = await seedCustomer(panel, { email: 'files-a@kura.example' });
    b = await seedCustomer(panel, { email: 'files-b@kura.example' });
    expect((await panel.api('PATCH', `/customers/${a.customerId}`, { password: PASSWORD })).status).toBe(200);
    expect((await panel.api('PATCH', `/customers/${b.customerId}`, { password: OTHER_PASSWORD })).status).toBe(200);
    [alice, bob] = await Promise.all([sftpClient(), sftpClient()]);
    const hostKey = sftpHostKey(panel.ctx).publicKey;
    alice.trust(endpoint.port, hostKey);
    bob.trust(endpoint.port, hostKey);
    expect((await panel.api('POST', `/customers/${a.customerId}/ssh-keys`, { name: 'laptop', publicKey: alice.publicKey }, { token: a.customerToken })).status).toBe(201);
    expect((await panel.api('POST', `/customers/${b.customerId}/ssh-keys`, { name: 'laptop', publicKey: bob.publicKey }, { token: b.customerToken })).status).toBe(201);
    site = await createEnvironment(panel, { name: 'site', templateId: 'static-site', planId: a.planId, customerId: a.customerId, nodeId });
  }, 120_000);
  afterAll(async () => {
    await endpoint?.close();
    await panel?.close();
    for (const c of [alice, bob]) if (c) fs.rmSync(c.dir, { recursive: true, force: true });
  });

  it('shows where to connect, and the host key the customer checks is the one the endpoint presents', async () => {
    expect(site.sftp).toEqual({ host: '127.0.0.1', port: 2222, username: site.id });
    const fp = execFileSync('ssh-keygen', ['-l', '-f', '-'], { input: `${sftpHostKey(panel.ctx).publicKey}\n` }).toString();
    expect(fp).toContain(sftpHostKey(panel.ctx).fingerprint);
    // StrictHostKeyChecking=yes with only that key known: a login succeeds only if the endpoint presents it.
    const r = await alice.batch({ port: endpoint.port, user: site.id, commands: ['pwd'] });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Remote working directory: /');
  });

  it('logs in with a key, uploads the site, lists and downloads it; the site serves the upload as the template\'s user', async () => {
    const page = `<h1>uploaded ${randomBytes(4).toString('hex')}</h1>\n`;
    const local = path.join(alice.dir, 'index.html');
    fs.writeFileSync(local, page);
    const big = path.join(alice.dir, 'photo.bin');
    fs.writeFileSync(big, randomBytes(3 * 1024 * 1024 + 17));
    const back = path.join(alice.dir, 'photo.back');
    const r = await alice.batch({ port: endpoint.port, user: site.id, commands: [
      `put ${local} /index.html`, 'mkdir img', `put ${big} img/photo.bin`, 'ls -l', 'ls -l img', `get img/photo.bin ${back}`,
    ] });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/index\.html/);
    expect(r.stdout).toMatch(/photo\.bin/);
    expect(sha(fs.readFileSync(back))).toBe(sha(fs.readFileSync(big)));
    const served = await httpGet(url(site));
    expect(served?.body).toBe(page);
    expect((await inContainer(site, 'stat', '-c', '%u:%g', '/srv/www/index.html', '/srv/www/img/photo.bin')).trim().split('\n')).toEqual(['1000:1000', '1000:1000']);
    expect((await inContainer(site, 'sha256sum', '/srv/www/img/photo.bin')).split(' ')[0]).toBe(sha(fs.readFileSync(big)));
  });

  it('logs in with the customer\'s password; a wrong one, and another customer\'s password or key, are refused and audited', async () => {
    const ok = await alice.batch({ port: endpoint.port, user: site.id, password: PASSWORD, commands: ['ls'] });
    expect(ok.code, ok.stderr).toBe(0);
    const wrong = await alice.batch({ port: endpoint.port, user: site.id, password: 'not-the-password', commands: ['ls'] });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/Permission denied/);
    const otherPassword = await bob.batch({ port: endpoint.port, user: site.id, password: OTHER_PASSWORD, commands: ['ls'] });
    expect(otherPassword.code).not.toBe(0);
    const otherKey = await bob.batch({ port: endpoint.port, user: site.id, commands: ['ls'] });
    expect(otherKey.code).not.toBe(0);
    expect(otherKey.stderr).toMatch(/Permission denied \(publickey/);
    const log = panel.ctx.repos.audit.list({ limit: 50 }).filter((e) => e.via === 'sftp');
    expect(log.some((e) => e.action === 'sftp.login' && e.resourceId === site.id && e.customerId === a.customerId && e.detail === 'method=password')).toBe(true);
    expect(log.some((e) => e.action === 'sftp.login' && e.detail?.startsWith('method=publickey key=SHA256:'))).toBe(true);
    const failed = log.filter((e) => e.action === 'sftp.login.failed' && e.resourceId === site.id);
    expect(failed.map((e) => e.detail)).toEqual(expect.arrayContaining([expect.stringContaining('reason=wrong password')]));
    expect(failed.every((e) => e.ip === '127.0.0.1' && e.status === 401)).toBe(true);
  });

  it('never leaves the data folder over SFTP: not by .., an absolute path, nor a planted symlink', async () => {
    await inContainer(site, 'ln', '-sfn', '/etc', '/srv/www/evil');
    await inContainer(site, 'ln', '-sfn', '/etc/passwd', '/srv/www/pw');
    const out = path.join(alice.dir, 'stolen');
    for (const command of [`get ../../etc/passwd ${out}`, `get /etc/passwd ${out}`, `get evil/passwd ${out}`, `get pw ${out}`, 'cd evil', 'cd /etc']) {
      const r = await alice.batch({ port: endpoint.port, user: site.id, commands: [command] });
      expect(r.code, `${command} should fail`).not.toBe(0);
      expect(fs.existsSync(out)).toBe(false);
    }
    // Listing through the link shows the link itself, never what is behind it.
    for (const command of ['ls evil/', 'ls -l evil/*', 'ls ../../etc', 'ls /etc']) {
      const r = await alice.batch({ port: endpoint.port, user: site.id, commands: [`-${command}`] });
      expect(r.stdout, command).not.toMatch(/passwd|hostname|group/);
    }
    const up = await alice.batch({ port: endpoint.port, user: site.id, commands: [`put ${path.join(alice.dir, 'index.html')} evil/kura-was-here`] });
    expect(up.code).not.toBe(0);
    expect((await dockerResult(node(), 'exec', containerName(site.id), 'test', '-e', '/etc/kura-was-here')).code).not.toBe(0);
    // `cd ..` at the top stays at the top, as in a chroot.
    const top = await alice.batch({ port: endpoint.port, user: site.id, commands: ['cd ..', 'pwd', 'ls'] });
    expect(top.stdout).toContain('Remote working directory: /');
    expect(top.stdout).toContain('index.html');
  });

  it('the file API lists, writes, reads, renames and deletes; an admin may too; another customer gets 404', async () => {
    const api = (method: string, p: string, body?: unknown, token: string | null = a.customerToken) =>
      panel.api(method, `/environments/${site.id}${p}`, body, { token });
    const put = (p: string, bytes: string, token = a.customerToken) => panel.app.inject({ method: 'PUT', url: `/api/v1/environments/${site.id}/files/content?path=${encodeURIComponent(p)}`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: bytes });
    expect((await put('notes/a.json', '{"not": "parsed"')).statusCode).toBe(404);
    expect((await api('POST', '/files/actions', { action: 'mkdir', path: 'notes' })).status).toBe(204);
    expect((await put('notes/a.json', '{"not": "parsed"')).statusCode).toBe(204);
    const list = await api('GET', '/files?path=notes');
    expect(list.body.items).toEqual([expect.objectContaining({ name: 'a.json', type: 'file', size: 16, mode: 0o644 })]);
    expect((await api('GET', '/files/content?path=notes/a.json')).text).toBe('{"not": "parsed"');
    expect((await api('POST', '/files/actions', { action: 'rename', path: 'notes/a.json', to: 'notes/b.json' })).status).toBe(204);
    expect((await api('POST', '/files/actions', { action: 'rename', path: 'notes/b.json', to: 'index.html' })).status).toBe(409);
    expect((await panel.api('GET', `/environments/${site.id}/files?path=notes`)).status).toBe(200); // the admin token
    expect((await api('GET', '/files?path=notes', undefined, b.customerToken)).status).toBe(404);
    expect((await put('notes/c.txt', 'x', b.customerToken)).statusCode).toBe(404);
    const archive = await panel.app.inject({ method: 'GET', url: `/api/v1/environments/${site.id}/files/content?path=notes&archive=true`,
      headers: { authorization: `Bearer ${a.customerToken}` } });
    expect(archive.headers['content-type']).toBe('application/gzip');
    const tgz = path.join(alice.dir, 'notes.tgz');
    fs.writeFileSync(tgz, archive.rawPayload);
    expect(execFileSync('tar', ['-tzf', tgz]).toString()).toMatch(/b\.json/);
    expect((await api('POST', '/files/actions', { action: 'delete', path: 'notes' })).status).toBe(204);
    expect((await api('GET', '/files?path=notes')).status).toBe(404);
    const audit = panel.ctx.repos.audit.list({ limit: 50 }).filter((e) => e.resourceId === site.id && e.action.startsWith('file.'));
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['file.mkdir', 'file.write', 'file.rename', 'file.delete']));
  });

  it('a session clears what an upload cut off by a killed panel left, once it is an hour old', async () => {
    await inContainer(site, 'sh', '-c', 'mkdir -p /srv/www/deep && touch -d @1000000000 /srv/www/deep/.kura-upload-0123456789ab && touch /srv/www/.kura-upload-fresh');
    const r = await alice.batch({ port: endpoint.port, user: site.id, commands: ['ls'] });
    expect(r.code, r.stderr).toBe(0);
    await until('the stale upload is removed', async () =>
      ((await dockerResult(node(), 'exec', containerName(site.id), 'test', '-e', '/srv/www/deep/.kura-upload-0123456789ab')).code !== 0 ? true : null), 10_000);
    // One still being written (or just cut off) stays.
    expect((await dockerResult(node(), 'exec', containerName(site.id), 'test', '-e', '/srv/www/.kura-upload-fresh')).code).toBe(0);
    await inContainer(site, 'rm', '-rf', '/srv/www/deep', '/srv/www/.kura-upload-fresh');
  });

  it('the file API refuses paths out of the data folder with 400 and changes nothing', async () => {
    await inContainer(site, 'ln', '-sfn', '/etc', '/srv/www/evil');
    const before = await inContainer(site, 'sh', '-c', 'ls -la /etc /srv/www | md5sum');
    for (const p of ['../etc', '/etc/passwd', 'evil/passwd', 'evil', 'a/../../etc']) {
      const get = await panel.api('GET', `/environments/${site.id}/files/content?path=${encodeURIComponent(p)}`, undefined, { token: a.customerToken });
      expect(get.status, p).toBe(400);
      expect(get.body.error.details.field).toBe('path');
      const write = await panel.app.inject({ method: 'PUT', url: `/api/v1/environments/${site.id}/files/content?path=${encodeURIComponent(`${p}/x`)}`,
        headers: { authorization: `Bearer ${a.customerToken}` }, payload: 'x' });
      expect(write.statusCode, p).toBe(400);
      for (const action of [{ action: 'mkdir', path: `${p}/d` }, { action: 'delete', path: `${p}/x` }, { action: 'rename', path: 'index.html', to: `${p}/i` }]) {
        expect((await panel.api('POST', `/environments/${site.id}/files/actions`, action, { token: a.customerToken })).status, JSON.stringify(action)).toBe(400);
      }
    }
    expect(await inContainer(site, 'sh', '-c', 'ls -la /etc /srv/www | md5sum')).toBe(before);
  });

  it('an upload past the disk quota fails with a clear error, keeps nothing, and the environment keeps serving', async () => {
    const plan = await panel.api('POST', '/plans', { name: 'files-tiny', cpus: 0.5, memoryMb: 128, diskMb: 64, pids: 64 });
    const tiny = await createEnvironment(panel, { name: 'tiny', templateId: 'static-site', planId: plan.body.id, customerId: a.customerId, nodeId });
    const big = path.join(alice.dir, 'too-big.bin');
    fs.writeFileSync(big, randomBytes(80 * 1024 * 1024));
    const r = await alice.batch({ port: endpoint.port, user: tiny.id, commands: [`put ${big} too-big.bin`] });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/too-big\.bin/);
    expect((await inContainer(tiny, 'ls', '/srv/www')).trim()).toBe('index.html');
    expect((await httpGet(url(tiny)))?.status).toBe(200);
    const api = await panel.app.inject({ method: 'PUT', url: `/api/v1/environments/${tiny.id}/files/content?path=big.bin`,
      headers: { authorization: `Bearer ${a.customerToken}` }, payload: fs.readFileSync(big) });
    expect(api.statusCode).toBe(409);
    expect(api.json().error.code).toBe('quota_exceeded');
    expect(api.json().error.message).toMatch(/disk is full \(64 MiB\)/);
    expect((await inContainer(tiny, 'ls', '-A', '/srv/www')).trim()).toBe('index.html');
    // Space is back: a small file still fits.
    fs.writeFileSync(path.join(alice.dir, 'ok.html'), '<p>ok</p>\n');
    const small = await alice.batch({ port: endpoint.port, user: tiny.id, commands: [`put ${path.join(alice.dir, 'ok.html')} ok.html`] });
    expect(small.code, small.stderr).toBe(0);
    fs.rmSync(big);
  }, 120_000);

  it('a stopped environment says why over SFTP and the API', async () => {
    const env = await createEnvironment(panel, { name: 'stopped', templateId: 'static-site', planId: a.planId, customerId: a.customerId, nodeId });
    const stop = await panel.api('POST', `/environments/${env.id}/actions`, { action: 'stop' });
    expect((await waitOperation(panel, stop.body.operation.id)).status).toBe('succeeded');
    const res = await panel.api('GET', `/environments/${env.id}/files`, undefined, { token: a.customerToken });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/stopped: start it/);
    const r = await alice.batch({ port: endpoint.port, user: env.id, commands: ['ls'] });
    expect(r.code).not.toBe(0);
  });

  it('throttles failed logins as the web login does: after five wrong passwords even the right one waits', async () => {
    const env = await createEnvironment(panel, { name: 'guarded', templateId: 'static-site', planId: a.planId, customerId: a.customerId, nodeId });
    for (let i = 0; i < 5; i++) {
      expect((await alice.batch({ port: endpoint.port, user: env.id, password: `guess-${i}`, commands: ['ls'] })).code).not.toBe(0);
    }
    const right = await alice.batch({ port: endpoint.port, user: env.id, password: PASSWORD, commands: ['ls'] });
    expect(right.code).not.toBe(0);
    // The throttle is per address and account: the same customer's other environment is not locked by it.
    expect((await alice.batch({ port: endpoint.port, user: site.id, password: PASSWORD, commands: ['ls'] })).code).toBe(0);
  }, 60_000);

  it('suspending the customer ends an open session, and no new login gets in', async () => {
    const child = alice.interactive({ port: endpoint.port, user: site.id });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.stdin!.write('pwd\n');
    await until('the session is open', async () => (out.includes('Remote working directory') ? true : null), 20_000);
    expect((await panel.api('POST', `/customers/${a.customerId}/suspend`)).status).toBe(200);
    // The endpoint disconnects it (OpenSSH's sftp then waits for its next command to notice).
    await until('the session is ended', async () => (/Received disconnect/.test(out) ? true : null), 15_000);
    child.stdin!.end('ls\n');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.on('exit', resolve)));
    const again = await alice.batch({ port: endpoint.port, user: site.id, commands: ['ls'] });
    expect(again.code).not.toBe(0);
    expect(panel.ctx.repos.audit.list({ limit: 20 }).some((e) => e.action === 'sftp.login.failed' && e.detail?.includes('customer suspended'))).toBe(true);
    expect((await panel.api('POST', `/customers/${a.customerId}/resume`)).status).toBe(200);
  }, 60_000);
});

describe('files on the Debian template', () => {
  let panel: TestPanel;
  let endpoint: SftpEndpoint;
  let client: SftpClient;

  beforeAll(async () => {
    panel = await startTestPanel({ background: true });
    endpoint = await startSftp(panel.ctx, { host: '127.0.0.1', port: 0 });
    client = await sftpClient();
    client.trust(endpoint.port, sftpHostKey(panel.ctx).publicKey);
  });
  afterAll(async () => {
    await endpoint?.close();
    await panel?.close();
    if (client) fs.rmSync(client.dir, { recursive: true, force: true });
  });

  it('uploads a page over SFTP that nginx serves', async () => {
    const nodeId = await registerNode(panel, labNode(2));
    const seed = await seedCustomer(panel);
    await panel.api('POST', `/customers/${seed.customerId}/ssh-keys`, { name: 'k', publicKey: client.publicKey });
    const env = await createEnvironment(panel, { name: 'deb', templateId: 'debian-nginx', planId: seed.planId, customerId: seed.customerId, nodeId });
    const page = `<p>debian ${randomBytes(4).toString('hex')}</p>\n`;
    fs.writeFileSync(path.join(client.dir, 'index.html'), page);
    const r = await client.batch({ port: endpoint.port, user: env.id, commands: [`put ${path.join(client.dir, 'index.html')} index.html`, 'ls'] });
    expect(r.code, r.stderr).toBe(0);
    const served = await until('nginx serves the upload', async () => {
      const res = await httpGet(`http://${env.endpoints[0].host}:${env.endpoints[0].port}/index.html`);
      return res?.body === page ? res : null;
    }, 10_000);
    expect(served.status).toBe(200);
  }, 180_000);
});
