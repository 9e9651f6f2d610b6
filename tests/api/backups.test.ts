// Backups through the API and the panel's own bookkeeping, over fake nodes: what needs no node to check.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupAlerts, startDueBackups } from '../../server/services/backups.js';
import { repositoryOf } from '../../server/services/backup-repository.js';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import { createEnvironment, waitOperation } from '../helpers/panel.js';
import { WebClient } from '../helpers/web.js';
import { hashPassword } from '../../server/lib/secrets.js';
import { newId, nowIso } from '../../server/lib/ids.js';

describe('backups over the API (fake nodes)', () => {
  let fleet: FakeFleet;
  let customerId: string;
  let otherToken: string;
  let token: string;
  let envId: string;
  let dailyPlan: string;

  beforeAll(async () => {
    fleet = await startFakeFleet();
    fleet.addNode('n1', { cpus: 8, memoryMb: 8192 });
    const api = fleet.panel.api;
    customerId = (await api('POST', '/customers', { name: 'Shop', email: 'shop@kura.example', password: 'password-123' })).body.id;
    const other = (await api('POST', '/customers', { name: 'Other', email: 'other@kura.example' })).body.id;
    token = (await api('POST', `/customers/${customerId}/tokens`, { name: 't' })).body.token;
    otherToken = (await api('POST', `/customers/${other}/tokens`, { name: 't' })).body.token;
    dailyPlan = (await api('POST', '/plans', { name: 'daily', cpus: 1, memoryMb: 256, diskMb: 512, pids: 64,
      backups: { schedule: 'daily', keepLast: 3 } })).body.id;
    envId = (await createEnvironment(fleet.panel, { name: 'site', templateId: 'web', planId: dailyPlan, customerId })).id;
  });
  afterAll(async () => fleet.close());

  it('plans carry a backup policy: defaults, partial changes, and bounds', async () => {
    const plan = (await fleet.panel.api('GET', `/plans/${dailyPlan}`)).body;
    expect(plan.backups).toEqual({ schedule: 'daily', keepLast: 3, keepDaily: 7, keepWeekly: 4, storageMb: null });
    const patched = await fleet.panel.api('PATCH', `/plans/${dailyPlan}`, { backups: { keepWeekly: 2, storageMb: 500 } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.backups).toEqual({ schedule: 'daily', keepLast: 3, keepDaily: 7, keepWeekly: 2, storageMb: 500 });
    for (const bad of [{ schedule: 'hourly' }, { keepLast: 0 }, { keepDaily: -1 }, { storageMb: 0 }, { extra: 1 }]) {
      const res = await fleet.panel.api('PATCH', `/plans/${dailyPlan}`, { backups: bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    expect((await fleet.panel.api('GET', `/plans/${dailyPlan}`)).body.backups.keepWeekly).toBe(2);
    await fleet.panel.api('PATCH', `/plans/${dailyPlan}`, { backups: { storageMb: null } });
  });

  it('a node that cannot snapshot fails the backup with the reason; it stays listed, on the dashboard and in the events', async () => {
    const res = await fleet.panel.api('POST', `/environments/${envId}/backups`, { note: 'first' }, { token });
    expect(res.status, res.text).toBe(202);
    expect(res.body.backup).toMatchObject({ status: 'running', kind: 'manual', keep: false, note: 'first', environmentId: envId });
    const op = await waitOperation(fleet.panel, res.body.operation.id);
    expect(op.status).toBe('failed');
    const backup = (await fleet.panel.api('GET', `/backups/${res.body.backup.id}`, undefined, { token })).body;
    expect(backup.status).toBe('failed');
    expect(backup.error).toMatch(/btrfs/);
    expect(backupAlerts(fleet.panel.ctx).find((a) => a.environmentId === envId)).toMatchObject({ kind: 'failed' });
    // Nothing to restore, download or browse from a failed backup.
    expect((await fleet.panel.api('POST', `/backups/${backup.id}/restore`, { target: 'same' }, { token })).status).toBe(409);
    expect((await fleet.panel.api('GET', `/backups/${backup.id}/download`, undefined, { token })).status).toBe(409);
    expect((await fleet.panel.api('GET', `/backups/${backup.id}/files`, undefined, { token })).status).toBe(409);
    // Another customer sees none of it.
    expect((await fleet.panel.api('GET', `/backups/${backup.id}`, undefined, { token: otherToken })).status).toBe(404);
    expect((await fleet.panel.api('GET', `/environments/${envId}/backups`, undefined, { token: otherToken })).status).toBe(404);
  });

  it('the daily schedule starts one backup per day per environment', async () => {
    const before = fleet.panel.ctx.repos.backups.byEnvironment(envId).filter((b) => b.kind === 'scheduled').length;
    expect(startDueBackups(fleet.panel.ctx)).toBe(1);
    expect(startDueBackups(fleet.panel.ctx)).toBe(0);
    expect(startDueBackups(fleet.panel.ctx, Date.now() + 23 * 3600_000)).toBe(0);
    const scheduled = fleet.panel.ctx.repos.backups.byEnvironment(envId).filter((b) => b.kind === 'scheduled');
    expect(scheduled.length).toBe(before + 1);
    for (const b of scheduled) await waitOperation(fleet.panel, fleet.panel.ctx.repos.operations.latestOf('backup', b.id)!.id);
    expect(startDueBackups(fleet.panel.ctx, Date.now() + 24 * 3600_000 + 1000)).toBe(1);
    for (const b of fleet.panel.ctx.repos.backups.byEnvironment(envId).filter((x) => x.status === 'running')) {
      await waitOperation(fleet.panel, fleet.panel.ctx.repos.operations.latestOf('backup', b.id)!.id);
    }
  });

  it('a daily environment with no good backup for more than a day is a missed backup on the dashboard', () => {
    const alerts = backupAlerts(fleet.panel.ctx, Date.now() + 27 * 3600_000);
    expect(alerts.find((a) => a.environmentId === envId)?.kind).toBe('failed');
    // Once its last backup is not a failure, the alert says missed.
    fleet.panel.ctx.repos.db.prepare("UPDATE backups SET status = 'succeeded', snapshot_id = 'x', created_at = '2020-01-01T00:00:00.000Z' WHERE environment_id = ?").run(envId);
    expect(backupAlerts(fleet.panel.ctx).find((a) => a.environmentId === envId)).toMatchObject({ kind: 'missed' });
    fleet.panel.ctx.repos.db.prepare('DELETE FROM backups WHERE environment_id = ?').run(envId);
  });

  it('refuses a backup once the customer\'s backups take what the plan allows', async () => {
    await fleet.panel.api('PATCH', `/plans/${dailyPlan}`, { backups: { storageMb: 1 } });
    const repo = repositoryOf(fleet.panel.ctx, customerId);
    fs.mkdirSync(path.join(repo.path, 'data'), { recursive: true });
    fs.writeFileSync(path.join(repo.path, 'data', 'pack'), Buffer.alloc(2 * 1048576));
    const res = await fleet.panel.api('POST', `/environments/${envId}/backups`, {}, { token });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('quota_exceeded');
    expect(fleet.panel.ctx.repos.backups.byEnvironment(envId)).toEqual([]);
    fs.rmSync(repo.path, { recursive: true, force: true });
    await fleet.panel.api('PATCH', `/plans/${dailyPlan}`, { backups: { storageMb: null } });
  });

  it('the customer panel shows the backups page with the storage and the plan\'s schedule, escaped', async () => {
    const hostile = '<script>alert(1)</script>';
    await fleet.panel.api('POST', `/environments/${envId}/backups`, { note: hostile }, { token });
    const web = new WebClient(fleet.panel);
    expect((await web.login('shop@kura.example', 'password-123')).statusCode).toBe(303);
    const page = await web.page(`/panel/environments/${envId}/backups`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('data-testid="backup-storage-used"');
    expect(page.body).toContain('Backed up every day');
    expect(page.body).not.toContain(hostile);
    expect(page.body).toContain('&lt;script&gt;');
    const other = (await fleet.panel.api('POST', '/customers', { name: 'Third', email: 'third@kura.example', password: 'password-456' })).body.id;
    expect(other).toBeTruthy();
    const third = new WebClient(fleet.panel);
    expect((await third.login('third@kura.example', 'password-456')).statusCode).toBe(303);
    expect((await third.page(`/panel/environments/${envId}/backups`)).statusCode).toBe(404);
  });

  it('lists backups newest first, a page at a time', async () => {
    const env = await createEnvironment(fleet.panel, { name: 'paged', templateId: 'web', planId: dailyPlan, customerId });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fleet.panel.api('POST', `/environments/${env.id}/backups`, { note: `n${i}` }, { token });
      expect(res.status).toBe(202);
      await waitOperation(fleet.panel, res.body.operation.id);
      ids.push(res.body.backup.id);
    }
    const first = await fleet.panel.api('GET', `/environments/${env.id}/backups?limit=2`, undefined, { token });
    expect(first.body.items.map((b: any) => b.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.nextCursor).toBe(ids[1]);
    const second = await fleet.panel.api('GET', `/environments/${env.id}/backups?limit=2&cursor=${first.body.nextCursor}`, undefined, { token });
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
    expect((await fleet.panel.api('GET', `/environments/${env.id}/backups?cursor=bkp_00000000000000000000`, undefined, { token })).status).toBe(400);
  });

  it('shows an admin the customer\'s backup storage and a deleted environment\'s backups, with a way to bring one back', async () => {
    const ctx = fleet.panel.ctx;
    const b = ctx.repos.backups.insert({ id: 'bkp_kept0000000000000000', environmentId: 'env_gone0000000000000000', customerId, environmentName: 'gone-site',
      templateId: 'web', planId: dailyPlan, nodeId: 'node_x', kind: 'manual', keep: false, note: '' });
    ctx.repos.backups.succeed(b.id, { snapshotId: 'a'.repeat(64), sizeBytes: 3 * 1048576, addedBytes: 1048576, frozenMs: 40 });
    ctx.repos.backups.expireEnvironment(b.environmentId, new Date(Date.now() + 7 * 86400_000).toISOString());
    ctx.repos.admins.insert(newId('adm'), 'backup-admin@kura.example', await hashPassword('admin-password-1'), nowIso());
    const admin = new WebClient(fleet.panel);
    expect((await admin.login('backup-admin@kura.example', 'admin-password-1')).statusCode).toBe(303);
    const page = await admin.page(`/admin/customers/${customerId}`);
    expect(page.statusCode).toBe(200);
    const section = page.body.slice(page.body.indexOf('data-testid="customer-backups"'));
    expect(section).toContain('gone-site');
    expect(section).toContain(`action="/panel/backups/${b.id}/restore"`);
    // The customer does not see it: their environment is gone.
    expect((await fleet.panel.api('GET', `/backups/${b.id}`, undefined, { token })).status).toBe(404);
    expect((await fleet.panel.api('GET', `/backups/${b.id}`)).status).toBe(200);
  });
});
