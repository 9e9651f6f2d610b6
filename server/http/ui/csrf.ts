import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError } from '../../lib/errors.js';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses a state-changing request that another site could have sent: its Origin (or
 * Referer) must be this panel, and it must carry the form's CSRF token.
 */
export function checkCsrf(request: FastifyRequest): void {
  if (SAFE.has(request.method)) return;
  const expected = `${request.protocol}://${request.host}`;
  const origin = request.headers.origin ?? refererOrigin(request.headers.referer);
  if (origin !== undefined && origin !== expected) {
    throw new ForbiddenError('cross-site request refused: this form was not sent from the panel');
  }
  const sent = formToken(request);
  if (!sent || !same(sent, request.web.csrf)) {
    throw new ForbiddenError('the form has expired or did not come from the panel; reload the page and try again');
  }
}

function formToken(request: FastifyRequest): string | undefined {
  const header = request.headers['x-csrf-token'];
  if (typeof header === 'string') return header;
  const body = request.body as Record<string, unknown> | undefined;
  return body && typeof body._csrf === 'string' ? body._csrf : undefined;
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return 'invalid';
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
