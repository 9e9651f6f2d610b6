import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { startMove } from '../../services/moves.js';
import { accepted, requireAdmin } from '../auth.js';
import { IdParams, OperationAccepted, errors } from './schemas.js';

const RefId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

/** Moving one environment to another node (admin). */
export const moveRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  app.post('/environments/:id/migrate', {
    schema: {
      tags: ['mobility'], operationId: 'migrateEnvironment', params: IdParams,
      description: 'Copies the environment to another node while it keeps running, then stops it for a short final sync and switches over.'
        + ' Answers 202 with the operation. Admin only: a customer token gets 403.',
      summary: 'Move an environment to another node while it runs (the panel picks the node when none is given)',
      body: Type.Optional(Type.Object({ nodeId: Type.Optional(RefId) }, { additionalProperties: false })),
      response: { 202: OperationAccepted, ...errors(400, 401, 403, 404, 409, 503) },
    },
  }, async (request, reply) => {
    requireAdmin(request);
    const op = startMove(ctx, request.params.id, { nodeId: request.body?.nodeId });
    return accepted(reply, op);
  });
};
