import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError } from '../lib/errors.js';

/**
 * JSON bodies: an empty body with a JSON content type counts as no body (many HTTP
 * clients send the header on every request), and a route that takes no body refuses
 * one, rather than acting on a request it did not understand. `{}` is accepted there.
 */
export function registerBodyRules(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, done);
  });
  app.addHook('preValidation', async (request) => {
    if (request.is404 || request.body === undefined || request.routeOptions.schema?.body !== undefined) return;
    // Forms are the web panel's, which reads its fields itself.
    if (request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return;
    const b = request.body;
    const empty = typeof b === 'object' && b !== null && !Array.isArray(b) && Object.keys(b).length === 0;
    if (!empty) throw new BadRequestError('this endpoint takes no request body', { field: '(body)' });
  });
}

/** For a route whose whole body is optional: an absent body means the defaults, as `{}` does (a schema alone cannot say so). */
export async function absentBodyIsEmpty(request: FastifyRequest): Promise<void> {
  if (request.body === undefined) request.body = {};
}
