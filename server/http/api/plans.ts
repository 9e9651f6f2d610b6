import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { createPlan, deletePlan, getPlan, updatePlan } from '../../services/plans.js';
import { planView } from '../../read-models/views.js';
import { requireAdmin } from '../auth.js';
import { paginate } from './pagination.js';
import { BackupPolicyFields, IdParams, ListQuery, Plan, Text, errors, page } from './schemas.js';

const fields = {
  name: Text(100),
  cpus: Type.Number({ exclusiveMinimum: 0, maximum: 1024 }),
  memoryMb: Type.Integer({ minimum: 16, maximum: 16 * 1048576 }),
  swapMb: Type.Integer({ minimum: 0, maximum: 16 * 1048576 }),
  diskMb: Type.Integer({ minimum: 64, maximum: 1 << 30 }),
  pids: Type.Integer({ minimum: 16, maximum: 4194304 }),
  nofile: Type.Integer({ minimum: 64, maximum: 1048576,
    description: 'open files per process (the nofile ulimit, default 16384); a change reaches an environment when its container is next made (reinstall, move)' }),
  selectable: Type.Boolean({ description: 'customers may move their own environments onto this plan (default false)' }),
  backups: Type.Partial(BackupPolicyFields, { additionalProperties: false, description: 'backups of environments on this plan; omitted fields keep their value (defaults: schedule none, keepLast 7, keepDaily 7, keepWeekly 4, storageMb null)' }),
};

export const CreatePlanBody = Type.Object({ ...fields, swapMb: Type.Optional(fields.swapMb), nofile: Type.Optional(fields.nofile),
  selectable: Type.Optional(fields.selectable), backups: Type.Optional(fields.backups) },
  { additionalProperties: false });
export const UpdatePlanBody = Type.Partial(Type.Object(fields), { additionalProperties: false, minProperties: 1 });

export const planRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const tags = ['plans'];

  app.post('/plans', {
    schema: {
      tags, operationId: 'createPlan', summary: 'Create a plan (admin)',
      description: 'Adds a plan that environments can be created with or resized to; plan names are unique (409).'
        + ' Admin only: a customer token gets 403.',
      body: CreatePlanBody,
      response: { 201: Plan, ...errors(400, 401, 403, 409) },
    },
  }, async (request, reply) => {
    requireAdmin(request);
    return reply.code(201).send(planView(createPlan(ctx, request.body)));
  });

  app.get('/plans', {
    schema: { tags, operationId: 'listPlans', summary: 'List plans', querystring: Type.Object(ListQuery), response: { 200: page(Plan), ...errors(400, 401) },
      description: 'Lists the plans, a page at a time. Any token may call it.' },
  },
    async (request) => {
      const r = paginate((after, limit) => ctx.repos.plans.page(after, limit), request.query.limit, request.query.cursor);
      return { items: r.items.map(planView), nextCursor: r.nextCursor };
    });

  app.get('/plans/:id', { schema: { tags, operationId: 'getPlan', summary: 'Get a plan', params: IdParams, response: { 200: Plan, ...errors(401, 404) },
    description: 'One plan by id. Any token may call it.' } },
    async (request) => planView(getPlan(ctx, request.params.id)));

  app.patch('/plans/:id', {
    schema: {
      tags, operationId: 'updatePlan', summary: 'Edit a plan (admin); existing environments keep their limits until resized',
      description: 'Changes only the fields given; environments on the plan keep the limits they were given until they are resized onto it.'
        + ' Admin only: a customer token gets 403.',
      params: IdParams,
      body: UpdatePlanBody,
      response: { 200: Plan, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (request) => {
    requireAdmin(request);
    return planView(updatePlan(ctx, request.params.id, request.body));
  });

  app.delete('/plans/:id', {
    schema: { tags, operationId: 'deletePlan', summary: 'Delete a plan no environment uses (admin)', params: IdParams,
      description: 'Removes the plan; refused with 409 while any environment uses it. Admin only: a customer token gets 403.',
      // Plain JSON Schema: with Type.Null() the typed reply would want send(null) where the handler sends nothing.
      response: { 204: { type: 'null', description: 'The plan is deleted' }, ...errors(401, 403, 404, 409) } },
  },
    async (request, reply) => {
      requireAdmin(request);
      deletePlan(ctx, request.params.id);
      return reply.code(204).send();
    });
};
