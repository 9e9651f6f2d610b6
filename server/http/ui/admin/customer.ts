import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { customerFor, resumeCustomer, suspendCustomer, updateCustomer } from '../../../services/customers.js';
import { createInvite, resetCustomerPassword } from '../../../services/sessions.js';
import { environmentView } from '../../../read-models/views.js';
import { backupStorage, backupView } from '../../../services/backups.js';
import { KuraError } from '../../../lib/errors.js';
import { UpdateCustomerBody } from '../../api/customers.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';
import { checkForm, form } from '../forms.js';
import { webPrincipal } from '../web-request.js';
import { stateLabels } from '../labels.js';

type IdRoute = { Params: { id: string } };
const AUDIT_SHOWN = 20;

/** One customer: details and editing, suspension, password reset, invitation link, environments, audit. */
export const customerPage = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;

  const render = (request: FastifyRequest<IdRoute>, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) => {
    const customer = customerFor(ctx, webPrincipal(request), request.params.id);
    const plans = new Map(ctx.repos.plans.page('', 1000).map((p) => [p.id, p.name]));
    const nodes = ctx.repos.nodes.all();
    const hosts = new Map(nodes.map((n) => [n.id, n.publicHost]));
    const nodeNames = new Map(nodes.map((n) => [n.id, n.name]));
    const environments = ctx.repos.environments.byCustomer(customer.id).map((e) => ({
      ...environmentView(ctx, e, hosts), planName: plans.get(e.planId) ?? e.planId, nodeName: nodeNames.get(e.nodeId) ?? e.nodeId,
    }));
    return page(request, reply, 'admin/customer', customer.name, {
      customer, usage: ctx.repos.customers.usage(customer.id), environments, audit: recentAudit(ui, customer.id),
      values: customer, stateLabels: stateLabels(i18n, request.web.lang),
      backupStorage: backupStorage(ctx, customer.id),
      // Deleted environments' backups, kept for the grace period: only an admin can bring them back.
      keptBackups: ctx.repos.backups.byCustomer(customer.id).filter((b) => b.expiresAt !== null && b.status === 'succeeded').map(backupView),
      ...extra,
    }, { status, nav: 'admin/customers' });
  };

  app.get<IdRoute & { Querystring: { saved?: string } }>('/customers/:id', async (request, reply) =>
    render(request, reply, request.query.saved === '1' ? { notice: i18n.t(request.web.lang, 'manage.customer.saved') } : {}));

  app.post<IdRoute>('/customers/:id', async (request, reply) => {
    const customer = customerFor(ctx, webPrincipal(request), request.params.id);
    const b = request.body;
    const l = limitsInput(b);
    // Editing: an empty limit field means "no limit", so it is sent as null.
    const limits = { environments: l.environments ?? null, cpus: l.cpus ?? null, memoryMb: l.memoryMb ?? null, diskMb: l.diskMb ?? null };
    const input = { name: form.text(b, 'name') ?? '', email: form.text(b, 'email') ?? '', limits, selfService: form.checked(b, 'selfService') };
    try {
      await updateCustomer(ctx, customer.id, checkForm(UpdateCustomerBody, input));
      request.auditNote = { action: 'customer.update', resourceType: 'customer', resourceId: customer.id };
      return reply.redirect(`/admin/customers/${customer.id}?saved=1`, 303);
    } catch (err) {
      if (!(err instanceof KuraError) || err.status >= 500) throw err;
      return render(request, reply, { values: input, editError: err.message }, err.status);
    }
  });

  for (const action of ['suspend', 'resume'] as const) {
    app.post<IdRoute>(`/customers/:id/${action}`, async (request, reply) => {
      const r = (action === 'suspend' ? suspendCustomer : resumeCustomer)(ctx, request.params.id);
      request.auditNote = { action: `customer.${action}`, resourceType: 'customer', resourceId: r.customer.id,
        detail: `operations=${r.operations.length}` };
      return reply.redirect(`/admin/customers/${r.customer.id}`, 303);
    });
  }

  app.post<IdRoute>('/customers/:id/password', async (request, reply) => {
    const customer = customerFor(ctx, webPrincipal(request), request.params.id);
    try {
      await resetCustomerPassword(ctx, customer.id, rawField(request.body, 'password'), rawField(request.body, 'confirm'));
    } catch (err) {
      if (!(err instanceof KuraError) || err.code !== 'bad_request') throw err;
      const error = i18n.t(request.web.lang, `auth.password.${String(err.details?.field ?? 'password')}`);
      return render(request, reply, { passwordError: error }, 400);
    }
    request.auditNote = { action: 'customer.reset-password', resourceType: 'customer', resourceId: customer.id };
    return render(request, reply, { notice: i18n.t(request.web.lang, 'manage.customer.passwordReset') });
  });

  app.post<IdRoute>('/customers/:id/invite', async (request, reply) => {
    const customer = customerFor(ctx, webPrincipal(request), request.params.id);
    const token = createInvite(ctx, customer.id);
    request.auditNote = { action: 'customer.invite', resourceType: 'customer', resourceId: customer.id };
    const inviteLink = `${request.protocol}://${request.host}/invite/${token}`;
    return render(request, reply, { inviteLink }, 201);
  });
};

/** What the customer did themselves and what was done to their account, newest first. */
function recentAudit(ui: Ui, customerId: string) {
  const byThem = ui.ctx.repos.audit.list({ customerId, limit: AUDIT_SHOWN });
  const aboutThem = ui.ctx.repos.audit.list({ q: customerId, limit: AUDIT_SHOWN }).filter((e) => e.resourceId === customerId);
  const seen = new Set<string>();
  return [...byThem, ...aboutThem].filter((e) => {
    if (seen.has(e.id)) return false;
    seen.add(e.id);
    return true;
  }).sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, AUDIT_SHOWN);
}

/** The limit fields of both customer forms, in the API's shape. */
export function limitsInput(body: unknown) {
  return {
    environments: form.number(body, 'limitEnvironments'), cpus: form.number(body, 'limitCpus'),
    memoryMb: form.number(body, 'limitMemoryMb'), diskMb: form.number(body, 'limitDiskMb'),
  };
}

/** A password field exactly as typed: passwords are not trimmed. */
function rawField(body: unknown, name: string): string {
  const v = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof v === 'string' ? v : '';
}
