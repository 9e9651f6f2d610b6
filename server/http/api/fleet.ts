import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { placementPreview } from '../../read-models/placement-preview.js';
import type { Context } from '../../core/context.js';
import { preloadTemplate } from '../../services/templates.js';
import { accepted, requireAdmin } from '../auth.js';
import { IdParams, OperationAccepted, errors } from './schemas.js';

const RefId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const Preview = Type.Object({
  chosen: Type.Union([Type.String(), Type.Null()]),
  nodes: Type.Array(Type.Object({
    nodeId: Type.String(), name: Type.String(), eligible: Type.Boolean(), score: Type.Union([Type.Number(), Type.Null()]),
    reason: Type.Union([Type.String(), Type.Null()]),
    allocated: Type.Object({ cpus: Type.Number(), memoryMb: Type.Integer(), diskMb: Type.Integer(), environments: Type.Integer() }),
  })),
});

export const fleetRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  app.post('/placement/preview', {
    schema: {
      tags: ['fleet'], operationId: 'previewPlacement',
      summary: 'Where an environment with this plan would go, with each node\'s score or the reason it is excluded (admin)',
      description: 'Scores every node for an environment with this plan as creating one would, and names the node it would choose; nothing is created.'
        + ' Admin only: a customer token gets 403.',
      body: Type.Object({ planId: RefId }, { additionalProperties: false }),
      response: { 200: Preview, ...errors(400, 401, 403) },
    },
  }, async (request) => {
    requireAdmin(request);
    return placementPreview(ctx, request.body.planId);
  });

  app.post('/templates/:id/preload', {
    schema: {
      tags: ['templates'], operationId: 'preloadTemplate', summary: 'Load a template into the cache of every active node, as one operation (admin)',
      description: 'Loads the template\'s image on every active node ahead of time, so environments made from it later start sooner.'
        + ' Answers 202 with the operation. Admin only: a customer token gets 403.',
      params: IdParams, response: { 202: OperationAccepted, ...errors(401, 403, 404) },
    },
  }, async (request, reply) => {
    requireAdmin(request);
    const op = preloadTemplate(ctx, request.params.id);
    return accepted(reply, op);
  });
};
