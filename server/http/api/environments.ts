import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { createEnvironment, destroyEnvironment, environmentAction, environmentFor, reinstallEnvironment, resizeEnvironment } from '../../services/environments.js';
import { environmentLogs, environmentStats } from '../../services/environment-io.js';
import { environmentView } from '../../read-models/views.js';
import { accepted, principal } from '../auth.js';
import { paginate } from './pagination.js';
import { RenderCache } from './render-cache.js';
import { Environment, EnvironmentState, IdParams, ListQuery, Operation, OperationAccepted, Slug, Stats, errors, page } from './schemas.js';

const RefId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
export const CreateEnvironmentBody = Type.Object({ name: Slug, templateId: RefId, planId: RefId, customerId: Type.Optional(RefId),
  nodeId: Type.Optional(RefId) }, { additionalProperties: false });
const EnvironmentAccepted = Type.Object({ environment: Environment, operation: Operation });
const HistoryEvent = Type.Object({ id: Type.Integer(), at: Type.String(), kind: Type.String(), exitCode: Type.Union([Type.Integer(), Type.Null()]),
  message: Type.String(),
  count: Type.Integer({ minimum: 1, description: 'How many times it happened in a row: a repeat within 10 minutes of the last one adds to it' }),
  lastAt: Type.String({ description: 'When it last happened (equal to at when once)' }) });

