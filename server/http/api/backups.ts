import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { backupFor, backupView, browseBackup, createBackup, deleteBackup, downloadBackup, listBackups, restoreBackup } from '../../services/backups.js';
import { environmentView } from '../../read-models/views.js';
import { accepted, principal } from '../auth.js';
import { sendDownload } from '../file-transfer.js';
import { Environment, IdParams, ListQuery, Operation, Slug, Timestamp, errors, page } from './schemas.js';

const Backup = Type.Object({
  id: Type.String(), environmentId: Type.String(),
  status: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')]),
  kind: Type.Union([Type.Literal('manual'), Type.Literal('scheduled')]),
  keep: Type.Boolean({ description: 'outside retention: kept until deleted' }),
  sizeMb: Type.Number({ description: 'the size of the files it holds' }),
  addedMb: Type.Number({ description: 'what it added to the repository, deduplicated' }),
  note: Type.String(), createdAt: Timestamp, finishedAt: Type.Union([Timestamp, Type.Null()]),
  environmentName: Type.String(),
  frozenMs: Type.Union([Type.Integer(), Type.Null()], { description: 'how long the environment was frozen while its state was captured (null: it was stopped)' }),
  error: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.Union([Timestamp, Type.Null()], { description: 'set once the environment is deleted: the backup is removed after this' }),
});

const BackupEntry = Type.Object({
  name: Type.String(), path: Type.String(), type: Type.Union([Type.Literal('file'), Type.Literal('dir'), Type.Literal('symlink'), Type.Literal('other')]),
  size: Type.Integer(), mode: Type.Integer(), uid: Type.Integer(), gid: Type.Integer(), mtime: Type.String(),
});

const RestoreBody = Type.Union([
  Type.Object({
    target: Type.Literal('same'),
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'one file or folder to restore (absolute, inside the environment); omitted: every file' })),
  }, { additionalProperties: false }),
  Type.Object({
    target: Type.Literal('new'), name: Slug,
    planId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'admin only: the new environment\'s plan (default: the source\'s)' })),
    nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'admin only: the node it is made on (default: the panel places it)' })),
  }, { additionalProperties: false }),
]);

export const backupRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const tags = ['backups'];

  app.post('/environments/:id/backups', {
    schema: {
      tags, operationId: 'createBackup', summary: 'Back an environment up',
      description: 'Starts a consistent backup: the environment is frozen for well under a second while its state is captured, then keeps serving while'
        + ' the changes are copied into the customer\'s repository. Answers 202 with the backup (running) and its operation. 409 while another of its'
        + ' backups runs, or when the plan\'s backup storage is full (quota_exceeded).',
      params: IdParams,
      body: Type.Object({ note: Type.Optional(Type.String({ maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]*$' })), keep: Type.Optional(Type.Boolean()) },
        { additionalProperties: false }),
      response: { 202: Type.Object({ backup: Backup, operation: Operation }), ...errors(400, 401, 404, 409, 503) },
    },
  }, async (request, reply) => {
    const { backup, operation } = createBackup(ctx, principal(request), request.params.id, request.body ?? {});
    return accepted(reply, operation, { backup: backupView(backup) });
  });

  app.get('/environments/:id/backups', {
    schema: {
      tags, operationId: 'listBackups', summary: 'An environment\'s backups, newest first',
      description: 'A deleted environment\'s backups stay listed to admins until they expire.',
      params: IdParams, querystring: Type.Object(ListQuery), response: { 200: page(Backup), ...errors(400, 401, 404) },
    },
  }, async (request) => {
    const r = listBackups(ctx, principal(request), request.params.id, request.query.limit ?? 50, request.query.cursor);
    return { items: r.items.map(backupView), nextCursor: r.nextCursor };
  });

  app.get('/backups/:id', {
    schema: { tags, operationId: 'getBackup', summary: 'One backup', params: IdParams,
      description: 'A backup by id, with its status, sizes and how long the environment was frozen. Another customer\'s answers 404.', response: { 200: Backup, ...errors(401, 404) } },
  }, async (request) => backupView(backupFor(ctx, principal(request), request.params.id)));

  app.delete('/backups/:id', {
    schema: { tags, operationId: 'deleteBackup', summary: 'Delete a backup', params: IdParams,
      description: 'Removes the backup and its snapshot. 409 while it runs.',
      response: { 204: { type: 'null', description: 'The backup is deleted' }, ...errors(401, 404, 409) } },
  }, async (request, reply) => {
    await deleteBackup(ctx, principal(request), request.params.id);
    return reply.code(204).send();
  });

  app.get('/backups/:id/download', {
    schema: { tags, operationId: 'downloadBackup', summary: 'A backup\'s files as .tar.gz', params: IdParams,
      description: 'application/gzip: a tar of the environment\'s files with paths relative to / (srv/www/index.html), streamed.',
      response: { 200: { description: 'The archive', content: { 'application/gzip': { schema: { type: 'string', format: 'binary' } } } }, ...errors(401, 404, 409, 429) } },
  }, async (request, reply) => {
    const d = await downloadBackup(ctx, principal(request), request.params.id);
    return sendDownload(reply, { kind: 'archive', name: d.name, size: null, stream: d.stream });
  });

  app.get('/backups/:id/files', {
    schema: { tags, operationId: 'browseBackup', summary: 'What a backup holds in one folder', params: IdParams,
      description: 'The entries of one folder of a succeeded backup (path absolute, default /), read from the repository: for choosing a file or folder to restore.',
      querystring: Type.Object({ path: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })) }),
      response: { 200: Type.Object({ path: Type.String(), items: Type.Array(BackupEntry) }), ...errors(400, 401, 404, 409) } },
  }, async (request) => {
    const path = request.query.path ?? '/';
    return { path, items: await browseBackup(ctx, principal(request), request.params.id, path) };
  });

  app.post('/backups/:id/restore', {
    schema: {
      tags, operationId: 'restoreBackup', summary: 'Restore a backup',
      description: '{"target":"same"} makes the environment\'s files exactly those of the backup (changed and deleted files come back, files made since'
        + ' are removed; it is stopped meanwhile); with "path", only that file or folder is written back while it runs. {"target":"new","name"} makes a'
        + ' new environment of the same customer from it. A backup that is not succeeded answers 409.',
      params: IdParams, body: RestoreBody,
      response: { 202: Type.Object({ operation: Operation, environment: Type.Optional(Environment) }), ...errors(400, 401, 403, 404, 409, 503) },
    },
  }, async (request, reply) => {
    const r = restoreBackup(ctx, principal(request), request.params.id, request.body);
    return accepted(reply, r.operation, r.environment ? { environment: environmentView(ctx, r.environment) } : {});
  });
};
