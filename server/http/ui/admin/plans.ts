import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Plan } from '../../../domain/types.js';
import { DEFAULT_BACKUP_POLICY } from '../../../domain/backups.js';
import { createPlan, getPlan, updatePlan } from '../../../services/plans.js';
import { KuraError } from '../../../lib/errors.js';
import { CreatePlanBody, UpdatePlanBody } from '../../api/plans.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';
import { checkForm, defined, form } from '../forms.js';

type IdRoute = { Params: { id: string } };

/** The plan form in the API's body shape: empty fields are left out, numbers parsed. */
function planInput(body: unknown) {
  return defined({
    name: form.text(body, 'name'), cpus: form.number(body, 'cpus'), memoryMb: form.number(body, 'memoryMb'),
    swapMb: form.number(body, 'swapMb'), diskMb: form.number(body, 'diskMb'), pids: form.number(body, 'pids'),
    nofile: form.number(body, 'nofile'), selectable: form.checked(body, 'selectable'),
    backups: defined({
      schedule: form.text(body, 'backupSchedule'), keepLast: form.number(body, 'keepLast'), keepDaily: form.number(body, 'keepDaily'),
      keepWeekly: form.number(body, 'keepWeekly'),
      // Empty is no cap.
      storageMb: form.number(body, 'backupStorageMb') ?? null,
    }),
  });
}

/** Plans: the list with how many environments use each, creation, and editing with the API's bounds. */
export const planPages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;

  const renderForm = (request: FastifyRequest, reply: FastifyReply, data: { plan?: Plan; values: Record<string, unknown>; error?: string },
    status = 200) => {
    const title = data.plan ? data.plan.name : i18n.t(request.web.lang, 'manage.plans.new');
    const using = data.plan ? ctx.repos.plans.environmentsUsing(data.plan.id) : 0;
    return page(request, reply, 'admin/plan-form', title, { ...data, using }, { status, nav: 'admin/plans' });
  };

  app.get('/plans', async (request, reply) => {
    const plans = ctx.repos.plans.page('', 1000).map((p) => ({ ...p, environments: ctx.repos.plans.environmentsUsing(p.id) }));
    return page(request, reply, 'admin/plans', i18n.t(request.web.lang, 'manage.plans.title'), { plans }, { nav: 'admin/plans' });
  });

  app.get('/plans/new', async (request, reply) =>
    renderForm(request, reply, { values: { cpus: 1, memoryMb: 512, swapMb: 0, diskMb: 2048, pids: 256, nofile: 16384, backups: DEFAULT_BACKUP_POLICY } }));

  app.post('/plans', async (request, reply) => {
    const input = planInput(request.body);
    try {
      const plan = createPlan(ctx, checkForm(CreatePlanBody, input));
      request.auditNote = { action: 'plan.create', resourceType: 'plan', resourceId: plan.id };
      return reply.redirect('/admin/plans', 303);
    } catch (err) {
      if (!(err instanceof KuraError) || err.status >= 500) throw err;
      return renderForm(request, reply, { values: input, error: err.message }, err.status);
    }
  });

  app.get<IdRoute>('/plans/:id', async (request, reply) => {
    const plan = getPlan(ctx, request.params.id);
    return renderForm(request, reply, { plan, values: { ...plan } });
  });

  app.post<IdRoute>('/plans/:id', async (request, reply) => {
    const plan = getPlan(ctx, request.params.id);
    const input = planInput(request.body);
    try {
      updatePlan(ctx, plan.id, checkForm(UpdatePlanBody, input));
      request.auditNote = { action: 'plan.update', resourceType: 'plan', resourceId: plan.id };
      return reply.redirect('/admin/plans', 303);
    } catch (err) {
      if (!(err instanceof KuraError) || err.status >= 500) throw err;
      return renderForm(request, reply, { plan, values: input, error: err.message }, err.status);
    }
  });
};