export const environmentRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const tags = ['environments'];
  const listCache = new RenderCache();

  app.post('/environments', {
    schema: {
      tags, operationId: 'createEnvironment', summary: 'Create an environment from a template with a plan',
      description: 'Reserves room on a node within the customer\'s limits and starts provisioning: answers 202 with the environment and the operation.'
        + ' A customer token creates for itself and may not choose the node (403); an admin token must give customerId and may give nodeId.',
      body: CreateEnvironmentBody,
      response: { 202: EnvironmentAccepted, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    const { environment, operation } = createEnvironment(ctx, principal(request), request.body);
    return accepted(reply, operation, { environment: environmentView(ctx, environment) });
  });

  app.get('/environments', {
    schema: {
      tags, operationId: 'listEnvironments', summary: 'List environments (a customer token sees its own)',
      description: 'Lists environments a page at a time, optionally of one customer, on one node or in one state.'
        + ' An admin token sees all of them, a customer token only its own.',
      querystring: Type.Object({ ...ListQuery, customerId: Type.Optional(RefId), nodeId: Type.Optional(RefId), state: Type.Optional(EnvironmentState) }),
      response: { 200: page(Environment), ...errors(400, 401) },
    },
  }, async (request, reply) => {
    const who = principal(request);
    const { limit, cursor, customerId, nodeId, state } = request.query;
    if (who.kind === 'customer' && customerId !== undefined && customerId !== who.customerId) return { items: [], nextCursor: null };
    const filter = { customerId: who.kind === 'customer' ? who.customerId : customerId, nodeId, state };
    const stamp = `${ctx.repos.environments.version()}.${ctx.repos.nodes.version()}`;
    const key = JSON.stringify([filter, limit ?? 50, cursor ?? '']);
    let body = listCache.get(stamp, key);
    if (body === undefined) {
      const r = paginate((after, n) => ctx.repos.environments.page(after, n, filter), limit, cursor);
      const hosts = new Map(ctx.repos.nodes.all().map((n) => [n.id, n.publicHost]));
      body = reply.serialize({ items: r.items.map((e) => environmentView(ctx, e, hosts)), nextCursor: r.nextCursor }) as string;
      listCache.set(stamp, key, body);
    }
    // Already serialized by the route's own serializer; fastify sends strings as they are.
    return reply.type('application/json; charset=utf-8').send(body as never);
  });

  app.get('/environments/:id', {
    schema: { tags, operationId: 'getEnvironment', summary: 'Get an environment', params: IdParams, response: { 200: Environment, ...errors(401, 404) },
      description: 'One environment with its state, limits, endpoints and drift. A customer token sees only its own; another customer\'s answers 404.' },
  },
    async (request) => environmentView(ctx, environmentFor(ctx, principal(request), request.params.id)));

  app.post('/environments/:id/actions', {
    schema: {
      tags, operationId: 'runEnvironmentAction', summary: 'Start, stop or restart an environment', params: IdParams,
      description: 'Starts, stops or restarts the container: answers 202 with the operation. A suspended customer\'s environments cannot start (409).'
        + ' A customer token may act on its own environments only.',
      body: Type.Object({ action: Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('restart')]) }, { additionalProperties: false }),
      response: { 202: OperationAccepted, ...errors(400, 401, 404, 409) },
    },
  }, async (request, reply) => {
    const op = environmentAction(ctx, principal(request), request.params.id, request.body.action);
    return accepted(reply, op);
  });

  app.post('/environments/:id/reinstall', {
    schema: {
      tags, operationId: 'reinstallEnvironment', summary: 'Rebuild an environment from its template; its data is replaced (an extension to the v1 contract)',
      params: IdParams,
      description: 'Replaces the container and all of its data with a fresh one from the same template on the same node; name, plan and endpoints stay.'
        + ' Answers 202 with the operation. A customer token may reinstall its own environments only.',
      response: { 202: OperationAccepted, ...errors(400, 401, 404, 409, 503) },
    },
  }, async (request, reply) => {
    const op = reinstallEnvironment(ctx, principal(request), request.params.id);
    return accepted(reply, op);
  });

  app.patch('/environments/:id', {
    schema: {
      tags, operationId: 'resizeEnvironment', summary: 'Move an environment to another plan; CPU, memory and process limits change live', params: IdParams,
      description: 'Puts the environment on another plan, within the customer\'s limits and the node\'s capacity. CPU, memory and'
        + ' process limits change live. A different disk size rebuilds the environment with its data in a new container (a short'
        + ' stop, as in a move), on its node or, when that lacks room, on another node; a smaller disk that the data does not fit'
        + ' with headroom is refused with 409 naming both sizes. Answers 202 with the environment and the operation. A customer'
        + ' token may move its own environments only, and only to a plan marked selectable, while the customer has self-service on;'
        + ' otherwise 403.',
      body: Type.Object({ planId: RefId }, { additionalProperties: false }),
      response: { 202: EnvironmentAccepted, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    const who = principal(request);
    const op = await resizeEnvironment(ctx, who, request.params.id, request.body.planId);
    return accepted(reply, op, { environment: environmentView(ctx, environmentFor(ctx, who, request.params.id)) });
  });

  app.delete('/environments/:id', {
    schema: { tags, operationId: 'deleteEnvironment', summary: 'Delete an environment with its container and data', params: IdParams,
      description: 'Removes the container and its data: answers 202 with the operation, and a repeated call answers with the same operation.'
        + ' A customer token may delete its own environments only.',
      response: { 202: OperationAccepted, ...errors(401, 404) } },
  }, async (request, reply) => {
    const op = destroyEnvironment(ctx, principal(request), request.params.id);
    return accepted(reply, op);
  });

  app.get('/environments/:id/stats', {
    schema: { tags, operationId: 'getEnvironmentStats', summary: 'Live usage', params: IdParams, response: { 200: Stats, ...errors(401, 404, 409, 503) },
      description: 'Current CPU, memory, process, network and disk use, read from the node: 409 while there is no container yet, 503 when the node'
        + ' does not answer. A customer token sees only its own environments.' },
  },
    async (request) => environmentStats(ctx, environmentFor(ctx, principal(request), request.params.id)));

  app.get('/environments/:id/events', {
    schema: { tags, operationId: 'listEnvironmentEvents',
      summary: 'The environment\'s lifecycle history, newest first: started, stopped, died (with exit code), OOM, drift',
      description: 'What happened to the container, newest first and a page at a time: started, stopped, died with its exit code, OOM-killed,'
        + ' removed, drift found and restored. Repeats (an OOM or crash loop) are counted on one event (count, lastAt), and the newest 500'
        + ' events are kept. A customer token sees only its own environments.',
      params: IdParams,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
        cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })) }),
      response: { 200: Type.Object({ items: Type.Array(HistoryEvent), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errors(400, 401, 404) } },
  }, async (request) => {
    const env = environmentFor(ctx, principal(request), request.params.id);
    const limit = request.query.limit ?? 50;
    const rows = ctx.repos.history.page(env.id, request.query.cursor ? Number(request.query.cursor) : Number.MAX_SAFE_INTEGER, limit + 1);
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit ? String(items[items.length - 1]!.id) : null };
  });

  app.get('/environments/:id/logs', {
    schema: { tags, operationId: 'getEnvironmentLogs', summary: 'The container\'s recent output (text/plain)', params: IdParams,
      description: 'The last `tail` lines (200 unless given) of what the container wrote, as plain text. A customer token sees only its own environments.',
      querystring: Type.Object({ tail: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, default: 200 })) }),
      response: { 200: { description: 'The output as text', content: { 'text/plain': { schema: Type.String() } } }, ...errors(400, 401, 404, 409, 503) } },
  }, async (request, reply) => {
    const text = await environmentLogs(ctx, environmentFor(ctx, principal(request), request.params.id), request.query.tail ?? 200);
    return reply.type('text/plain; charset=utf-8').send(text);
  });
};
