import type { FastifyInstance } from 'fastify';
import type { Ui } from '../index.js';
import { environmentPages } from './environments.js';
import { accountPages } from './account.js';
import { livePages } from './live.js';

/** The customer panel (admins may open the same environment pages). */
export const panelRoutes = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  await app.register(environmentPages(ui));
  await app.register(accountPages(ui));
  await app.register(livePages(ui));
};
