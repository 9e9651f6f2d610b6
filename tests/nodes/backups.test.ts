// Environment backups with real restic and rclone, on real lab nodes: consistency, increments, restores, isolation.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { repositoryOf, restic as resticNow, withRepository, type Repository } from '../../server/services/backup-repository.js';
import type { Context } from '../../server/core/context.js';

/** restic on a repository in its turn, as the panel runs it: after any prune the panel is still running there (a delete prunes after answering). */
const restic = (ctx: Context, repo: Repository, args: string[]) => withRepository(ctx, repositoryOf(ctx, repo.customerId), 'shared', () => resticNow(ctx, repo, args));
import { docker, labNode, nodeBody } from '../helpers/lab.js';
import { ADMIN_TOKEN, createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';
import { spawnPanel, type PanelProcess } from '../helpers/process.js';

/** The files of a .tar.gz, by name. */
async function untar(gz: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => { ex.on('finish', resolve); ex.on('error', reject); });
  ex.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => { if (header.type === 'file') files.set(header.name, Buffer.concat(chunks)); next(); });
  });
  ex.end(gunzipSync(gz));
  await done;
  return files;
}

describe('environment backups', () => {
  let panel: TestPanel;
  let a: Seed;
  let b: Seed;
  let site: any;
  let nodeId: string;
  let node2Id: string;
  const node = () => labNode(1);
  const sh = (env: { id: string }, script: string, n = node()) => docker(n, 'exec', containerName(env.id), 'sh', '-c', script);
  /** Every file under /srv with its hash, sorted: what a restore must bring back exactly. */
  const fingerprint = (env: { id: string }, n = node()) => sh(env, 'cd /srv && find . -type f -exec sha256sum {} + | sort -k2', n);

  async function backUp(env: { id: string }, body: Record<string, unknown> = {}, token?: string): Promise<any> {
    const res = await panel.api('POST', `/environments/${env.id}/backups`, body, token ? { token } : {});
    expect(res.status, res.text).toBe(202);
    expect(res.body.operation.resource).toEqual({ type: 'backup', id: res.body.backup.id });
    const op = await waitOperation(panel, res.body.operation.id, 180);
    expect(op.status, JSON.stringify(op)).toBe('succeeded');
    return (await panel.api('GET', `/backups/${res.body.backup.id}`)).body;
  }

  beforeAll(async () => {
    panel = await startTestPanel({ background: false });
    nodeId = await registerNode(panel, node());
    node2Id = await registerNode(panel, labNode(2));
    a = await seedCustomer(panel, { email: 'backups-a@kura.example' });
    b = await seedCustomer(panel, { email: 'backups-b@kura.example' });
    site = await createEnvironment(panel, { name: 'site', templateId: 'static-site', planId: a.planId, customerId: a.customerId, nodeId });
  }, 120_000);
  afterAll(async () => {
    await panel?.close();
  });

  it('backs up without stopping, and a restore in place brings back exactly the files of the backup', async () => {
    await sh(site, 'echo "<h1>v1</h1>" > /srv/www/index.html && mkdir -p /srv/www/img && head -c 3000000 /dev/urandom > /srv/www/img/a.bin && echo keep > /srv/www/notes.txt');
    const before = await fingerprint(site);
    const backup = await backUp(site, { note: 'before the change' });
    expect(backup).toMatchObject({ environmentId: site.id, status: 'succeeded', kind: 'manual', keep: false, note: 'before the change' });
    expect(backup.sizeMb).toBeGreaterThan(2.5);
    expect(backup.frozenMs).toBeLessThan(1000);
    // Changed, deleted and new files.
    await sh(site, 'echo "<h1>v2</h1>" > /srv/www/index.html && rm /srv/www/notes.txt && echo new > /srv/www/new.txt');
    expect(await fingerprint(site)).not.toBe(before);
    const res = await panel.api('POST', `/backups/${backup.id}/restore`, { target: 'same' });
    expect(res.status, res.text).toBe(202);
    const op = await waitOperation(panel, res.body.operation.id, 180);
    expect(op.status, JSON.stringify(op)).toBe('succeeded');
    expect(await fingerprint(site)).toBe(before);
    expect((await panel.api('GET', `/environments/${site.id}`)).body.state).toBe('running');
  }, 300_000);

  it('captures a file being appended to at a state it really had: only whole records, in order', async () => {
    // 100-byte records, each written by one write(): a torn copy would end in a partial record.
    await sh(site, 'mkdir -p /srv/www/log && (i=0; while [ ! -e /tmp/stop-appending ]; do i=$((i+1)); printf "%08d %090d\n" $i $i >> /srv/www/log/app.log; done) >/dev/null 2>&1 &');
    await new Promise((r) => setTimeout(r, 700));
    const backup = await backUp(site, { note: 'while appending' });
    await sh(site, 'touch /tmp/stop-appending');
    const res = await panel.app.inject({ method: 'GET', url: `/api/v1/backups/${backup.id}/download`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/gzip');
    const files = await untar(res.rawPayload);
    expect(files.has('srv/www/index.html')).toBe(true);
    const log = files.get('srv/www/log/app.log')!.toString('utf8');
    expect(log.length).toBeGreaterThan(1000);
    expect(log.length % 100).toBe(0);
    const lines = log.split('\n').slice(0, -1);
    lines.forEach((line, i) => expect(line).toBe(`${String(i + 1).padStart(8, '0')} ${String(i + 1).padStart(90, '0')}`));
  }, 300_000);

  it('a second backup of a barely changed environment adds little; it restores into a new environment on another node', async () => {
    await sh(site, 'head -c 20000000 /dev/urandom > /srv/www/img/big.bin');
    const first = await backUp(site);
    await sh(site, 'head -c 1048576 /dev/urandom > /srv/www/img/small.bin');
    const second = await backUp(site);
    expect(first.addedMb).toBeGreaterThan(15);
    expect(second.addedMb).toBeLessThan(5);
    expect(second.sizeMb).toBeGreaterThan(first.sizeMb);
    const expected = await fingerprint(site);
    const res = await panel.api('POST', `/backups/${second.id}/restore`, { target: 'new', name: 'site-copy', nodeId: node2Id });
    expect(res.status, res.text).toBe(202);
    const op = await waitOperation(panel, res.body.operation.id, 180);
    expect(op.status, JSON.stringify(op)).toBe('succeeded');
    const copy = (await panel.api('GET', `/environments/${res.body.environment.id}`)).body;
    expect(copy).toMatchObject({ customerId: a.customerId, nodeId: node2Id, state: 'running', name: 'site-copy' });
    expect(await fingerprint(copy, labNode(2))).toBe(expected);
  }, 300_000);

  it('restores one file from the backup\'s file browser while the environment runs', async () => {
    await sh(site, 'echo "<p>about</p>" > /srv/www/about.html && chown 1000:1000 /srv/www/about.html');
    const backup = await backUp(site);
    const listing = await panel.api('GET', `/backups/${backup.id}/files?path=/srv/www`);
    expect(listing.status, listing.text).toBe(200);
    expect(listing.body.items.map((e: any) => e.name)).toEqual(expect.arrayContaining(['img', 'index.html', 'about.html']));
    expect(listing.body.items.find((e: any) => e.name === 'img').type).toBe('dir');
    await sh(site, 'rm /srv/www/about.html && echo changed > /srv/www/index.html');
    const res = await panel.api('POST', `/backups/${backup.id}/restore`, { target: 'same', path: '/srv/www/about.html' });
    expect(res.status, res.text).toBe(202);
    expect((await waitOperation(panel, res.body.operation.id, 120)).status).toBe('succeeded');
    expect(await sh(site, 'cat /srv/www/about.html; stat -c %u:%g /srv/www/about.html')).toBe('<p>about</p>\n1000:1000\n');
    // Only that file came back.
    expect(await sh(site, 'cat /srv/www/index.html')).toBe('changed\n');
    for (const bad of ['srv/www', '/srv/../etc', '/srv//www']) {
      expect((await panel.api('POST', `/backups/${backup.id}/restore`, { target: 'same', path: bad })).status).toBe(400);
    }
    expect((await panel.api('GET', `/backups/${backup.id}/files?path=/nowhere`)).status).toBe(404);
  }, 300_000);

  it('keeps each customer to their own backups and their own repository', async () => {
    const backup = (await panel.api('GET', `/environments/${site.id}/backups`, undefined, { token: a.customerToken })).body.items[0];
    expect(backup.environmentId).toBe(site.id);
    const other = { token: b.customerToken };
    expect((await panel.api('GET', `/backups/${backup.id}`, undefined, other)).status).toBe(404);
    expect((await panel.api('GET', `/environments/${site.id}/backups`, undefined, other)).status).toBe(404);
    expect((await panel.api('POST', `/environments/${site.id}/backups`, {}, other)).status).toBe(404);
    expect((await panel.api('POST', `/backups/${backup.id}/restore`, { target: 'same' }, other)).status).toBe(404);
    expect((await panel.api('POST', `/backups/${backup.id}/restore`, { target: 'new', name: 'stolen' }, other)).status).toBe(404);
    expect((await panel.api('DELETE', `/backups/${backup.id}`, undefined, other)).status).toBe(404);
    expect((await panel.app.inject({ method: 'GET', url: `/api/v1/backups/${backup.id}/download`, headers: { authorization: `Bearer ${b.customerToken}` } })).statusCode).toBe(404);
    // The customer's own token sees it; a customer cannot choose the node of a restore.
    expect((await panel.api('GET', `/backups/${backup.id}`, undefined, { token: a.customerToken })).status).toBe(200);
    expect((await panel.api('POST', `/backups/${backup.id}/restore`, { target: 'new', name: 'x', nodeId }, { token: a.customerToken })).status).toBe(403);
    // Separate repositories with separate passwords: b's password does not open a's repository.
    const repoA = repositoryOf(panel.ctx, a.customerId);
    const repoB = repositoryOf(panel.ctx, b.customerId);
    expect(repoA.path).not.toBe(repoB.path);
    expect(repoA.password).not.toBe(repoB.password);
    await expect(restic(panel.ctx, { ...repoA, password: repoB.password }, ['snapshots', '--json'])).rejects.toThrow();
    const snapshots = JSON.parse(await restic(panel.ctx, repoA, ['snapshots', '--json'])) as { hostname: string }[];
    expect(snapshots.every((sn) => sn.hostname === site.id || sn.hostname.startsWith('env'))).toBe(true);
  });

  it('retention keeps the plan\'s counts and the kept backups, and the repository agrees', async () => {
    const c = await seedCustomer(panel, { email: 'backups-c@kura.example', plan: { backups: { keepLast: 2, keepDaily: 0, keepWeekly: 0 } } });
    const env = await createEnvironment(panel, { name: 'kept', templateId: 'static-site', planId: c.planId, customerId: c.customerId, nodeId });
    const pinned = await backUp(env, { keep: true, note: 'pinned' }, c.customerToken);
    const taken = [];
    for (let i = 0; i < 4; i++) {
      await sh(env, `echo ${i} > /srv/www/n.txt`);
      taken.push(await backUp(env, {}, c.customerToken));
    }
    const listed = (await panel.api('GET', `/environments/${env.id}/backups`)).body.items.map((x: any) => x.id);
    expect(listed).toEqual([taken[3].id, taken[2].id, pinned.id]);
    const repo = repositoryOf(panel.ctx, c.customerId);
    const snapshots = JSON.parse(await restic(panel.ctx, repo, ['snapshots', '--json'])) as { tags: string[] }[];
    expect(snapshots.map((sn) => sn.tags.find((t) => t.startsWith('kura-backup='))!.slice(12)).sort()).toEqual([...listed].sort());
    // A deleted one is gone from the list and the repository.
    expect((await panel.api('DELETE', `/backups/${taken[2].id}`, undefined, { token: c.customerToken })).status).toBe(204);
    expect((await panel.api('GET', `/backups/${taken[2].id}`)).status).toBe(404);
    expect((JSON.parse(await restic(panel.ctx, repo, ['snapshots', '--json'])) as unknown[]).length).toBe(2);
  }, 300_000);

  it('keeps a deleted environment\'s backups for the grace period, restorable by an admin into a new environment', async () => {
    const env = await createEnvironment(panel, { name: 'gone', templateId: 'static-site', planId: b.planId, customerId: b.customerId, nodeId });
    await sh(env, 'echo "<h1>gone but kept</h1>" > /srv/www/index.html');
    const backup = await backUp(env, {}, b.customerToken);
    const del = await panel.api('DELETE', `/environments/${env.id}`);
    expect((await waitOperation(panel, del.body.operation.id)).status).toBe('succeeded');
    const listed = await panel.api('GET', `/environments/${env.id}/backups`);
    expect(listed.status).toBe(200);
    expect(Date.parse(listed.body.items[0].expiresAt) - Date.now()).toBeGreaterThan(6.9 * 24 * 3600_000);
    expect((await panel.api('GET', `/environments/${env.id}/backups`, undefined, { token: b.customerToken })).status).toBe(404);
    const res = await panel.api('POST', `/backups/${backup.id}/restore`, { target: 'new', name: 'back' });
    expect(res.status, res.text).toBe(202);
    expect((await waitOperation(panel, res.body.operation.id, 180)).status).toBe('succeeded');
    expect(res.body.environment.customerId).toBe(b.customerId);
    expect(await sh(res.body.environment, 'cat /srv/www/index.html', res.body.environment.nodeId === node2Id ? labNode(2) : node())).toBe('<h1>gone but kept</h1>\n');
  }, 300_000);

  it('refuses what it cannot do, changing nothing', async () => {
    const running = await panel.api('POST', `/environments/${site.id}/backups`, {});
    expect(running.status).toBe(202);
    const again = await panel.api('POST', `/environments/${site.id}/backups`, {});
    expect(again.status).toBe(409);
    expect((await panel.api('POST', `/backups/${running.body.backup.id}/restore`, { target: 'same' })).status).toBe(409);
    expect((await panel.api('DELETE', `/backups/${running.body.backup.id}`)).status).toBe(409);
    await waitOperation(panel, running.body.operation.id, 180);
    expect((await panel.api('POST', `/environments/${site.id}/backups`, { keep: 'yes' })).status).toBe(400);
    expect((await panel.api('POST', `/backups/${running.body.backup.id}/restore`, { target: 'elsewhere' })).status).toBe(400);
    expect((await panel.api('POST', '/environments/env_nope/backups', {})).status).toBe(404);
  }, 300_000);
});

describe('a panel killed in the middle of a backup', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-backup-kill-'));
  let panel: PanelProcess | null = null;
  afterAll(async () => {
    await panel?.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves the environment running and unfrozen, and the backup failed and listed; the next backup works', async () => {
    panel = await spawnPanel(dataDir, 3931);
    const node = await panel.api('POST', '/nodes', nodeBody(labNode(3)));
    expect(node.status).toBe(201);
    const plan = await panel.api('POST', '/plans', { name: 'big', cpus: 0.5, memoryMb: 128, diskMb: 1024, pids: 64 });
    const customer = await panel.api('POST', '/customers', { name: 'Killed', email: 'killed@example.com' });
    const created = await panel.api('POST', '/environments', { name: 'busy', templateId: 'static-site', planId: plan.body.id, customerId: customer.body.id });
    const envId = created.body.environment.id as string;
    for (let i = 0; i < 120 && (await panel.api('GET', `/operations/${created.body.operation.id}`)).body.status !== 'succeeded'; i++) await new Promise((r) => setTimeout(r, 250));
    await docker(labNode(3), 'exec', containerName(envId), 'sh', '-c', 'for i in 1 2 3 4 5 6; do head -c 40000000 /dev/urandom > /srv/www/f$i.bin; done');
    const started = await panel.api('POST', `/environments/${envId}/backups`, {});
    expect(started.status).toBe(202);
    // Killed once restic is copying.
    for (let i = 0; i < 400; i++) {
      const op = (await panel.api('GET', `/operations/${started.body.operation.id}`)).body;
      if (op.progress >= 10 || op.status !== 'running' && op.status !== 'queued') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    await panel.kill('SIGKILL');
    const state = JSON.parse(await docker(labNode(3), 'inspect', '-f', '{{json .State}}', containerName(envId)));
    expect(state).toMatchObject({ Running: true, Paused: false });

    panel = await spawnPanel(dataDir, 3931);
    let backup: any;
    for (let i = 0; i < 200; i++) {
      backup = (await panel.api('GET', `/backups/${started.body.backup.id}`)).body;
      if (backup.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(backup).toMatchObject({ status: 'failed' });
    expect(backup.error).toMatch(/panel stopped/);
    expect((await panel.api('GET', `/environments/${envId}/backups`)).body.items.map((x: any) => x.id)).toContain(backup.id);
    const after = JSON.parse(await docker(labNode(3), 'inspect', '-f', '{{json .State}}', containerName(envId)));
    expect(after).toMatchObject({ Running: true, Paused: false });
    // No snapshot is left behind on the node, and the next backup (the repository's stale lock cleared) succeeds.
    const helper = (await docker(labNode(3), 'ps', '-q', '--filter', 'label=io.kura.backup')).trim().split('\n')[0]!;
    const snapshots = await docker(labNode(3), 'exec', helper, '/bin/busybox', 'ls', '/docker/kura-snapshots');
    expect(snapshots.trim()).toBe('');
    const next = await panel.api('POST', `/environments/${envId}/backups`, {});
    expect(next.status).toBe(202);
    let op: any;
    for (let i = 0; i < 600; i++) {
      op = (await panel.api('GET', `/operations/${next.body.operation.id}`)).body;
      if (op.status === 'succeeded' || op.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(op.status, JSON.stringify(op)).toBe('succeeded');
    await panel.api('DELETE', `/environments/${envId}`);
  }, 300_000);
});
