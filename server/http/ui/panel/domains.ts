import type { FastifyInstance } from 'fastify';
import { environmentFor } from '../../../services/environments.js';
import { addDomain, checkDomainNow, deleteDomain, domainFor, listDomains, uploadCertificate } from '../../../services/domains.js';
import { defaultHostname } from '../../../read-models/views.js';
import { KuraError } from '../../../lib/errors.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';
import { field, webPrincipal } from '../web-request.js';

type IdRoute = { Params: { id: string } };

/** An environment's own domain names: what to set in DNS, a check on demand, adding and removing. */
export const domainPages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;

  const render = (request: Parameters<typeof webPrincipal>[0], reply: Parameters<typeof page>[1], envId: string,
    extra: { error?: string; value?: string; status?: number } = {}) => {
    const who = webPrincipal(request);
    const env = environmentFor(ctx, who, envId);
    const domains = listDomains(ctx, who, env.id);
    return page(request, reply, 'panel/domains', i18n.t(request.web.lang, 'panel.domains.title', { name: env.name }),
      { env, hostname: defaultHostname(ctx, env), domains, error: extra.error, value: extra.value },
      { nav: 'panel/environments', ...(extra.status ? { status: extra.status } : {}) });
  };

  app.get<IdRoute>('/environments/:id/domains', async (request, reply) => render(request, reply, request.params.id));

  app.post<IdRoute>('/environments/:id/domains', async (request, reply) => {
    const name = field(request.body, 'name');
    try {
      const d = addDomain(ctx, webPrincipal(request), request.params.id, name);
      request.auditNote = { action: 'domain.add', resourceType: 'domain', resourceId: d.id, detail: `name=${d.asciiName} environment=${d.environmentId}` };
      return reply.redirect(`/panel/environments/${request.params.id}/domains`, 303);
    } catch (err) {
      if (!(err instanceof KuraError) || err.status >= 500 || err.status === 404) throw err;
      return render(request, reply, request.params.id, { error: err.message, value: name, status: err.status });
    }
  });

  app.post<IdRoute>('/domains/:id/check', async (request, reply) => {
    const d = await checkDomainNow(ctx, webPrincipal(request), request.params.id);
    request.auditNote = { action: 'domain.check', resourceType: 'domain', resourceId: d.id, detail: `name=${d.asciiName} status=${d.status}` };
    return reply.redirect(`/panel/environments/${d.environmentId}/domains#${d.id}`, 303);
  });

  app.post<IdRoute>('/domains/:id/certificate', async (request, reply) => {
    const d = domainFor(ctx, webPrincipal(request), request.params.id);
    try {
      uploadCertificate(ctx, webPrincipal(request), d.id, field(request.body, 'cert'), field(request.body, 'key'));
      request.auditNote = { action: 'domain.certificate', resourceType: 'domain', resourceId: d.id, detail: `name=${d.asciiName} source=uploaded` };
      return reply.redirect(`/panel/environments/${d.environmentId}/domains#${d.id}`, 303);
    } catch (err) {
      if (!(err instanceof KuraError) || err.status >= 500 || err.status === 404) throw err;
      return render(request, reply, d.environmentId, { error: `${d.name}: ${err.message}`, status: err.status });
    }
  });

  app.post<IdRoute>('/domains/:id/delete', async (request, reply) => {
    const d = domainFor(ctx, webPrincipal(request), request.params.id);
    deleteDomain(ctx, webPrincipal(request), d.id);
    request.auditNote = { action: 'domain.delete', resourceType: 'domain', resourceId: d.id, detail: `name=${d.asciiName}` };
    return reply.redirect(`/panel/environments/${d.environmentId}/domains`, 303);
  });
};
