import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { templateView } from '../../read-models/views.js';
import { NotFoundError } from '../../lib/errors.js';
import { IdParams, Operation, Template, Text, errors } from './schemas.js';
import { accepted, requireAdmin } from '../auth.js';
import { captureTemplate, deleteCapturedTemplate } from '../../services/templates.js';

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

  app.post('/environments/:id/template', {
    schema: {
      tags, operationId: 'captureTemplate', summary: 'Capture an environment as a template (admin)',
      description: 'Docker commits the environment (paused for the commit only) and the image is saved in the panel\'s data folder as template `id`,'
        + ' version `version`, with the source template\'s ports, data folder, user and checks; new environments can then use it. A new version of a'
        + ' captured template keeps the same id. 409: a repository template\'s id, a version that exists, an environment without a container.',
      params: IdParams,
      body: Type.Object({ id: Type.String({ minLength: 1, maxLength: 63 }), name: Text(100), version: Type.String({ minLength: 1, maxLength: 40 }) },
        { additionalProperties: false }),
      response: { 202: Type.Object({ operation: Operation }), ...errors(400, 401, 403, 404, 409, 503) },
    },
  }, async (request, reply) => {
    requireAdmin(request);
    return accepted(reply, captureTemplate(ctx, request.params.id, request.body));
  });

  app.delete('/templates/:id', {
    schema: { tags, operationId: 'deleteTemplate', summary: 'Delete a captured template (admin)', params: IdParams,
      description: 'Removes a captured template and its saved image. 409 while any environment was made from it, and for the repository\'s templates.',
      response: { 204: { type: 'null', description: 'The template is deleted' }, ...errors(401, 403, 404, 409) } },
  }, async (request, reply) => {
    requireAdmin(request);
    deleteCapturedTemplate(ctx, request.params.id);
    return reply.code(204).send();
  });
};
