import type { FastifyInstance } from 'fastify';
import { fleetOverview } from '../../../read-models/fleet-overview.js';
import { panelBackupStatus } from '../../../services/panel-backup.js';
import { backupAlerts } from '../../../services/backups.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';

/** The fleet dashboard: every node at a glance and what needs attention. */
export const dashboardPages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  app.get('/', async (request, reply) => {
    const overview = fleetOverview(ui.ctx);
    const nodes = overview.nodes.map((n) => ({
      ...n,
      cpuHot: n.cpu.used > n.cpu.total,
      memoryHot: n.memory.used > n.memory.total,
      diskHot: n.disk.total !== null && n.disk.used > n.disk.total,
      envHot: n.environments.total >= n.environments.max,
    }));
    const a = overview.alerts;
    const backup = panelBackupStatus(ui.ctx);
    // A failed last try, or no copy for twice the interval (the panel was down, or copies keep failing).
    const stale = ui.ctx.config.panelBackupHours > 0 && backup.lastAt !== null
      && Date.now() - Date.parse(backup.lastAt) > 2 * ui.ctx.config.panelBackupHours * 3600_000;
    const panelBackup = backup.error || stale ? backup : null;
    const backups = backupAlerts(ui.ctx);
    const alertCount = a.offline.length + a.drift.total + a.ooms.length + a.failed.length + a.edges.length + a.certificates.length
      + (panelBackup ? 1 : 0) + backups.length;
    return page(request, reply, 'admin/dashboard', ui.i18n.t(request.web.lang, 'admin.dashboard.title'),
      { ...overview, nodes, alertCount, panelBackup, backupAlerts: backups.slice(0, 20), moreBackupAlerts: Math.max(0, backups.length - 20) }, { nav: 'admin/dashboard' });
  });
};
