import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isKind } from '../../../db/repos/operations.js';
import { publicOperation } from '../../../db/repos/operations.js';
import { KuraError, NotFoundError } from '../../../lib/errors.js';
import { startImportFrom, startPreflight } from '../../../services/imports.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';
import { form } from '../forms.js';

type IdRoute = { Params: { id: string } };

/**
 * Imports in the admin console: a source's login, then its preflight report (facts, and
 * findings by severity with their actions), shown before anything is copied.
 */
export const importPages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;
  const t = (request: FastifyRequest, key: string) => i18n.t(request.web.lang, key);

  const renderForm = (request: FastifyRequest, reply: Parameters<typeof page>[1], extra: Record<string, unknown> = {}, status = 200) => {
    const recent = ctx.repos.operations.recent(200).filter((o) => o.kind === 'preflight').slice(0, 20).map((o) => publicOperation(o));
    const plans = ctx.repos.plans.page('', 1000);
    return page(request, reply, 'admin/imports', t(request, 'admin.imports.title'), { recent, plans, values: { port: 22, user: 'root' }, ...extra },
      { status, nav: 'admin/imports' });
  };

  app.get('/imports', async (request, reply) => renderForm(request, reply));

  app.post('/imports/preflight', async (request, reply) => {
    const b = request.body;
    const values = { host: form.text(b, 'host') ?? '', port: form.number(b, 'port'), user: form.text(b, 'user') ?? '', planId: form.text(b, 'planId') };
    try {
      const port = values.port === undefined ? 22 : values.port;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw new KuraError('bad_request', t(request, 'admin.imports.badPort'), { field: 'port' });
      }
      const op = startPreflight(ctx, { source: { type: 'ssh', host: values.host, port, user: values.user,
        password: form.text(b, 'password'), privateKey: form.text(b, 'privateKey') }, planId: values.planId });
      request.auditNote = { action: 'import.preflight', resourceType: 'import', resourceId: op.resource.id, detail: `source=${values.user}@${values.host}:${port}` };
      return reply.redirect(`/admin/imports/${op.id}`, 303);
    } catch (err) {
      if (!(err instanceof KuraError) || err.status >= 500) throw err;
      return renderForm(request, reply, { values, error: err.message }, err.status);
    }
  });

  app.get<IdRoute>('/imports/:id', async (request, reply) => {
    const op = ctx.repos.operations.get(request.params.id);
    if (!op || !isKind(op, 'preflight')) throw new NotFoundError('preflight', request.params.id);
    const report = op.result as { facts: Record<string, unknown>; findings: { severity: string }[] } | null;
    const order = { blocker: 0, warning: 1, info: 2 } as Record<string, number>;
    const findings = report ? [...report.findings].sort((x, y) => (order[x.severity] ?? 3) - (order[y.severity] ?? 3)) : [];
    return page(request, reply, 'admin/import', t(request, 'admin.imports.reportTitle'), {
      operation: publicOperation(op), source: op.params.source, planId: op.params.planId ?? null,
      facts: report?.facts ?? null, findings, blockers: findings.filter((f) => f.severity === 'blocker').length,
      customers: ctx.repos.customers.page('', 1000).map((c) => ({ id: c.id, name: c.name })),
      plans: ctx.repos.plans.page('', 1000), nodes: ctx.repos.nodes.all().map((n) => ({ id: n.id, name: n.name })),
      error: (request.query as { error?: string }).error ?? null,
    }, { nav: 'admin/imports' });
  });

  // The import itself, from the report's page: the login kept (sealed) from the preflight.
  app.post<IdRoute>('/imports/:id/import', async (request, reply) => {
    const op = ctx.repos.operations.get(request.params.id);
    if (!op || !isKind(op, 'preflight')) throw new NotFoundError('preflight', request.params.id);
    const b = request.body;
    try {
      const r = await startImportFrom(ctx, op.params.source, {
        name: form.text(b, 'name') ?? '', customerId: form.text(b, 'customerId') ?? '', planId: form.text(b, 'planId') ?? '',
        nodeId: form.text(b, 'nodeId'), force: form.checked(b, 'force'),
      });
      request.auditNote = { action: 'import.start', resourceType: 'environment', resourceId: r.environment.id,
        detail: `source=${op.params.source.user}@${op.params.source.host}:${op.params.source.port}` };
      return reply.redirect(`/panel/environments/${r.environment.id}?op=${r.operation.id}`, 303);
    } catch (err) {
      if (!(err instanceof KuraError) || err.status >= 500) throw err;
      return reply.redirect(`/admin/imports/${op.id}?error=${encodeURIComponent(err.message)}`, 303);
    }
  });
};
