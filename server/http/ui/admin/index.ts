import type { FastifyInstance } from 'fastify';
import type { Ui } from '../index.js';
import { requireAdminPage } from '../web-request.js';
import { dashboardPages } from './dashboard.js';
import { nodePages } from './nodes.js';

/** The admin console: every page here answers a customer with 404. */
export const adminRoutes = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  app.addHook('preHandler', async (request) => {
    requireAdminPage(request);
  });
  await app.register(dashboardPages(ui));
  await app.register(nodePages(ui));
};
