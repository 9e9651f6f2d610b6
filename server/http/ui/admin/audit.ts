import type { FastifyInstance } from 'fastify';
import type { Ui } from '../ui.js';
import { page } from '../render.js';
import { field } from '../web-request.js';

const PAGE = 100;

/** Where an audit entry's resource is shown in the panel. */
function resourceLink(type: string | null, id: string | null): string | null {
  if (!id) return null;
  const base = type === 'environment' ? '/panel/environments/' : type === 'node' ? '/admin/nodes/'
    : type === 'customer' ? '/admin/customers/' : type === 'plan' ? '/admin/plans/' : null;
  return base && `${base}${encodeURIComponent(id)}`;
}

/** The audit log, newest first: who changed what, when, from where and through which door. */
export const auditPages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;

  app.get('/audit', async (request, reply) => {
    const q = field(request.query, 'q').slice(0, 200);
    const customerId = field(request.query, 'customerId').slice(0, 64);
    const before = field(request.query, 'before').slice(0, 64);
    const rows = ctx.repos.audit.list({ limit: PAGE + 1, ...(q ? { q } : {}), ...(customerId ? { customerId } : {}), ...(before ? { before } : {}) });
    const entries = rows.slice(0, PAGE).map((e) => ({ ...e, link: resourceLink(e.resourceType, e.resourceId) }));
    const query = new URLSearchParams();
    if (q) query.set('q', q);
    if (customerId) query.set('customerId', customerId);
    const newestUrl = `/admin/audit${query.size > 0 ? `?${query.toString()}` : ''}`;
    const older = rows.length > PAGE ? entries[entries.length - 1]!.id : null;
    if (older) query.set('before', older);
    const customer = customerId ? ctx.repos.customers.get(customerId) : undefined;
    return page(request, reply, 'admin/audit', i18n.t(request.web.lang, 'manage.audit.title'), {
      entries, q, customerId, customer, newestUrl: before ? newestUrl : null, olderUrl: older ? `/admin/audit?${query.toString()}` : null,
    }, { nav: 'admin/audit' });
  });
};
