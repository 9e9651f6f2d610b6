import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EnvironmentState } from '../../../domain/types.js';
import { createEnvironment } from '../../../services/environments.js';
import { fleetEnvironments } from '../../../read-models/environment-overview.js';
import { BadRequestError, KuraError } from '../../../lib/errors.js';
import { CreateEnvironmentBody } from '../../api/environments.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';
import { checkForm, defined, form } from '../forms.js';
import { field, webPrincipal } from '../web-request.js';
import { stateLabels } from '../labels.js';

const PAGE = 100;
const STATES: readonly EnvironmentState[] = ['provisioning', 'running', 'stopped', 'error', 'migrating', 'deleting', 'unknown'];
/** Selects on these pages list at most this many customers. */
const CHOICES = 1000;

/** Every environment in the fleet, filtered and searched, and the admin's form to create one for a customer. */
export const environmentAdminPages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;

  app.get('/environments', async (request, reply) => {
    const filter = {
      customerId: field(request.query, 'customerId').slice(0, 64) || undefined,
      nodeId: field(request.query, 'nodeId').slice(0, 64) || undefined,
      state: stateParam(field(request.query, 'state')),
      nameContains: field(request.query, 'q').slice(0, 63) || undefined,
    };
    const cursor = field(request.query, 'cursor').slice(0, 64);
    const { environments, next, nodes, customers } = fleetEnvironments(ctx, filter, cursor, PAGE);
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries({ customerId: filter.customerId, nodeId: filter.nodeId, state: filter.state, q: filter.nameContains })) {
      if (v) query.set(k, v);
    }
    if (next) query.set('cursor', next);
    const lang = request.web.lang;
    return page(request, reply, 'admin/environments', i18n.t(lang, 'manage.environments.title'), {
      environments, filter, customers, nodes, states: STATES, stateLabels: stateLabels(i18n, lang),
      nextUrl: next ? `/admin/environments?${query.toString()}` : null,
    }, { nav: 'admin/environments' });
  });

  const renderForm = (request: FastifyRequest, reply: FastifyReply, values: Record<string, unknown>, error?: string, status = 200) =>
    page(request, reply, 'admin/environment-new', i18n.t(request.web.lang, 'manage.environments.new'), {
      values, error, customers: ctx.repos.customers.page('', CHOICES), templates: ctx.templates.list(),
      plans: ctx.repos.plans.page('', CHOICES), nodes: ctx.repos.nodes.all(),
    }, { status, nav: 'admin/environments' });

  app.get('/environments/new', async (request, reply) =>
    renderForm(request, reply, { customerId: field(request.query, 'customerId') }));

  app.post('/environments', async (request, reply) => {
    const b = request.body;
    const input = defined({
      customerId: form.text(b, 'customerId'), name: form.text(b, 'name') ?? '', templateId: form.text(b, 'templateId') ?? '',
      planId: form.text(b, 'planId') ?? '', nodeId: form.text(b, 'nodeId'),
    });
    try {
      const { environment, operation } = createEnvironment(ctx, webPrincipal(request), checkForm(CreateEnvironmentBody, input));
      request.auditNote = { action: 'environment.create', resourceType: 'environment', resourceId: environment.id,
        detail: `name=${environment.name} customer=${environment.customerId} node=${environment.nodeId}` };
      return reply.redirect(`/panel/environments/${environment.id}?op=${operation.id}`, 303);
    } catch (err) {
      if (!(err instanceof KuraError) || err.status >= 500) throw err;
      return renderForm(request, reply, input, err.message, err.status);
    }
  });
};

function stateParam(value: string): EnvironmentState | undefined {
  if (value === '') return undefined;
  const state = STATES.find((s) => s === value);
  if (!state) throw new BadRequestError(`state must be one of ${STATES.join(', ')}`, { field: 'state' });
  return state;
}
