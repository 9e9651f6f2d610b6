import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Download } from '../services/files.js';

/** Sends a file, or a folder's .tar.gz, as a download the browser saves and never renders. */
export function sendDownload(reply: FastifyReply, d: Download): FastifyReply {
  reply.header('content-type', d.kind === 'archive' ? 'application/gzip' : 'application/octet-stream');
  reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(d.name)}`);
  reply.header('x-content-type-options', 'nosniff');
  if (d.size !== null) reply.header('content-length', d.size);
  return reply.send(d.stream);
}

/**
 * Routes whose request body is the file itself: any content type, handed over as the
 * stream it arrives as (never parsed, never held whole). Registered in a scope of their own.
 */
export async function rawBodyScope(app: FastifyInstance, routes: (scope: FastifyInstance) => void): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    routes(scope);
  });
}

/** The request's body as a stream: the raw body, or nothing for an empty request. */
export function bodyStream(request: FastifyRequest): Readable {
  return request.body instanceof Readable ? request.body : Readable.from([]);
}
