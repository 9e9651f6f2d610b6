import type { FastifyInstance } from 'fastify';
import { getNode, nodeWithAllocation, patchNode, registerNode } from '../../../services/nodes.js';
import { edgeStatus, environmentView } from '../../../read-models/views.js';
import { publicOperation } from '../../../db/repos/operations.js';
import { KuraError } from '../../../lib/errors.js';
import { RegisterNodeBody } from '../../api/nodes.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';
import { checkForm, defined, form } from '../forms.js';
import { field } from '../web-request.js';
import { stateLabels } from '../labels.js';

type IdRoute = { Params: { id: string } };

/** Nodes: the list, registration with the probe's result, maintenance, and each node's environments. */
export const nodePages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;

  app.get('/nodes', async (request, reply) => {
    const allocations = ctx.repos.nodes.allocations();
    const none = { cpus: 0, memoryMb: 0, diskMb: 0, environments: 0 };
    // The edge's state is flagged only where it fails on a panel that runs edges.
    const nodes = ctx.repos.nodes.all().map((n) => ({ ...n, allocated: allocations.get(n.id) ?? none, edge: ctx.config.edge ? edgeStatus(ctx, n.id) : null }));
    return page(request, reply, 'admin/nodes', i18n.t(request.web.lang, 'admin.nodes.title'), { nodes }, { nav: 'admin/nodes' });
  });

  app.get('/nodes/new', async (request, reply) =>
    page(request, reply, 'admin/node-new', i18n.t(request.web.lang, 'admin.nodes.add'), { values: { maxEnvironments: 30 } }, { nav: 'admin/nodes' }));

  app.post('/nodes', async (request, reply) => {
    const b = request.body;
    const ca = form.text(b, 'ca');
    const cert = form.text(b, 'cert');
    const key = form.text(b, 'key');
    const input = defined({
      name: form.text(b, 'name') ?? '', endpoint: form.text(b, 'endpoint') ?? '',
      tls: ca || cert || key ? { ca: ca ?? '', cert: cert ?? '', key: key ?? '' } : undefined,
      publicHost: form.text(b, 'publicHost'), maxEnvironments: form.number(b, 'maxEnvironments'),
      allowUnenforcedDisk: form.checked(b, 'allowUnenforcedDisk') || undefined,
    });
    try {
      const node = await registerNode(ctx, checkForm(RegisterNodeBody, input));
      request.auditNote = { action: 'node.register', resourceType: 'node', resourceId: node.id, detail: `name=${node.name} endpoint=${node.endpoint}` };
      return reply.redirect(`/admin/nodes/${node.id}?registered=1`, 303);
    } catch (err) {
      if (!(err instanceof KuraError) || err.status >= 500) throw err;
      const values = { ...input, ca, cert, key: undefined, allowUnenforcedDisk: form.checked(b, 'allowUnenforcedDisk') };
      return page(request, reply, 'admin/node-new', i18n.t(request.web.lang, 'admin.nodes.add'),
        { values, error: err.message }, { status: err.status, nav: 'admin/nodes' });
    }
  });

  app.get<IdRoute & { Querystring: { registered?: string } }>('/nodes/:id', async (request, reply) => {
    const node = nodeWithAllocation(ctx, getNode(ctx, request.params.id));
    const hosts = new Map([[node.id, node.publicHost]]);
    const customers = new Map<string, string>();
    const environments = ctx.repos.environments.byNode(node.id).map((e) => {
      if (!customers.has(e.customerId)) customers.set(e.customerId, ctx.repos.customers.get(e.customerId)?.name ?? e.customerId);
      return { ...environmentView(ctx, e, hosts), customerName: customers.get(e.customerId) };
    });
    const evacuation = ctx.repos.operations.latestOf('evacuate', node.id);
    const restore = ctx.repos.operations.latestOf('restore', node.id);
    const batch = restore && (!evacuation || restore.id > evacuation.id) ? restore : evacuation;
    return page(request, reply, 'admin/node', node.name, {
      node, environments, registered: request.query.registered === '1', stateLabels: stateLabels(i18n, request.web.lang),
      batch: batch && publicOperation(batch), canRestore: node.state !== 'active' || evacuation !== undefined,
    }, { nav: 'admin/nodes' });
  });

  app.post<IdRoute>('/nodes/:id/state', async (request, reply) => {
    const state = field(request.body, 'state');
    if (state !== 'active' && state !== 'maintenance') {
      throw new KuraError('bad_request', 'state must be active or maintenance', { field: 'state' });
    }
    const node = patchNode(ctx, request.params.id, { state });
    request.auditNote = { action: `node.${state === 'maintenance' ? 'maintenance-on' : 'maintenance-off'}`, resourceType: 'node', resourceId: node.id };
    return reply.redirect(`/admin/nodes/${node.id}`, 303);
  });
};
