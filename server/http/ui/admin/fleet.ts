import type { FastifyInstance } from 'fastify';
import { publicOperation } from '../../../db/repos/operations.js';
import type { NodeSummary } from '../../../domain/fleet-plan.js';
import { BadRequestError } from '../../../lib/errors.js';
import { consolidationPreview, DEFAULT_HEADROOM, DEFAULT_THRESHOLD, rebalancePreview } from '../../../read-models/fleet-plan.js';
import { FLEET_RESOURCE, startConsolidation, startEvacuation, startRebalance, startRestore } from '../../../services/mobility.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';
import { field } from '../web-request.js';
import { stateLabels } from '../labels.js';

type IdRoute = { Params: { id: string } };

/** Whole percents in forms and links; the services take fractions. */
const HEADROOM = { name: 'headroom', min: 0, max: 90, fallback: Math.round(DEFAULT_HEADROOM * 100) };
const THRESHOLD = { name: 'threshold', min: 5, max: 100, fallback: Math.round(DEFAULT_THRESHOLD * 100) };

/** Fleet mobility in the console: consolidation and rebalance previews with Apply, node evacuation and restore. */
export const fleetPages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;

  app.get('/fleet', async (request, reply) => {
    const headroom = percent(request.query, HEADROOM);
    const threshold = percent(request.query, THRESHOLD);
    const consolidation = consolidationPreview(ctx, { headroom: headroom / 100 });
    const rebalance = rebalancePreview(ctx, { threshold: threshold / 100, headroom: headroom / 100 });
    const latest = (['consolidate', 'rebalance'] as const).flatMap((kind) => ctx.repos.operations.latestOf(kind, FLEET_RESOURCE.id) ?? [])
      .sort((a, b) => b.id.localeCompare(a.id)).map((op) => publicOperation(op));
    return page(request, reply, 'admin/fleet', i18n.t(request.web.lang, 'mobility.fleet.title'), {
      headroom, threshold, consolidation, rebalance, latest,
      consolidationNodes: compare(consolidation.before.perNode, consolidation.after.perNode),
      rebalanceNodes: compare(rebalance.before.perNode, rebalance.after.perNode),
      spreadBefore: Math.round(rebalance.before.spread * 100), spreadAfter: Math.round(rebalance.after.spread * 100),
      stateLabels: stateLabels(i18n, request.web.lang),
    }, { nav: 'admin/fleet' });
  });

  app.post('/fleet/consolidation', async (request, reply) => {
    const headroom = percent(request.body, HEADROOM);
    const op = startConsolidation(ctx, { headroom: headroom / 100 });
    request.auditNote = { action: 'fleet.consolidate', resourceType: 'fleet', resourceId: FLEET_RESOURCE.id, detail: `headroom=${headroom}% op=${op.id}` };
    return reply.redirect(`/admin/fleet?headroom=${headroom}`, 303);
  });

  app.post('/fleet/rebalance', async (request, reply) => {
    const headroom = percent(request.body, HEADROOM);
    const threshold = percent(request.body, THRESHOLD);
    const op = startRebalance(ctx, { threshold: threshold / 100, headroom: headroom / 100 });
    request.auditNote = { action: 'fleet.rebalance', resourceType: 'fleet', resourceId: FLEET_RESOURCE.id,
      detail: `threshold=${threshold}% headroom=${headroom}% op=${op.id}` };
    return reply.redirect(`/admin/fleet?headroom=${headroom}&threshold=${threshold}`, 303);
  });

  app.post<IdRoute>('/nodes/:id/evacuate', async (request, reply) => {
    const op = startEvacuation(ctx, request.params.id);
    request.auditNote = { action: 'node.evacuate', resourceType: 'node', resourceId: request.params.id, detail: `op=${op.id}` };
    return reply.redirect(`/admin/nodes/${request.params.id}`, 303);
  });

  app.post<IdRoute>('/nodes/:id/restore', async (request, reply) => {
    const op = startRestore(ctx, request.params.id);
    request.auditNote = { action: 'node.restore', resourceType: 'node', resourceId: request.params.id, detail: `op=${op.id}` };
    return reply.redirect(`/admin/nodes/${request.params.id}`, 303);
  });
};

/** A whole percent from a query or form field within bounds, or the default when the field is empty. */
function percent(source: unknown, p: { name: string; min: number; max: number; fallback: number }): number {
  const text = field(source, p.name);
  if (text === '') return p.fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < p.min || n > p.max) {
    throw new BadRequestError(`${p.name} must be a whole percent from ${p.min} to ${p.max}`, { field: p.name });
  }
  return n;
}

/** Each node before and after a plan, side by side, loads in percent. */
function compare(before: NodeSummary[], after: NodeSummary[]) {
  return before.map((b, i) => {
    const a = after[i] ?? b;
    return { nodeId: b.nodeId, name: b.name, state: b.state, status: b.status, environmentsBefore: b.environments,
      environmentsAfter: a.environments, loadBefore: Math.round(b.load * 100), loadAfter: Math.round(a.load * 100),
      changed: a.environments !== b.environments };
  });
}
