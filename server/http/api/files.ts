import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Context } from '../../core/context.js';
import { downloadFile, fileAction, listFiles, uploadFile } from '../../services/files.js';
import { principal } from '../auth.js';
import { bodyStream, rawBodyScope, sendDownload } from '../file-transfer.js';
import { IdParams, Timestamp, errors } from './schemas.js';

const PathQuery = Type.Object({
  path: Type.Optional(Type.String({ maxLength: 4096, description: 'relative to the template\'s data folder; empty or absent: the folder itself' })),
});
const FileItem = Type.Object({
  name: Type.String(), type: Type.Union([Type.Literal('file'), Type.Literal('dir'), Type.Literal('link')]),
  size: Type.Integer({ description: 'bytes' }), mode: Type.Integer({ description: 'permission bits (0644 is 420)' }), modifiedAt: Timestamp,
});
const Action = Type.Object({
  action: Type.Union([Type.Literal('mkdir'), Type.Literal('rename'), Type.Literal('delete')]),
  path: Type.String({ maxLength: 4096 }),
  to: Type.Optional(Type.String({ maxLength: 4096, description: 'rename only: the new path, which must not exist' })),
}, { additionalProperties: false });

const PATHS = 'Paths are relative to the data folder; one that leaves it, directly or through a symlink, answers 400 and nothing changes.'
  + ' The environment must be running: a stopped one answers 409 saying so.';

/** An environment's files: list, read, write, make folders, rename, delete (contract: Files). */
export const fileRoutes = (ctx: Context): FastifyPluginAsyncTypebox => async (app) => {
  const tags = ['files'];

  app.get('/environments/:id/files', {
    schema: { tags, operationId: 'listFiles', summary: 'List a folder', params: IdParams, querystring: PathQuery,
      description: `The folder's entries, folders first. ${PATHS}`,
      response: { 200: Type.Object({ items: Type.Array(FileItem) }), ...errors(400, 401, 404, 409, 503) } },
  }, async (request) => ({ items: await listFiles(ctx, principal(request), request.params.id, request.query.path) }));

  app.get('/environments/:id/files/content', {
    schema: { tags, operationId: 'readFile', summary: 'Download a file', params: IdParams,
      querystring: Type.Object({ ...PathQuery.properties, archive: Type.Optional(Type.Boolean({ description: 'a folder as a .tar.gz' })) }),
      description: `The file's bytes, streamed. A folder with archive=true comes as a .tar.gz of its contents. ${PATHS}`,
      response: { 200: { description: 'the bytes', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        ...errors(400, 401, 404, 409, 429, 503) } },
  }, async (request, reply) => {
    const d = await downloadFile(ctx, principal(request), request.params.id, request.query.path, { archive: request.query.archive === true });
    return sendDownload(reply, d);
  });

  // Any content type, streamed into the container: the body is never parsed nor held whole.
  await rawBodyScope(app, (raw) => {
    raw.put<{ Params: { id: string }; Querystring: { path?: string } }>('/environments/:id/files/content', {
      schema: { tags, operationId: 'writeFile', summary: 'Upload a file', params: IdParams, querystring: PathQuery,
        description: `Writes the raw body (any content type) to the file, creating or replacing it. The bytes arrive under a hidden name`
          + ` and replace the file only once all are there, so a cut upload or a full disk (409 quota_exceeded) leaves the old file. ${PATHS}`,
        response: { 204: { type: 'null', description: 'written' }, ...errors(400, 401, 404, 409, 429, 503) } },
    }, async (request, reply) => {
      await uploadFile(ctx, principal(request), request.params.id, request.query.path, bodyStream(request));
      request.auditNote = { action: 'file.write', resourceType: 'environment', resourceId: request.params.id, detail: `path=${request.query.path ?? ''}` };
      return reply.code(204).send();
    });
  });

  app.post('/environments/:id/files/actions', {
    schema: { tags, operationId: 'fileAction', summary: 'Make a folder, rename or delete', params: IdParams, body: Action,
      description: `mkdir makes a folder; rename moves path to "to", which must not exist (409); delete removes a file, a link, or a folder with everything in it. ${PATHS}`,
      response: { 204: { type: 'null', description: 'done' }, ...errors(400, 401, 404, 409, 503) } },
  }, async (request, reply) => {
    const done = await fileAction(ctx, principal(request), request.params.id, request.body);
    request.auditNote = { action: `file.${done.action}`, resourceType: 'environment', resourceId: request.params.id,
      detail: 'to' in done ? `path=${done.path} to=${done.to}` : `path=${done.path}` };
    return reply.code(204).send();
  });
};
