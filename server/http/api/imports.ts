import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { refreshImport, startImport, startPreflight } from '../../services/imports.js';
import { environmentView } from '../../read-models/views.js';
import { accepted, requireAdmin } from '../auth.js';
import { Environment, IdParams, Operation, Slug, errors } from './schemas.js';

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

  app.post('/imports', {
    schema: {
      tags, operationId: 'importServer', summary: 'Import a server into a new environment (admin)',
      description: 'Runs a preflight first: its blockers refuse the import with 409 unless `force` is true. Then a new environment of the customer'
        + ' (publishing the ports the source listened on) gets the source\'s files, copied from `tar` on the source through the panel without'
        + ' touching the source, with its services under a supervisor; listen addresses written into web server configuration are made to'
        + ' listen everywhere (each change in the result). Afterwards every port is checked and web pages compared with the source; the'
        + ' operation\'s result lists the changes and the checks. Answers 202 with the environment and the import operation.',
      body: Type.Object({
        source: SourceBody, name: Slug, customerId: Type.String({ minLength: 1, maxLength: 64 }), planId: Type.String({ minLength: 1, maxLength: 64 }),
        nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })), force: Type.Optional(Type.Boolean()),
      }, { additionalProperties: false }),
      response: { 202: Type.Object({ environment: Environment, operation: Operation }), ...errors(400, 401, 403, 409) },
    },
  }, async (request, reply) => {
    requireAdmin(request);
    const { environment, operation } = await startImport(ctx, request.body);
    return accepted(reply, operation, { environment: environmentView(ctx, environment) });
  });

  app.post('/environments/:id/import/refresh', {
    schema: {
      tags, operationId: 'refreshImport', summary: 'Copy again what changed on the source (admin)',
      description: 'A second pass of an imported environment: only files whose contents changed on the source since the last good pass began are'
        + ' copied, so the final cut-over from a live source is short; then the adaptation, the restart and the checks run again. 409 without a'
        + ' finished import. Files deleted on the source since stay.',
      params: IdParams, response: { 202: Type.Object({ operation: Operation }), ...errors(401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    requireAdmin(request);
    return accepted(reply, refreshImport(ctx, request.params.id));
  });
};
