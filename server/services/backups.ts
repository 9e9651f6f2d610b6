import type { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { backupPathRefusal, DEFAULT_BACKUP_POLICY, MISSED_AFTER_MS, retentionRemoves, scheduledBackupDue, toMb, type Backup, type BackupKind, type BackupPolicy } from '../domain/backups.js';
import { maySee } from '../domain/access.js';
import type { Environment, Principal } from '../domain/types.js';
import { BadRequestError, ConflictError, ForbiddenError, KuraError, NotFoundError, errorMessage } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { OperationOf } from '../db/repos/operations.js';
import type { Context } from '../core/context.js';
import { ensureRepository, repositoryOf, repositoryExists, repositorySize, restic, withRepository } from './backup-repository.js';
import { backupEntry, backupTar, dropStaleSnapshots, listBackupFolder, type BackupEntry } from './backup-runs.js';
import { transferSlot } from './files.js';
import { assertFewPending, assertNodeOnline, assertSettled, createEnvironment, environmentFor } from './environments.js';
import { startOperation } from './operations.js';

/** The public view of a backup, as the contract shapes it (and a few more fields). */
export function backupView(b: Backup) {
  return {
    id: b.id, environmentId: b.environmentId, status: b.status, kind: b.kind, keep: b.keep, sizeMb: toMb(b.sizeBytes), addedMb: toMb(b.addedBytes),
    note: b.note, createdAt: b.createdAt, finishedAt: b.finishedAt,
    environmentName: b.environmentName, frozenMs: b.frozenMs, error: b.error, expiresAt: b.expiresAt,
  };
}

export function publishBackup(ctx: Context, id: string): void {
  const b = ctx.repos.backups.get(id);
  if (b) ctx.updates.publish({ type: 'backup', customerId: b.customerId, data: backupView(b) });
}

/** The backup if the caller may see it; another customer's answers exactly like a missing one. A deleted environment's backups are the admins'. */
export function backupFor(ctx: Context, who: Principal, id: string): Backup {
  const b = ctx.repos.backups.get(id);
  if (!b || !maySee(who, b.customerId) || (who.kind === 'customer' && b.expiresAt !== null)) throw new NotFoundError('backup', id);
  return b;
}

/** The environment's plan's backup policy (the default one when the plan is gone). */
export function policyOf(ctx: Context, env: Pick<Environment, 'planId'>): BackupPolicy {
  return ctx.repos.plans.get(env.planId)?.backups ?? DEFAULT_BACKUP_POLICY;
}

const MIB = 1048576;

/** What a customer's backups take in their repository, and the cap the plan of `env` sets. */
export function backupStorage(ctx: Context, customerId: string, env?: Pick<Environment, 'planId'>): { usedMb: number; capMb: number | null } {
  const repo = repositoryOf(ctx, customerId);
  return { usedMb: toMb(repositorySize(repo)), capMb: env ? policyOf(ctx, env).storageMb : null };
}

export interface BackupInput {
  note?: string | undefined;
  keep?: boolean | undefined;
}

/**
 * Starts a backup of an environment. Refused (changing nothing) while another of its backups
 * runs, while it is being made, moved or deleted, when its node is offline, and when the
 * customer's backups already take what the plan allows.
 */
export function createBackup(ctx: Context, who: Principal, environmentId: string, input: BackupInput, kind: BackupKind = 'manual'):
  { backup: Backup; operation: OperationOf<'backup'> } {
  const env = environmentFor(ctx, who, environmentId);
  assertSettled(env);
  assertNodeOnline(ctx, env);
  if (!env.containerId) throw new ConflictError('the environment has no container yet; wait for its operation');
  const cap = policyOf(ctx, env).storageMb;
  if (cap !== null) {
    const used = repositorySize(repositoryOf(ctx, env.customerId), true);
    if (used >= cap * MIB) {
      throw new KuraError('quota_exceeded', `backups already take ${toMb(used)} MiB of the ${cap} MiB the plan allows; delete some before taking another`,
        { usedMb: toMb(used), capMb: cap });
    }
  }
  const id = newId('bkp');
  let backup: Backup | undefined;
  const operation = startOperation(ctx, { kind: 'backup', resourceId: id, customerId: env.customerId, params: {} }, () => {
    if (ctx.repos.backups.byEnvironment(env.id).some((b) => b.status === 'running')) {
      throw new ConflictError('a backup of this environment is already running; wait for it');
    }
    backup = ctx.repos.backups.insert({ id, environmentId: env.id, customerId: env.customerId, environmentName: env.name, templateId: env.templateId,
      planId: env.planId, nodeId: env.nodeId, kind, keep: input.keep ?? false, note: input.note ?? '' });
  });
  publishBackup(ctx, id);
  return { backup: backup!, operation };
}

/**
 * An environment's backups, newest first. A deleted environment's (kept for the grace
 * period) are listed to admins only.
 */
export function listBackups(ctx: Context, who: Principal, environmentId: string, limit: number, cursor: string | undefined):
  { items: Backup[]; nextCursor: string | null } {
  if (ctx.repos.environments.get(environmentId)) environmentFor(ctx, who, environmentId);
  else if (who.kind !== 'admin' || ctx.repos.backups.byEnvironment(environmentId).length === 0) throw new NotFoundError('environment', environmentId);
  // The cursor is the last backup of the previous page (newest first): the page goes on after it.
  let after: { at: string; id: string } | null = null;
  if (cursor) {
    const last = ctx.repos.backups.get(cursor);
    if (!last || last.environmentId !== environmentId) throw new BadRequestError('cursor is not one this list gave', { field: 'cursor' });
    after = { at: last.createdAt, id: last.id };
  }
  const items = ctx.repos.backups.page(environmentId, after, limit + 1);
  const more = items.length > limit;
  const shown = items.slice(0, limit);
  return { items: shown, nextCursor: more ? shown.at(-1)?.id ?? null : null };
}

/**
 * Deletes a backup: its row at once, its snapshot from the repository right after (a
 * failure there is retried by the maintenance pass, which forgets snapshots no row names).
 */
export async function deleteBackup(ctx: Context, who: Principal, id: string): Promise<void> {
  const b = backupFor(ctx, who, id);
  if (b.status === 'running') throw new ConflictError('the backup is still running; wait for it to end');
  const restoring = ctx.repos.operations.open().some((o) => (o.kind === 'backup-restore' && o.params.backupId === b.id)
    || (o.kind === 'provision' && 'fromBackup' in o.params && o.params.fromBackup === b.id));
  if (restoring) throw new ConflictError('the backup is being restored; delete it once the restore has ended');
  ctx.repos.backups.remove(b.id);
  ctx.updates.publish({ type: 'backup', customerId: b.customerId, data: { ...backupView(b), deleted: true } });
  if (b.snapshotId) {
    const repo = repositoryOf(ctx, b.customerId);
    await withRepository(ctx, repo, 'exclusive', () => restic(ctx, repo, ['forget', b.snapshotId!])).catch((err: unknown) =>
      ctx.log.error({ backup: b.id, err: errorMessage(err) }, 'the deleted backup\'s snapshot stays until the maintenance pass'));
    // Freeing its data (prune) can take a while in a large repository: it goes on after the answer.
    void withRepository(ctx, repo, 'exclusive', () => restic(ctx, repo, ['prune'])).catch((err: unknown) =>
      ctx.log.warn({ customer: b.customerId, err: errorMessage(err) }, 'pruning after a deleted backup failed; the next retention prunes'));
  }
}

export type RestoreInput = { target: 'same'; path?: string | undefined } | { target: 'new'; name: string; planId?: string | undefined; nodeId?: string | undefined };

/** Restores a succeeded backup into its own environment (all files, or one path) or into a new environment of the same customer. */
export function restoreBackup(ctx: Context, who: Principal, id: string, input: RestoreInput):
  { operation: OperationOf<'backup-restore'> | OperationOf<'provision'>; environment?: Environment } {
  const b = backupFor(ctx, who, id);
  if (b.status !== 'succeeded' || !b.snapshotId) throw new ConflictError(`the backup ${b.status === 'failed' ? 'failed' : 'is not finished'}; only a succeeded backup can be restored`);
  if (input.target === 'new') {
    const source = ctx.repos.environments.get(b.environmentId);
    if ((input.planId !== undefined || input.nodeId !== undefined) && who.kind !== 'admin') {
      throw new ForbiddenError('only an admin may choose the plan or the node of a restored environment');
    }
    const planId = input.planId ?? source?.planId ?? b.planId;
    const { environment, operation } = createEnvironment(ctx, who, {
      name: input.name, templateId: b.templateId, planId, ...(who.kind === 'admin' ? { customerId: b.customerId, nodeId: input.nodeId } : {}), fromBackup: b.id,
    });
    return { environment, operation };
  }
  const env = ctx.repos.environments.get(b.environmentId);
  if (!env) throw new ConflictError('the backup\'s environment was deleted; restore it into a new environment');
  environmentFor(ctx, who, env.id);
  assertSettled(env);
  assertNodeOnline(ctx, env);
  assertFewPending(ctx, env);
  if (input.path !== undefined) {
    const refusal = backupPathRefusal(input.path);
    if (refusal) throw new BadRequestError(refusal, { field: 'path' });
    if (input.path === '/') throw new BadRequestError('to restore every file, leave the path out', { field: 'path' });
    if (env.state !== 'running') throw new ConflictError('the environment is not running; start it to restore one file or folder, or restore all its files');
  }
  if (!env.containerId) throw new ConflictError('the environment has no container yet');
  const operation = startOperation(ctx, { kind: 'backup-restore', resourceId: env.id, customerId: env.customerId,
    params: { backupId: b.id, ...(input.path !== undefined ? { path: input.path } : {}) } });
  return { operation };
}

/**
 * Retention for one environment, after a verified success: the backups its plan no longer
 * keeps are forgotten in the repository and pruned, then their rows go. `keep` backups and
 * the newest good one are never touched (see domain/backups.ts).
 */
export async function applyRetention(ctx: Context, environmentId: string): Promise<number> {
  const env = ctx.repos.environments.get(environmentId);
  if (!env) return 0;
  const removes = retentionRemoves(ctx.repos.backups.byEnvironment(env.id), policyOf(ctx, env));
  if (removes.length === 0) return 0;
  const repo = repositoryOf(ctx, env.customerId);
  await withRepository(ctx, repo, 'exclusive', async () => {
    await restic(ctx, repo, ['forget', ...removes.map((b) => b.snapshotId!)]);
    await restic(ctx, repo, ['prune']);
  });
  for (const b of removes) {
    ctx.repos.backups.remove(b.id);
    ctx.updates.publish({ type: 'backup', customerId: b.customerId, data: { ...backupView(b), deleted: true } });
  }
  ctx.log.info({ environment: env.id, removed: removes.length }, 'retention removed backups');
  return removes.length;
}

/** The deleted environment's backups are kept this long, then go with the maintenance pass. */
export function expireEnvironmentBackups(ctx: Context, environmentId: string): void {
  const at = new Date(Date.now() + ctx.config.backupGraceDays * 24 * 3600_000).toISOString();
  ctx.repos.backups.expireEnvironment(environmentId, at);
}

/** Starts the scheduled backups that are due (daily plans), one per environment; answers how many. */
export function startDueBackups(ctx: Context, now = Date.now()): number {
  let started = 0;
  for (const env of allEnvironments(ctx)) {
    const policy = policyOf(ctx, env);
    if (!scheduledBackupDue(policy, ctx.repos.backups.lastScheduledAt(env.id), now)) continue;
    if (env.state !== 'running' && env.state !== 'stopped') continue;
    try {
      createBackup(ctx, { kind: 'admin', tokenId: null, label: 'schedule' }, env.id, { note: '' }, 'scheduled');
      started++;
    } catch (err) {
      // An offline node, a running backup, a full allowance: the dashboard shows it as missed, and the next pass tries again.
      ctx.log.warn({ environment: env.id, err: errorMessage(err) }, 'a scheduled backup could not start');
    }
  }
  return started;
}

/**
 * The maintenance pass: expired backups (deleted environments past the grace period) go;
 * each repository and the panel's rows are made to agree (a snapshot no row names is
 * forgotten, a row whose snapshot is gone is removed); snapshots a crash left on nodes go.
 */
export async function maintainBackups(ctx: Context): Promise<void> {
  const expired = ctx.repos.backups.expired(new Date().toISOString());
  for (const b of expired) ctx.repos.backups.remove(b.id);
  for (const customerId of new Set([...ctx.repos.backups.customerIds(), ...expired.map((b) => b.customerId)])) {
    const repo = repositoryOf(ctx, customerId);
    if (!repositoryExists(repo)) continue;
    try {
      await withRepository(ctx, repo, 'exclusive', async () => {
        const snapshots = JSON.parse(await restic(ctx, repo, ['snapshots', '--json']) || '[]') as { id: string; tags?: string[] }[];
        const rows = ctx.repos.backups.byCustomer(customerId);
        const named = new Set(rows.map((b) => b.snapshotId).filter(Boolean));
        const running = new Set(rows.filter((b) => b.status === 'running').map((b) => b.id));
        const unnamed = snapshots.filter((s) => !named.has(s.id) && !running.has(s.tags?.find((t) => t.startsWith('kura-backup='))?.slice(12) ?? ''));
        if (unnamed.length > 0) {
          await restic(ctx, repo, ['forget', ...unnamed.map((s) => s.id)]);
          await restic(ctx, repo, ['prune']);
        }
        const held = new Set(snapshots.map((s) => s.id));
        for (const b of rows) if (b.status === 'succeeded' && b.snapshotId && !held.has(b.snapshotId)) ctx.repos.backups.remove(b.id);
      });
    } catch (err) {
      ctx.log.error({ customer: customerId, err: errorMessage(err) }, 'backup maintenance failed for a repository');
    }
  }
  // Retention that could not run right after a backup (the repository was busy) runs here.
  for (const env of allEnvironments(ctx)) {
    await applyRetention(ctx, env.id).catch((err: unknown) =>
      ctx.log.warn({ environment: env.id, err: errorMessage(err) }, 'retention could not run'));
  }
  for (const node of ctx.repos.nodes.all()) {
    if (node.status !== 'online') continue;
    await dropStaleSnapshots(ctx, node.id).catch((err: unknown) =>
      ctx.log.warn({ node: node.name, err: errorMessage(err) }, 'stale backup snapshots could not be removed'));
  }
}

/** Makes the repository of a customer who has environments but none yet (errors are logged; the first backup makes it then). */
export async function prepareRepository(ctx: Context, customerId: string): Promise<void> {
  const repo = repositoryOf(ctx, customerId);
  if (repositoryExists(repo)) return;
  await ensureRepository(ctx, repo).catch((err: unknown) =>
    ctx.log.warn({ customer: customerId, err: errorMessage(err) }, 'the customer\'s backup repository could not be made yet'));
}

/** Every repository checked with `restic check`; failures are kept for the dashboard. */
export async function checkRepositories(ctx: Context): Promise<{ customerId: string; error: string }[]> {
  const failures: { customerId: string; error: string }[] = [];
  for (const customerId of ctx.repos.backups.customerIds()) {
    const repo = repositoryOf(ctx, customerId);
    if (!repositoryExists(repo)) continue;
    try {
      await withRepository(ctx, repo, 'exclusive', () => restic(ctx, repo, ['check']));
    } catch (err) {
      failures.push({ customerId, error: errorMessage(err).slice(0, 300) });
    }
  }
  ctx.repos.settings.set('backup_check', JSON.stringify({ at: new Date().toISOString(), failures }));
  for (const f of failures) ctx.updates.publish({ type: 'backup', customerId: null, data: { id: `check-${f.customerId}`, check: 'failed', ...f } });
  return failures;
}

export interface BackupAlert {
  kind: 'failed' | 'missed' | 'check';
  environmentId: string | null;
  environmentName: string;
  customerId: string;
  message: string;
  at: string | null;
}

/** What the admin dashboard warns about: environments whose last backup failed or whose daily backup is overdue, and failed repository checks. */
export function backupAlerts(ctx: Context, now = Date.now()): BackupAlert[] {
  const alerts: BackupAlert[] = [];
  const latest = new Map(ctx.repos.backups.latestFinished().map((b) => [b.environmentId, b]));
  const lastGood = ctx.repos.backups.lastGoodAt();
  for (const env of allEnvironments(ctx)) {
    const last = latest.get(env.id);
    if (last?.status === 'failed') {
      alerts.push({ kind: 'failed', environmentId: env.id, environmentName: env.name, customerId: env.customerId, message: last.error ?? 'failed', at: last.finishedAt });
      continue;
    }
    const policy = policyOf(ctx, env);
    if (policy.schedule !== 'daily') continue;
    const goodAt = lastGood.get(env.id);
    if (now - Date.parse(goodAt ?? env.createdAt) > MISSED_AFTER_MS) {
      alerts.push({ kind: 'missed', environmentId: env.id, environmentName: env.name, customerId: env.customerId,
        message: goodAt ? 'no backup in the last day' : 'never backed up', at: goodAt ?? null });
    }
  }
  const check = JSON.parse(ctx.repos.settings.get('backup_check') ?? '{"failures":[]}') as { at?: string; failures: { customerId: string; error: string }[] };
  for (const f of check.failures) alerts.push({ kind: 'check', environmentId: null, environmentName: '', customerId: f.customerId, message: f.error, at: check.at ?? null });
  return alerts;
}

function allEnvironments(ctx: Context): Environment[] {
  return ctx.repos.nodes.all().flatMap((n) => ctx.repos.environments.byNode(n.id));
}

/**
 * A backup's files as a .tar.gz (paths relative to /), streamed from the repository; counts
 * as one of the customer's transfers while it runs.
 */
export async function downloadBackup(ctx: Context, who: Principal, id: string): Promise<{ name: string; stream: Readable }> {
  const b = backupFor(ctx, who, id);
  if (b.status !== 'succeeded' || !b.snapshotId) throw new ConflictError('only a succeeded backup can be downloaded');
  const release = transferSlot(ctx, b.customerId);
  try {
    const tar = await backupTar(ctx, b, '/');
    const gzip = createGzip({ level: 6 });
    tar.on('error', (err) => gzip.destroy(err));
    gzip.on('close', () => { tar.destroy(); release(); });
    tar.pipe(gzip);
    return { name: `${b.environmentName}-${b.createdAt.slice(0, 19).replace(/[:T]/g, '-')}.tar.gz`, stream: gzip };
  } catch (err) {
    release();
    throw err;
  }
}

/** What the backup holds in one folder, for the file browser. */
export async function browseBackup(ctx: Context, who: Principal, id: string, dir: string): Promise<BackupEntry[]> {
  const b = backupFor(ctx, who, id);
  if (b.status !== 'succeeded' || !b.snapshotId) throw new ConflictError('only a succeeded backup can be browsed');
  const refusal = backupPathRefusal(dir);
  if (refusal) throw new BadRequestError(refusal, { field: 'path' });
  const entry = await backupEntry(ctx, b, dir);
  if (!entry) throw new NotFoundError('path', dir);
  if (entry.type !== 'dir') throw new BadRequestError(`${dir} is not a folder`, { field: 'path' });
  return listBackupFolder(ctx, b, dir);
}
