import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../../lib/errors.js';
import { deleteCapturedTemplate } from '../../../services/templates.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';

type IdRoute = { Params: { id: string } };

/** Templates: the catalog read from templates/, and each template's details. */
export const templatePages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;

  app.get('/templates', async (request, reply) => {
    const templates = ctx.templates.list().map((t) => ({ id: t.id, name: t.name, version: t.version, description: t.description,
      ports: t.ports, source: t.source.type }));
    return page(request, reply, 'admin/templates', i18n.t(request.web.lang, 'manage.templates.title'), { templates }, { nav: 'admin/templates' });
  });

  app.get<IdRoute>('/templates/:id', async (request, reply) => {
    const template = ctx.templates.get(request.params.id);
    if (!template) throw new NotFoundError('template', request.params.id);
    const defaultPlan = template.defaults ? ctx.repos.plans.byName(template.defaults.plan) : undefined;
    const source = template.source.type === 'registry' ? `registry: ${template.source.reference}`
      : template.source.type === 'debootstrap' ? `debootstrap: ${template.source.suite}` : template.source.type;
    const using = ctx.repos.environments.countWithTemplate(template.id);
    return page(request, reply, 'admin/template', template.name, {
      captured: template.source.type === 'captured' ? { ...template.source, using } : null,
      template: { id: template.id, name: template.name, version: template.version, description: template.description,
        ports: template.ports, dataPath: template.dataPath, capabilities: template.capabilities, user: template.user,
        command: template.command.join(' ') },
      source, defaultPlanName: template.defaults?.plan ?? null, defaultPlan,
    }, { nav: 'admin/templates' });
  });

  app.post<IdRoute>('/templates/:id/delete', async (request, reply) => {
    deleteCapturedTemplate(ctx, request.params.id);
    request.auditNote = { action: 'template.delete', resourceType: 'template', resourceId: request.params.id };
    return reply.redirect('/admin/templates', 303);
  });
};
