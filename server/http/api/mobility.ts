import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { consolidationPreview, DEFAULT_HEADROOM, DEFAULT_THRESHOLD, rebalancePreview } from '../../read-models/fleet-plan.js';
import { startConsolidation, startEvacuation, startRebalance, startRestore } from '../../services/mobility.js';
import { accepted, requireAdmin } from '../auth.js';
import { IdParams, OperationAccepted, errors } from './schemas.js';

const Headroom = Type.Number({ minimum: 0, maximum: 0.9, default: DEFAULT_HEADROOM,
  description: 'fraction of each remaining node\'s CPU, memory, disk and environment slots kept free' });
const Threshold = Type.Number({ minimum: 0.05, maximum: 1, default: DEFAULT_THRESHOLD,
  description: 'load spread (most minus least loaded node, 0..1) above which environments are moved' });
const ConsolidationBody = Type.Optional(Type.Object({ headroom: Type.Optional(Headroom) }, { additionalProperties: false }));
const RebalanceBody = Type.Optional(Type.Object({ threshold: Type.Optional(Threshold), headroom: Type.Optional(Headroom) },
  { additionalProperties: false }));


const NodeLoad = Type.Object({
  nodeId: Type.String(), name: Type.String(),
  state: Type.Union([Type.Literal('active'), Type.Literal('maintenance'), Type.Literal('disabled')]),
  status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  environments: Type.Integer(), cpus: Type.Number(), memoryMb: Type.Integer(),
  load: Type.Number({ description: 'the larger of the CPU and memory fractions in use, allocated or observed' }),
});
const Move = Type.Object({
  environmentId: Type.String(), name: Type.String(), from: Type.String(), fromName: Type.String(), to: Type.String(), toName: Type.String(),
});
const ConsolidationPlan = Type.Object({
  headroom: Type.Number(),
  before: Type.Object({ nodes: Type.Integer({ description: 'nodes holding at least one environment' }), perNode: Type.Array(NodeLoad) }),
  after: Type.Object({ nodes: Type.Integer(), perNode: Type.Array(NodeLoad) }),
  emptied: Type.Array(Type.Object({ nodeId: Type.String(), name: Type.String() })),
  moves: Type.Array(Move),
  kept: Type.Array(Type.Object({ nodeId: Type.String(), name: Type.String(), reason: Type.String() }),
    { description: 'nodes in use that stay in use, with the environment that had nowhere to go' }),
});
const RebalancePlan = Type.Object({
  threshold: Type.Number(), headroom: Type.Number(),
  before: Type.Object({ spread: Type.Number(), perNode: Type.Array(NodeLoad) }),
  after: Type.Object({ spread: Type.Number(), perNode: Type.Array(NodeLoad) }),
  moves: Type.Array(Move),
  outcome: Type.Union([Type.Literal('balanced'), Type.Literal('no_better_move'), Type.Literal('move_cap'), Type.Literal('too_few_nodes')]),
});

/** Draining nodes for maintenance, bringing them back, consolidating and rebalancing the fleet (admin). */
export const mobilityRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const tags = ['mobility'];

  app.post('/nodes/:id/evacuate', {
    schema: {
      tags, params: IdParams, response: { 202: OperationAccepted, ...errors(401, 403, 404, 409) },
      operationId: 'evacuateNode', summary: 'Put a node in maintenance and move all its environments to other nodes, as one operation with child moves',
      description: 'Puts the node in maintenance, so nothing new lands on it, and moves each of its environments to another node within capacity.'
        + ' Answers 202 with the operation. Admin only: a customer token gets 403.',
    },
  }, async (request, reply) => {
    requireAdmin(request);
    const op = startEvacuation(ctx, request.params.id);
    return accepted(reply, op);
  });

  app.post('/nodes/:id/restore', {
    schema: {
      tags, params: IdParams, response: { 202: OperationAccepted, ...errors(401, 403, 404, 409) },
      operationId: 'restoreNode', summary: 'Make a node active again and bring back the environments its latest evacuation moved away',
      description: 'Ends the node\'s maintenance and moves back the environments its latest evacuation took away.'
        + ' Answers 202 with the operation. Admin only: a customer token gets 403.',
    },
  }, async (request, reply) => {
    requireAdmin(request);
    const op = startRestore(ctx, request.params.id);
    return accepted(reply, op);
  });

  app.post('/fleet/consolidation/preview', {
    schema: {
      tags, body: ConsolidationBody, response: { 200: ConsolidationPlan, ...errors(400, 401, 403) },
      operationId: 'previewConsolidation',
      summary: 'The moves that would empty as many nodes as possible while keeping the headroom, with node counts before and after',
      description: 'Plans, without moving anything, which environments to move so that as many nodes as possible end up empty while every node'
        + ' in use keeps the headroom free. Admin only: a customer token gets 403.',
    },
  }, async (request) => {
    requireAdmin(request);
    return consolidationPreview(ctx, { headroom: request.body?.headroom });
  });

  app.post('/fleet/consolidation/apply', {
    schema: {
      tags, body: ConsolidationBody, response: { 202: OperationAccepted, ...errors(400, 401, 403, 409) },
      operationId: 'applyConsolidation', summary: 'Plan the consolidation again and run it as one operation with child moves',
      description: 'Plans the consolidation again on the fleet as it is when it runs, and makes the moves. Answers 202 with the operation,'
        + ' or 409 while another consolidation or rebalance runs. Admin only: a customer token gets 403.',
    },
  }, async (request, reply) => {
    requireAdmin(request);
    const op = startConsolidation(ctx, { headroom: request.body?.headroom });
    return accepted(reply, op);
  });

  app.post('/fleet/rebalance/preview', {
    schema: {
      tags, body: RebalanceBody, response: { 200: RebalancePlan, ...errors(400, 401, 403) },
      operationId: 'previewRebalance', summary: 'The moves that would bring the load spread across active nodes under the threshold',
      description: 'Plans, without moving anything, the moves that bring the difference between the most and the least loaded active node'
        + ' under the threshold. Admin only: a customer token gets 403.',
    },
  }, async (request) => {
    requireAdmin(request);
    return rebalancePreview(ctx, { threshold: request.body?.threshold, headroom: request.body?.headroom });
  });

  app.post('/fleet/rebalance/apply', {
    schema: {
      tags, body: RebalanceBody, response: { 202: OperationAccepted, ...errors(400, 401, 403, 409) },
      operationId: 'applyRebalance', summary: 'Plan the rebalance again and run it as one operation with child moves',
      description: 'Plans the rebalance again on the fleet as it is when it runs, and makes the moves. Answers 202 with the operation,'
        + ' or 409 while another consolidation or rebalance runs. Admin only: a customer token gets 403.',
    },
  }, async (request, reply) => {
    requireAdmin(request);
    const op = startRebalance(ctx, { threshold: request.body?.threshold, headroom: request.body?.headroom });
    return accepted(reply, op);
  });
};
