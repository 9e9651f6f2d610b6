import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { templateView } from '../../read-models/views.js';
import { NotFoundError } from '../../lib/errors.js';
import { IdParams, Template, errors } from './schemas.js';

export const templateRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const tags = ['templates'];
  app.get('/templates', {
    schema: { tags, operationId: 'listTemplates', summary: 'List templates',
      description: 'Lists every template installed on this panel, with its ports, data path and default plan. Any token may call it.',
      response: { 200: Type.Object({ items: Type.Array(Template), nextCursor: Type.Null() }), ...errors(401) } },
  }, async () => ({ items: ctx.templates.list().map((t) => templateView(ctx, t)), nextCursor: null }));

  app.get('/templates/:id', { schema: { tags, operationId: 'getTemplate', summary: 'Get a template', params: IdParams,
    description: 'One template by id. Any token may call it.', response: { 200: Template, ...errors(401, 404) } } },
    async (request) => {
      const t = ctx.templates.get(request.params.id);
      if (!t) throw new NotFoundError('template', request.params.id);
      return templateView(ctx, t);
    });
};
