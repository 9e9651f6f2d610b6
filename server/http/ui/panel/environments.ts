import { captureTemplate } from '../../../services/templates.js';
import type { FastifyInstance } from 'fastify';
import { environmentAction, environmentFor, reinstallEnvironment, resizeEnvironment } from '../../../services/environments.js';
import { startMove } from '../../../services/moves.js';
import { environmentLogs, environmentStats } from '../../../services/environment-io.js';
import { usageHistory } from '../../../read-models/usage-history.js';
import { customerEnvironments, environmentOverview } from '../../../read-models/environment-overview.js';
import { planChoices } from '../../../read-models/plan-choices.js';
import { defaultHostname } from '../../../read-models/views.js';
import { listDomains } from '../../../services/domains.js';
import { sftpHostKey } from '../../../services/sftp-host-key.js';
import { BadRequestError, customerErrorText, errorMessage } from '../../../lib/errors.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';
import { field, requireAdminPage, signedIn, webPrincipal } from '../web-request.js';
import { stateLabels } from '../labels.js';

type IdRoute = { Params: { id: string } };

const LOGS_WAIT_MS = 1500;

function withinMs<T>(work: Promise<T>, ms: number, late: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => { timer = setTimeout(() => resolve(late), ms); });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** A customer's environments: the list, one environment's page and its actions. */
export const environmentPages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;

  app.get('/', async (request, reply) => {
    const active = signedIn(request);
    if (active.principal.kind === 'admin') return reply.redirect('/admin/environments', 303);
    const customer = ctx.repos.customers.get(active.principal.customerId)!;
    const environments = customerEnvironments(ctx, customer.id);
    const lang = request.web.lang;
    return page(request, reply, 'panel/environments', i18n.t(lang, 'panel.environments.title'),
      { customer, environments, stateLabels: stateLabels(i18n, lang) }, { nav: 'panel/environments' });
  });

  app.get<IdRoute>('/environments/:id', async (request, reply) => {
    const who = webPrincipal(request);
    const env = environmentFor(ctx, who, request.params.id);
    const lang = request.web.lang;
    const audience = who.kind;
    // The page does not wait long on a slow node: the logs stay one click away.
    const logs = await withinMs(environmentLogs(ctx, env, 200), LOGS_WAIT_MS, i18n.t(lang, 'panel.logs.slow'))
      .catch((err: unknown) => `(${audience === 'admin' ? errorMessage(err) : customerErrorText(err, ctx.repos.nodes.names())})`);
    return page(request, reply, 'panel/environment', env.name, { ...environmentOverview(ctx, env, audience), logs, stateLabels: stateLabels(i18n, lang),
      planChoices: planChoices(ctx, env, audience), hostname: defaultHostname(ctx, env),
      domains: listDomains(ctx, who, env.id), hostKey: ctx.config.sftpPort === null ? null : sftpHostKey(ctx).fingerprint },
    { nav: 'panel/environments', inlineStyles: true });
  });

  // Changing plan: the choices are on the environment's page; this page shows the difference and asks once more.
  app.get<IdRoute & { Querystring: { planId?: string } }>('/environments/:id/plan', async (request, reply) => {
    const who = webPrincipal(request);
    const env = environmentFor(ctx, who, request.params.id);
    const choices = planChoices(ctx, env, who.kind);
    const choice = choices.choices.find((c) => c.plan.id === request.query.planId);
    if (!choice) throw new BadRequestError(i18n.t(request.web.lang, 'panel.plan.unknown'), { field: 'planId' });
    return page(request, reply, 'panel/plan-change', i18n.t(request.web.lang, 'panel.plan.confirmTitle', { name: env.name }),
      { env, current: choices.current?.name ?? env.planId, choice }, { nav: 'panel/environments' });
  });

  app.post<IdRoute>('/environments/:id/plan', async (request, reply) => {
    const op = await resizeEnvironment(ctx, webPrincipal(request), request.params.id, field(request.body, 'planId'));
    request.auditNote = { action: 'environment.plan', resourceType: 'environment', resourceId: request.params.id, detail: `plan=${op.params.planId}` };
    return reply.redirect(`/panel/environments/${request.params.id}?op=${op.id}`, 303);
  });

  app.get<IdRoute>('/environments/:id/stats.json', async (request) => {
    const env = environmentFor(ctx, webPrincipal(request), request.params.id);
    return environmentStats(ctx, env);
  });

  app.get<IdRoute>('/environments/:id/usage.json', async (request) =>
    usageHistory(ctx, environmentFor(ctx, webPrincipal(request), request.params.id), 24));

  app.get<IdRoute & { Querystring: { tail?: string } }>('/environments/:id/logs.txt', async (request, reply) => {
    const env = environmentFor(ctx, webPrincipal(request), request.params.id);
    const tail = Math.min(Math.max(Number.parseInt(request.query.tail ?? '200', 10) || 200, 1), 10_000);
    return reply.type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(await environmentLogs(ctx, env, tail));
  });

  app.post<IdRoute>('/environments/:id/actions', async (request, reply) => {
    const action = field(request.body, 'action');
    if (action !== 'start' && action !== 'stop' && action !== 'restart') {
      throw new BadRequestError('action must be start, stop or restart', { field: 'action' });
    }
    const op = environmentAction(ctx, webPrincipal(request), request.params.id, action);
    request.auditNote = { action: `environment.${action}`, resourceType: 'environment', resourceId: request.params.id };
    return reply.redirect(`/panel/environments/${request.params.id}?op=${op.id}`, 303);
  });

  app.post<IdRoute>('/environments/:id/migrate', async (request, reply) => {
    requireAdminPage(request);
    const nodeId = field(request.body, 'nodeId');
    const op = startMove(ctx, request.params.id, { nodeId: nodeId || undefined });
    request.auditNote = { action: 'environment.migrate', resourceType: 'environment', resourceId: request.params.id,
      detail: `target=${op.params.targetNodeId}` };
    return reply.redirect(`/panel/environments/${request.params.id}?op=${op.id}`, 303);
  });

  app.post<IdRoute>('/environments/:id/template', async (request, reply) => {
    requireAdminPage(request);
    const op = captureTemplate(ctx, request.params.id, { id: field(request.body, 'id'), name: field(request.body, 'name'), version: field(request.body, 'version') });
    request.auditNote = { action: 'template.capture', resourceType: 'template', resourceId: op.resource.id, detail: `environment=${request.params.id} version=${op.params.version}` };
    return reply.redirect(`/panel/environments/${request.params.id}?op=${op.id}`, 303);
  });

  app.post<IdRoute>('/environments/:id/reinstall', async (request, reply) => {
    const env = environmentFor(ctx, webPrincipal(request), request.params.id);
    if (field(request.body, 'confirmName') !== env.name) {
      throw new BadRequestError(i18n.t(request.web.lang, 'panel.reinstall.mismatch', { name: env.name }), { field: 'confirmName' });
    }
    const op = reinstallEnvironment(ctx, webPrincipal(request), env.id);
    request.auditNote = { action: 'environment.reinstall', resourceType: 'environment', resourceId: env.id };
    return reply.redirect(`/panel/environments/${env.id}?op=${op.id}`, 303);
  });
};
