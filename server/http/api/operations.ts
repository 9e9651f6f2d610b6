import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Principal } from '../../domain/types.js';
import type { Context } from '../../core/context.js';
import { waitForOperation } from '../../services/operations.js';
import { publicOperation, type OperationView } from '../../db/repos/operations.js';
import { NotFoundError } from '../../lib/errors.js';
import { principal } from '../auth.js';
import { paginate } from './pagination.js';
import { IdParams, ListQuery, Operation, errors, page } from './schemas.js';
import { maySee } from '../../domain/access.js';

function visible(op: OperationView | undefined, who: Principal, id: string): OperationView {
  if (!op || !maySee(who, op.customerId)) throw new NotFoundError('operation', id);
  return op;
}

export const operationRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const tags = ['operations'];

  app.get('/operations', {
    schema: { tags, operationId: 'listOperations', summary: 'List operations, optionally for one resource',
      description: 'Lists operations a page at a time, optionally those on one resource (resourceId).'
        + ' An admin token sees all of them, a customer token only those of its own customer.',
      querystring: Type.Object({ ...ListQuery, resourceId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })) }),
      response: { 200: page(Operation), ...errors(400, 401) } },
  }, async (request) => {
    const who = principal(request);
    const filter = { resourceId: request.query.resourceId, customerId: who.kind === 'customer' ? who.customerId : undefined };
    const r = paginate((after, limit) => ctx.repos.operations.page(after, limit, filter), request.query.limit, request.query.cursor);
    return { items: r.items.map((op) => publicOperation(op, who.kind)), nextCursor: r.nextCursor };
  });

  /** A row its kind cannot read has no result to show (the view above still shows why it failed). */
  const resultOf = (id: string): unknown => {
    try {
      return ctx.repos.operations.get(id)?.result ?? null;
    } catch {
      return null;
    }
  };

  app.get('/operations/:id', {
    schema: { tags, operationId: 'getOperation', summary: 'Get an operation', params: IdParams, response: { 200: Operation, ...errors(401, 404) },
      description: 'One operation with its status, progress and error. A customer token sees only its own; another customer\'s answers 404.' },
  },
    async (request) => {
      const who = principal(request);
      const op = publicOperation(visible(ctx.repos.operations.view(request.params.id), who, request.params.id), who.kind);
      // What the operation found, for kinds that report something (a preflight's report, a batch's moves): admins only.
      const result = who.kind === 'admin' ? resultOf(op.id) : null;
      return result === null ? op : { ...op, result };
    });

  app.get('/operations/:id/wait', {
    schema: { tags, operationId: 'waitForOperation', summary: 'Wait until the operation ends or `timeout` seconds pass (at most 60)', params: IdParams,
      description: 'Answers as soon as the operation has succeeded, failed or been cancelled, or after `timeout` seconds (30 unless given),'
        + ' with the operation as it is then. A customer token sees only its own operations.',
      querystring: Type.Object({ timeout: Type.Optional(Type.Number({ minimum: 0, maximum: 60, default: 30 })) }),
      response: { 200: Operation, ...errors(400, 401, 404) } },
  }, async (request) => {
    const who = principal(request);
    visible(ctx.repos.operations.view(request.params.id), who, request.params.id);
    const op = await waitForOperation(ctx, request.params.id, (request.query.timeout ?? 30) * 1000);
    return publicOperation(visible(op, who, request.params.id), who.kind);
  });
};
