import type { FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { Ui } from '../ui.js';
import { environmentPages } from './environments.js';
import { domainPages } from './domains.js';
import { filePages } from './files.js';
import { backupPages } from './backups.js';
import { accountPages } from './account.js';
import { livePages } from './live.js';
import { consolePages, MAX_INPUT_BYTES } from './console.js';
import { logsStreamPages } from './logs-stream.js';

/** The customer panel (admins may open the same environment pages). */
export const panelRoutes = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  await app.register(environmentPages(ui));
  await app.register(domainPages(ui));
  await app.register(filePages(ui));
  await app.register(backupPages(ui));
  await app.register(accountPages(ui));
  await app.register(livePages(ui));
  // Before the console route: the plugin takes over the routes declared after it. A frame
  // may carry the largest input JSON-escaped.
  await app.register(websocket, { options: { maxPayload: 8 * MAX_INPUT_BYTES } });
  await app.register(consolePages(ui));
  await app.register(logsStreamPages(ui));
};
