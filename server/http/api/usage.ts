import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { environmentFor } from '../../services/environments.js';
import { usageHistory } from '../../read-models/usage-history.js';
import { principal } from '../auth.js';
import { IdParams, Timestamp, errors } from './schemas.js';

export const UsageHistory = Type.Object({
  intervalSeconds: Type.Integer({ description: 'seconds between samples' }),
  points: Type.Array(Type.Object({
    at: Timestamp,
    cpuPercent: Type.Number({ description: 'percent of one core over the interval (200 = two cores busy)' }),
    memoryMb: Type.Number({ description: 'memory in use at the end of the interval, without page cache' }),
    netRxBytes: Type.Integer({ description: 'bytes received during the interval' }),
    netTxBytes: Type.Integer({ description: 'bytes sent during the interval' }),
  }), { description: 'oldest first; intervals in which the environment was not running have no point' }),
});

export const usageRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  app.get('/environments/:id/usage', {
    schema: {
      tags: ['environments'], operationId: 'getEnvironmentUsage', summary: 'Usage history: CPU, memory and network per interval over the last hours',
      params: IdParams,
      description: 'Sampled CPU, memory and network use per interval over the last `hours` (1 to 24, 24 unless given), oldest first.'
        + ' A customer token sees only its own environments.',
      querystring: Type.Object({ hours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24, default: 24 })) }),
      response: { 200: UsageHistory, ...errors(400, 401, 404) },
    },
  }, async (request) => usageHistory(ctx, environmentFor(ctx, principal(request), request.params.id), request.query.hours ?? 24));
};
