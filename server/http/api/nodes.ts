import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { deleteNode, getNode, nodeWithAllocation, patchNode, registerNode } from '../../services/nodes.js';
import { nodeView } from '../../read-models/views.js';
import { requireAdmin } from '../auth.js';
import { paginate } from './pagination.js';
import { IdParams, ListQuery, Node, Slug, errors, page } from './schemas.js';

const Pem = Type.String({ minLength: 1, maxLength: 20000 });
const Host = Type.String({ pattern: '^[A-Za-z0-9.:-]{1,253}$' });

export const RegisterNodeBody = Type.Object({
  name: Slug,
  endpoint: Type.String({ minLength: 1, maxLength: 300, description: 'unix:///path/docker.sock or tcp://host:port' }),
  tls: Type.Optional(Type.Object({ ca: Pem, cert: Pem, key: Pem }, { additionalProperties: false })),
  publicHost: Type.Optional(Host),
  maxEnvironments: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
  allowUnenforcedDisk: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

export const nodeRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const tags = ['nodes'];

  app.post('/nodes', {
    schema: {
      tags, operationId: 'registerNode', summary: 'Register a Docker node (the panel connects before answering)',
      description: 'Connects to the Docker engine at the endpoint (a unix socket, or tcp:// with mutual TLS) and records the node only if it answered.'
        + ' Admin only: a customer token gets 403.',
      body: RegisterNodeBody,
      response: { 201: Node, ...errors(400, 401, 403, 409) },
    },
  }, async (request, reply) => {
    requireAdmin(request);
    const node = await registerNode(ctx, request.body);
    return reply.code(201).send(nodeWithAllocation(ctx, node));
  });

  app.get('/nodes', {
    schema: { tags, operationId: 'listNodes', summary: 'List nodes', querystring: Type.Object(ListQuery), response: { 200: page(Node), ...errors(400, 401, 403) },
      description: 'Lists the registered nodes with their capacity and what is allocated on them, a page at a time. Admin only: a customer token gets 403.' },
  }, async (request) => {
    requireAdmin(request);
    const allocations = ctx.repos.nodes.allocations();
    const result = paginate((after, limit) => ctx.repos.nodes.page(after, limit), request.query.limit, request.query.cursor);
    return {
      items: result.items.map((n) => nodeView(ctx, n, allocations.get(n.id) ?? { cpus: 0, memoryMb: 0, diskMb: 0, environments: 0 })),
      nextCursor: result.nextCursor,
    };
  });

  app.get('/nodes/:id', { schema: { tags, operationId: 'getNode', summary: 'Get a node', params: IdParams, response: { 200: Node, ...errors(401, 403, 404) },
    description: 'One node with its capacity, allocation, state and status. Admin only: a customer token gets 403.' } },
    async (request) => {
      requireAdmin(request);
      return nodeWithAllocation(ctx, getNode(ctx, request.params.id));
    });

  app.patch('/nodes/:id', {
    schema: {
      tags, operationId: 'updateNode', summary: 'Change a node\'s state, environment cap, public host or overcommit ratios', params: IdParams,
      description: 'Changes only the fields given; a node in maintenance or disabled takes no new environments. Admin only: a customer token gets 403.',
      body: Type.Object({
        state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('maintenance'), Type.Literal('disabled')])),
        maxEnvironments: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
        publicHost: Type.Optional(Host),
        cpuOvercommit: Type.Optional(Type.Number({ minimum: 0.1, maximum: 64, description: 'CPUs placed per real CPU' })),
        memoryOvercommit: Type.Optional(Type.Number({ minimum: 0.1, maximum: 4, description: 'memory placed per real MiB' })),
      }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: Node, ...errors(400, 401, 403, 404) },
    },
  }, async (request) => {
    requireAdmin(request);
    return nodeWithAllocation(ctx, patchNode(ctx, request.params.id, request.body));
  });

  app.delete('/nodes/:id', {
    schema: { tags, operationId: 'deleteNode', summary: 'Remove a node with no environments', params: IdParams,
      description: 'Forgets the node; refused with 409 while environments are on it. Admin only: a customer token gets 403.',
      // Plain JSON Schema: with Type.Null() the typed reply would want send(null) where the handler sends nothing.
      response: { 204: { type: 'null', description: 'The node is removed' }, ...errors(401, 403, 404, 409) } },
  },
    async (request, reply) => {
      requireAdmin(request);
      await deleteNode(ctx, request.params.id);
      return reply.code(204).send();
    });
};
