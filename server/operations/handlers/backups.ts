import { toMb, type Backup } from '../../domain/backups.js';
import { shownTime } from '../../lib/ids.js';
import { KuraError, errorMessage } from '../../lib/errors.js';
import type { Context } from '../../core/context.js';
import { applyRetention, publishBackup } from '../../services/backups.js';
import { backupTurn, captureState, copySnapshot, dropSnapshot, ensureHelper, restoreIntoContainer, restorePathInto, thaw } from '../../services/backup-runs.js';
import type { Environment } from '../../domain/types.js';
import { setEnvironmentState } from '../../services/environment-state.js';
import type { OperationHandler, StepContext } from '../runner.js';

/**
 * One backup: the environment frozen for the instant btrfs snapshots its layer, then restic
 * copies the snapshot into the customer's repository while the environment serves. The
 * backup is listed `running` from the start and ends `succeeded` only once the panel has
 * read the snapshot back from the repository; then retention runs. A panel that stops
 * midway finds the operation at its next start and ends it `failed`, after thawing the
 * environment and removing the snapshot: a half-made backup is never listed as one.
 */
export function backupHandler(ctx: Context): OperationHandler<'backup'> {
  return {
    async run(op, step) {
      const backup = ctx.repos.backups.get(op.resource.id);
      if (!backup) return 'the backup was deleted';
      if (backup.status !== 'running') return `the backup already ${backup.status}`;
      const env = ctx.repos.environments.get(backup.environmentId);
      if (step.resumed) {
        if (env?.containerId) {
          await thaw(ctx, env.nodeId, env.containerId).catch(() => {});
          await ensureHelper(ctx, env.nodeId).then((helperId) => dropSnapshot(ctx, env.nodeId, helperId, backup.id)).catch(() => {});
        }
        throw new KuraError('internal', 'the panel stopped while this backup ran, so it is not complete; take another one');
      }
      if (!env) throw new KuraError('conflict', 'the environment was deleted before its backup started');
      step.progress(1, 'waiting for its turn');
      const release = await backupTurn(ctx, env.nodeId, env.customerId);
      try {
        // Read again: it may have moved or gone while it waited.
        const now = ctx.repos.environments.get(env.id);
        if (!now) throw new KuraError('conflict', 'the environment was deleted before its backup started');
        if (!now.containerId) throw new KuraError('conflict', 'the environment has no container yet');
        if (now.state === 'migrating') throw new KuraError('conflict', 'the environment is moving to another node; back it up once it has arrived');
        return await takeBackup(ctx, backup, { ...now, containerId: now.containerId }, step);
      } finally {
        release();
      }
    },
    onFailure(op, error) {
      ctx.repos.backups.fail(op.resource.id, error.customerMessage ?? error.message);
      publishBackup(ctx, op.resource.id);
    },
  };
}

async function takeBackup(ctx: Context, backup: Backup, env: Environment & { containerId: string }, step: StepContext<'backup'>): Promise<string> {
  step.progress(3, 'preparing the node');
  const helperId = await ensureHelper(ctx, env.nodeId);
  step.progress(5, 'capturing the environment\'s state');
  const frozenMs = await captureState(ctx, env.nodeId, helperId, env.containerId, backup.id);
  let summary;
  try {
    step.progress(10, 'copying what changed into the repository');
    const parent = ctx.repos.backups.byEnvironment(env.id).find((b) => b.status === 'succeeded' && b.snapshotId)?.snapshotId ?? null;
    summary = await copySnapshot(ctx, backup, env.nodeId, helperId, parent,
      (fraction) => step.progress(10 + Math.floor(fraction * 80), `copying: ${Math.floor(fraction * 100)}%`));
  } finally {
    await dropSnapshot(ctx, env.nodeId, helperId, backup.id).catch((err: unknown) =>
      ctx.log.error({ backup: backup.id, err: errorMessage(err) }, 'the backup snapshot could not be removed; the maintenance pass will'));
  }
  ctx.repos.backups.succeed(backup.id, { ...summary, frozenMs });
  publishBackup(ctx, backup.id);
  step.progress(95, 'applying retention');
  await applyRetention(ctx, env.id).catch((err: unknown) =>
    ctx.log.error({ environment: env.id, err: errorMessage(err) }, 'retention could not run after a backup; the maintenance pass will try again'));
  return `backup taken: ${mb(summary.sizeBytes)} held, ${mb(summary.addedBytes)} added${frozenMs === null ? '' : `, frozen ${frozenMs} ms`}`;
}

/**
 * A restore into the environment: all its files (it is stopped, emptied, given the backup's
 * files and started again as it was), or one file or folder written back while it runs.
 */
export function backupRestoreHandler(ctx: Context): OperationHandler<'backup-restore'> {
  return {
    async run(op, step) {
      const env = ctx.repos.environments.get(op.resource.id);
      if (!env?.containerId) throw new KuraError('conflict', 'the environment has no container');
      const backup = usableBackup(ctx, op.params.backupId);
      const client = ctx.nodes.get(env.nodeId);
      if (op.params.path) {
        step.progress(20, `restoring ${op.params.path}`);
        await restorePathInto(ctx, backup, env.nodeId, env.containerId, op.params.path);
        return `${op.params.path} restored from the backup of ${shownTime(backup.createdAt)}`;
      }
      const wasRunning = env.desiredState === 'running';
      step.progress(10, 'stopping the environment');
      await client.stop(env.containerId);
      setEnvironmentState(ctx, env.id, 'stopped');
      step.progress(30, 'replacing its files with the backup\'s');
      await restoreIntoContainer(ctx, backup, env.nodeId, env.containerId);
      if (wasRunning) {
        step.progress(90, 'starting the environment');
        await client.start(env.containerId);
        setEnvironmentState(ctx, env.id, 'running');
      }
      return `the environment's files are those of the backup of ${shownTime(backup.createdAt)}`;
    },
    onFailure(op) {
      const env = ctx.repos.environments.get(op.resource.id);
      if (env) setEnvironmentState(ctx, env.id, 'error');
    },
  };
}

/** A backup a restore can use: it exists and succeeded. */
export function usableBackup(ctx: Context, id: string): Backup {
  const backup = ctx.repos.backups.get(id);
  if (!backup) throw new KuraError('not_found', 'the backup was deleted');
  if (backup.status !== 'succeeded' || !backup.snapshotId) throw new KuraError('conflict', `the backup ${backup.status === 'failed' ? 'failed' : 'is not finished'}; choose one that succeeded`);
  return backup;
}

/** Restores the backup into a freshly made container (a new environment from a backup), before it first starts. */
export async function restoreNewEnvironment(ctx: Context, backupId: string, nodeId: string, containerId: string): Promise<void> {
  await restoreIntoContainer(ctx, usableBackup(ctx, backupId), nodeId, containerId);
}

const mb = (bytes: number): string => `${toMb(bytes)} MiB`;
