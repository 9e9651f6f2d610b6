import { errorMessage } from '../lib/errors.js';
import type { Context } from '../core/context.js';
import { backupPanel, panelData } from '../services/panel-backup.js';

const CHECK_MS = 60_000;

/**
 * Copies the panel's own data every KURA_PANEL_BACKUP_HOURS: checked each minute against the
 * last good copy, so a panel restarted often still copies on time and one that was down
 * copies soon after it is back. A failure is logged and kept for the dashboard; the next
 * minute tries again.
 */
export function startPanelBackups(ctx: Context): { stop(): Promise<void> } {
  const everyMs = ctx.config.panelBackupHours * 3600_000;
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running || everyMs === 0) return;
    const last = Date.parse(ctx.repos.settings.get('panel_backup_at') ?? '');
    if (Number.isFinite(last) && Date.now() - last < everyMs) return;
    running = backupPanel(panelData(ctx), ctx.config.panelBackupDir, ctx.config.panelBackupKeep).then((b) => {
      ctx.repos.settings.set('panel_backup_at', b.manifest.createdAt);
      ctx.repos.settings.delete('panel_backup_error');
      ctx.log.info({ dir: b.dir }, 'the panel\'s data was copied');
    }, (err: unknown) => {
      ctx.repos.settings.set('panel_backup_error', errorMessage(err).slice(0, 500));
      ctx.repos.settings.set('panel_backup_failed_at', new Date().toISOString());
      ctx.log.error({ err: errorMessage(err) }, 'copying the panel\'s data failed');
    }).finally(() => { running = null; });
  };
  const timer = setInterval(tick, CHECK_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
