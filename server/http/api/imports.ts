import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { startPreflight } from '../../services/imports.js';
import { accepted, requireAdmin } from '../auth.js';
import { Operation, errors } from './schemas.js';

export const SourceBody = Type.Object({
  type: Type.Literal('ssh'),
  host: Type.String({ minLength: 1, maxLength: 253 }),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  user: Type.String({ minLength: 1, maxLength: 32 }),
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  privateKey: Type.Optional(Type.String({ minLength: 1, maxLength: 16384 })),
}, { additionalProperties: false });

export const importRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const tags = ['imports'];

  app.post('/imports/preflight', {
    schema: {
      tags, operationId: 'preflightImport', summary: 'Look at a server before importing it (admin)',
      description: 'Logs in to the source over SSH and only reads: distribution, architecture, libc, init and enabled services, listening ports and'
        + ' their processes, disk use, users, crontabs, mounts, kernel modules and settings, device nodes, addresses written into web server'
        + ' configuration. Answers 202; the operation\'s `result` is the report `{facts, findings}`. A source that cannot be reached, refuses the'
        + ' login or stops answering ends the operation failed, saying which. `planId` compares the data with that plan\'s disk.',
      body: Type.Object({ source: SourceBody, planId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false }),
      response: { 202: Type.Object({ operation: Operation }), ...errors(400, 401, 403) },
    },
  }, async (request, reply) => {
    requireAdmin(request);
    return accepted(reply, startPreflight(ctx, request.body));
  });
};
