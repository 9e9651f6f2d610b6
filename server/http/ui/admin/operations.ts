import type { FastifyInstance } from 'fastify';
import { publicOperation } from '../../../db/repos/operations.js';
import { OPERATION_STATUSES, type OperationStatus } from '../../../domain/operations.js';
import { BadRequestError } from '../../../lib/errors.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';
import { field } from '../web-request.js';
import { stateLabels } from '../labels.js';

const SHOWN = 100;
const STATUSES: readonly OperationStatus[] = OPERATION_STATUSES;

/** Where an operation's resource is shown in the panel. */
function resourceLink(type: string, id: string): string | null {
  switch (type) {
    case 'environment': return `/panel/environments/${encodeURIComponent(id)}`;
    case 'node': return `/admin/nodes/${encodeURIComponent(id)}`;
    case 'customer': return `/admin/customers/${encodeURIComponent(id)}`;
    default: return null;
  }
}

/** The newest operations across the fleet, with live progress. */
export const operationPages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;

  app.get('/operations', async (request, reply) => {
    const given = field(request.query, 'status');
    const status = given === '' ? undefined : STATUSES.find((s) => s === given);
    if (given !== '' && !status) throw new BadRequestError(`status must be one of ${STATUSES.join(', ')}`, { field: 'status' });
    const names = new Map<string, string>();
    const nameOf = (type: string, id: string): string => {
      const key = `${type}:${id}`;
      if (!names.has(key)) {
        const name = type === 'environment' ? ctx.repos.environments.get(id)?.name
          : type === 'node' ? ctx.repos.nodes.get(id)?.name : type === 'customer' ? ctx.repos.customers.get(id)?.name : undefined;
        names.set(key, name ?? id);
      }
      return names.get(key)!;
    };
    const operations = ctx.repos.operations.recent(SHOWN, status).map((op) => ({
      ...publicOperation(op), link: resourceLink(op.resource.type, op.resource.id), resourceName: nameOf(op.resource.type, op.resource.id),
    }));
    const lang = request.web.lang;
    return page(request, reply, 'admin/operations', i18n.t(lang, 'manage.operations.title'),
      { operations, status, statuses: STATUSES, stateLabels: stateLabels(i18n, lang) }, { nav: 'admin/operations' });
  });
};
