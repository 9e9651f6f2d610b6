import type { FastifyInstance } from 'fastify';
import { fleetOverview } from '../../../read-models/fleet-overview.js';
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
    const alertCount = a.offline.length + a.drift.total + a.ooms.length + a.failed.length + a.edges.length + a.certificates.length;
    return page(request, reply, 'admin/dashboard', ui.i18n.t(request.web.lang, 'admin.dashboard.title'),
      { ...overview, nodes, alertCount }, { nav: 'admin/dashboard' });
  });
};
