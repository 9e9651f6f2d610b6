import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { createCustomer, createToken, customerFor, resumeCustomer, revokeToken, suspendCustomer, updateCustomer } from '../../services/customers.js';
import { customerView } from '../../read-models/views.js';
import { publicOperation } from '../../db/repos/operations.js';
import { principal, requireAdmin } from '../auth.js';
import { paginate } from './pagination.js';
import { Customer, CustomerLimits, Email, IdParams, ListQuery, Operation, Text, errors, page } from './schemas.js';

const Password = Type.String({ minLength: 8, maxLength: 1024 });
const WithOperations = Type.Intersect([Customer, Type.Object({ operations: Type.Array(Operation) })]);
const SelfService = Type.Boolean({ description: 'the customer may change their environments\' plans themselves, to selectable plans (default true)' });
export const CreateCustomerBody = Type.Object({ name: Text(200), email: Email, password: Type.Optional(Password),
  limits: Type.Optional(Type.Partial(CustomerLimits)), selfService: Type.Optional(SelfService) }, { additionalProperties: false });
export const UpdateCustomerBody = Type.Object({ name: Type.Optional(Text(200)), email: Type.Optional(Email), password: Type.Optional(Password),
  limits: Type.Optional(Type.Partial(CustomerLimits)), selfService: Type.Optional(SelfService) }, { additionalProperties: false, minProperties: 1 });
const TokenInfo = Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.String(), lastUsedAt: Type.Union([Type.String(), Type.Null()]) });

export const customerRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const tags = ['customers'];

  app.post('/customers', {
    schema: {
      tags, operationId: 'createCustomer', summary: 'Create a customer (admin)',
      description: 'Adds a customer, with optional limits on environments, CPUs, memory and disk and an optional web panel password;'
        + ' emails are unique (409). Admin only: a customer token gets 403.',
      body: CreateCustomerBody,
      response: { 201: Customer, ...errors(400, 401, 403, 409) },
    },
  }, async (request, reply) => {
    requireAdmin(request);
    return reply.code(201).send(customerView(await createCustomer(ctx, request.body)));
  });

  app.get('/customers', {
    schema: { tags, operationId: 'listCustomers', summary: 'List customers (admin)', querystring: Type.Object(ListQuery),
      description: 'Lists the customers, a page at a time. Admin only: a customer token gets 403.',
      response: { 200: page(Customer), ...errors(400, 401, 403) } },
  },
    async (request) => {
      requireAdmin(request);
      const r = paginate((after, limit) => ctx.repos.customers.page(after, limit), request.query.limit, request.query.cursor);
      return { items: r.items.map(customerView), nextCursor: r.nextCursor };
    });

  app.get('/customers/:id', {
    schema: { tags, operationId: 'getCustomer', summary: 'Get a customer (admin, or the customer itself)', params: IdParams,
      description: 'One customer with its status and limits. An admin token may read any; a customer token only its own, and any other id answers 404.',
      response: { 200: Customer, ...errors(401, 404) } },
  },
    async (request) => customerView(customerFor(ctx, principal(request), request.params.id)));

  app.patch('/customers/:id', {
    schema: {
      tags, operationId: 'updateCustomer', summary: 'Edit a customer (admin)', params: IdParams,
      description: 'Changes only the fields given: name, email, password, or some limits (null lifts a limit).'
        + ' Admin only: a customer token gets 403.',
      body: UpdateCustomerBody,
      response: { 200: Customer, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (request) => {
    requireAdmin(request);
    return customerView(await updateCustomer(ctx, request.params.id, request.body));
  });

  for (const action of ['suspend', 'resume'] as const) {
    app.post(`/customers/:id/${action}`, {
      schema: {
        tags, operationId: `${action}Customer`,
        summary: action === 'suspend' ? 'Suspend: stop the customer\'s environments and refuse their start' : 'Resume a suspended customer',
        description: (action === 'suspend'
          ? 'Marks the customer suspended and stops its running environments, which cannot start until it is resumed.'
          : 'Makes the customer active again and starts the environments that were meant to be running.')
          + ' Answers 200 with the customer and the operations it started. Admin only: a customer token gets 403.',
        params: IdParams, response: { 200: WithOperations, ...errors(401, 403, 404) },
      },
    }, async (request) => {
      requireAdmin(request);
      const r = (action === 'suspend' ? suspendCustomer : resumeCustomer)(ctx, request.params.id);
      return { ...customerView(r.customer), operations: r.operations.map((op) => publicOperation(op)) };
    });
  }

  app.post('/customers/:id/tokens', {
    schema: {
      tags: ['tokens'], operationId: 'createCustomerToken', summary: 'Issue an API token for a customer; the value is shown only in this response',
      description: 'Issues a customer API token; its value is in this response only, the panel keeps a hash.'
        + ' An admin token may issue one for any customer, a customer token only for its own (any other id answers 404).',
      params: IdParams, body: Type.Object({ name: Text(100) }, { additionalProperties: false }),
      response: { 201: Type.Object({ id: Type.String(), name: Type.String(), token: Type.String() }), ...errors(400, 401, 404) },
    },
  }, async (request, reply) => reply.code(201).send(createToken(ctx, principal(request), request.params.id, request.body.name)));

  app.get('/customers/:id/tokens', {
    schema: { tags: ['tokens'], operationId: 'listCustomerTokens', summary: 'List a customer\'s tokens (names only, never values)', params: IdParams,
      description: 'Lists the customer\'s tokens by name, creation and last use, never their values.'
        + ' An admin token may list any customer\'s, a customer token only its own.',
      response: { 200: Type.Object({ items: Type.Array(TokenInfo), nextCursor: Type.Null() }), ...errors(401, 404) } },
  }, async (request) => {
    customerFor(ctx, principal(request), request.params.id);
    return { items: ctx.repos.tokens.byCustomer(request.params.id), nextCursor: null };
  });

  app.delete('/tokens/:id', {
    schema: { tags: ['tokens'], operationId: 'revokeToken', summary: 'Revoke a token', params: IdParams,
      description: 'Deletes the token at once. An admin token may revoke any; a customer token only its own customer\'s (any other id answers 404).'
        + ' The token set by KURA_ADMIN_TOKEN answers 409: change the setting instead.',
      // Plain JSON Schema: with Type.Null() the typed reply would want send(null) where the handler sends nothing.
      response: { 204: { type: 'null', description: 'The token is revoked' }, ...errors(401, 404, 409) } },
  },
    async (request, reply) => {
      revokeToken(ctx, principal(request), request.params.id);
      return reply.code(204).send();
    });
};
