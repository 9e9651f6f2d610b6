import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorObject } from 'ajv';
import { customerSafeDetails, customerSafeMessage, KuraError, RateLimitedError, STATUS_OF, type ErrorCode } from '../lib/errors.js';
import { describeError, failingField } from './validation.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

const CODE_OF_STATUS: Record<number, ErrorCode> = {
  400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict',
  413: 'bad_request', 415: 'bad_request', 422: 'idempotency_mismatch', 429: 'rate_limited', 503: 'node_unavailable',
};

/**
 * Who reads an error: admins get the full detail (node, call, Docker's words); everyone else
 * (customers, and callers not signed in) gets words that name no node and no host path.
 */
export interface ErrorAudience {
  admin: boolean;
  /** The registered nodes' names, to keep them out of what customers read. */
  nodeNames?: () => readonly string[];
}
const ADMIN: ErrorAudience = { admin: true };

/** Maps any error to the contract's shape; bad input is always a 4xx, never a 500. */
export function toErrorBody(err: FastifyError | KuraError | Error, audience: ErrorAudience = ADMIN): { status: number; body: ErrorBody } {
  if (err instanceof KuraError) {
    if (!audience.admin) {
      const details = customerSafeDetails(err.details);
      const message = customerSafeMessage(err.code, err.message, { customerMessage: err.customerMessage, nodeNames: audience.nodeNames?.() ?? [] });
      return { status: err.status, body: { error: { code: err.code, message, ...(details ? { details } : {}) } } };
    }
    return { status: err.status, body: { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } } };
  }
  const fe = err as FastifyError & { validation?: ErrorObject[]; validationContext?: string };
  if (fe.validation && fe.validation.length > 0) {
    const first = fe.validation[0]!;
    const context = fe.validationContext ?? 'body';
    return { status: 400, body: { error: { code: 'bad_request', message: describeError(first, context),
      details: { field: failingField(first), in: context } } } };
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    // The contract pairs bad_request with 400 only, so 413, 414 and 415 are answered as 400 too.
    const code = CODE_OF_STATUS[status] ?? 'bad_request';
    return { status: code === 'bad_request' ? 400 : status, body: { error: { code, message: friendly(fe) } } };
  }
  return { status: 500, body: { error: { code: 'internal', message: 'internal error; the panel log has the details' } } };
}

/**
 * Every 429 says when to try again: the seconds a RateLimitedError knows, else one.
 * Sets the Retry-After header on the reply when the answer is a 429.
 */
export function setRetryAfter(reply: FastifyReply, status: number, err: unknown): void {
  if (status !== 429) return;
  reply.header('retry-after', String(err instanceof RateLimitedError ? err.retryAfterSeconds : 1));
}

function friendly(fe: FastifyError): string {
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return `the request body is not valid JSON: ${fe.message}`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported Content-Type; send application/json';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'the request body is too large';
    case 'FST_ERR_BAD_URL':
      return 'the URL is not valid (bad percent-encoding)';
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return 'a path parameter is too long';
    default:
      return fe.message;
  }
}

/** Errors fastify raises before routing (bad URLs) go through the same mapping. */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toErrorBody(err);
  setRetryAfter(reply, status, err);
  void reply.code(status).type('application/json').send(body);
}

export function registerErrorHandling(app: FastifyInstance, nodeNames: () => readonly string[]): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { status, body } = toErrorBody(err, { admin: request.principal?.kind === 'admin', nodeNames });
    if (status >= 500) request.log.error({ err }, 'request failed');
    setRetryAfter(reply, status, err);
    void reply.code(status).type('application/json').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } });
  });
}

export { STATUS_OF };
