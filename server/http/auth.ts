import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/types.js';
import { ForbiddenError } from '../lib/errors.js';
import { publicOperation } from '../db/repos/operations.js';
import type { Operation } from '../domain/operations.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Narrows to an admin caller; a customer token gets 403 as the contract says. */
export function requireAdmin(request: FastifyRequest): Principal & { kind: 'admin' } {
  const who = principal(request);
  if (who.kind !== 'admin') throw new ForbiddenError();
  return who;
}

export function principal(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route registered without authentication');
  return request.principal;
}

/** Answers 202 with the operation (and anything else the route returns beside it) and its Location, as every node-touching call does. */
export function accepted(reply: FastifyReply, op: Operation, extra: Record<string, unknown> = {}): FastifyReply {
  return reply.code(202).header('Location', `/api/v1/operations/${op.id}`).send({ ...extra, operation: publicOperation(op) });
}
