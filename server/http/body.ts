import type { FastifyInstance } from 'fastify';
import { OptionalKind } from '@sinclair/typebox';
import { BadRequestError } from '../lib/errors.js';

/**
 * JSON bodies: an empty body with a JSON content type counts as no body (many HTTP
 * clients send the header on every request), and a route that takes no body refuses
 * one, rather than acting on a request it did not understand. `{}` is accepted there.
 * A route whose whole body is Optional takes an absent body as `{}`.
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
    const schema = request.routeOptions.schema?.body;
    // A body schema marked Optional means an absent body is the defaults, as `{}` is.
    if (request.body === undefined && typeof schema === 'object' && schema !== null && OptionalKind in schema) {
      request.body = {};
      return;
    }
    if (request.is404 || request.body === undefined || schema !== undefined) return;
    // A route that streams its raw body (a file upload) takes it as it comes.
    if (request.body !== null && typeof (request.body as { pipe?: unknown }).pipe === 'function') return;
    // Forms are the web panel's, which reads its fields itself.
    if (request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return;
    const b = request.body;
    const empty = typeof b === 'object' && b !== null && !Array.isArray(b) && Object.keys(b).length === 0;
    if (!empty) throw new BadRequestError('this endpoint takes no request body', { field: '(body)' });
  });
}

