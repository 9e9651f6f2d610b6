import { errorMessage } from '../lib/errors.js';
import type { Context } from '../core/context.js';
import { checkRepositories, maintainBackups, prepareRepository, startDueBackups } from '../services/backups.js';

const TICK_MS = 60_000;
const MAINTAIN_MS = 60 * 60_000;

/**
 * Backups on their own: each minute the daily backups that are due start; each hour the
 * maintenance pass runs (expired backups, repositories agreeing with the panel, stale
 * snapshots); every KURA_BACKUP_CHECK_HOURS each repository is checked. Nothing here
 * throws: a failure is logged and shown on the dashboard, and the next pass tries again.
 */
export function startBackupLoop(ctx: Context): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  let lastMaintained = 0;
  const checkMs = ctx.config.backupCheckHours * 3600_000;
  const tick = () => {
    if (running) return;
    running = (async () => {
      startDueBackups(ctx);
      if (Date.now() - lastMaintained >= MAINTAIN_MS) {
        lastMaintained = Date.now();
        await maintainBackups(ctx);
      }
      const lastCheck = Date.parse((JSON.parse(ctx.repos.settings.get('backup_check') ?? '{}') as { at?: string }).at ?? '');
      if (checkMs > 0 && (!Number.isFinite(lastCheck) || Date.now() - lastCheck >= checkMs)) await checkRepositories(ctx);
    })().catch((err: unknown) => ctx.log.error({ err: errorMessage(err) }, 'the backup pass failed')).finally(() => { running = null; });
  };
  const timer = setInterval(tick, TICK_MS);
  timer.unref();
  // A customer's repository is made when their environment first runs, one at a time.
  let preparing = Promise.resolve();
  const unsubscribe = ctx.updates.subscribe((e) => {
    const customerId = e.type === 'environment' && e.data.state === 'running' ? e.customerId : null;
    if (customerId) preparing = preparing.then(() => prepareRepository(ctx, customerId));
  });
  return {
    async stop() {
      unsubscribe();
      clearInterval(timer);
      await running;
      await preparing;
    },
  };
}
