import type { FastifyInstance } from 'fastify';
import type { Ui } from '../ui.js';
import { requireAdminPage } from '../web-request.js';
import { dashboardPages } from './dashboard.js';
import { nodePages } from './nodes.js';
import { fleetPages } from './fleet.js';
import { planPages } from './plans.js';
import { customerPages } from './customers.js';
import { templatePages } from './templates.js';
import { environmentAdminPages } from './environments.js';
import { operationPages } from './operations.js';
import { auditPages } from './audit.js';
import { importPages } from './imports.js';

/** The admin console: every page here answers a customer with 404. */
export const adminRoutes = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  app.addHook('preHandler', async (request) => {
    requireAdminPage(request);
  });
  await app.register(dashboardPages(ui));
  await app.register(nodePages(ui));
  await app.register(fleetPages(ui));
  await app.register(planPages(ui));
  await app.register(customerPages(ui));
  await app.register(templatePages(ui));
  await app.register(environmentAdminPages(ui));
  await app.register(operationPages(ui));
  await app.register(auditPages(ui));
  await app.register(importPages(ui));
};
