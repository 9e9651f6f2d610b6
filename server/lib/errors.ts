/**
 * Domain errors. Services throw these; the HTTP error handler maps each to the
 * contract's error shape, and the operation runner records them on the operation.
 */
export type ErrorCode =
  | 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'quota_exceeded'
  | 'no_capacity' | 'idempotency_mismatch' | 'rate_limited' | 'node_unavailable' | 'internal';

export const STATUS_OF: Record<ErrorCode, number> = {
  bad_request: 400, unauthorized: 401, forbidden: 403, not_found: 404, conflict: 409,
  quota_exceeded: 409, no_capacity: 409, idempotency_mismatch: 422, rate_limited: 429,
  node_unavailable: 503, internal: 500,
};

export class KuraError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
  get status(): number {
    return STATUS_OF[this.code];
  }
}

export class BadRequestError extends KuraError {
  constructor(message: string, details?: Record<string, unknown>) { super('bad_request', message, details); }
}
export class NotFoundError extends KuraError {
  constructor(what: string, id?: string) {
    super('not_found', id === undefined ? `${what} not found` : `${what} ${id} not found`);
  }
}
export class ConflictError extends KuraError {
  constructor(message: string, details?: Record<string, unknown>) { super('conflict', message, details); }
}
export class ForbiddenError extends KuraError {
  constructor(message = 'this endpoint needs an admin token') { super('forbidden', message); }
}
export class QuotaExceededError extends KuraError {
  constructor(message: string, details?: Record<string, unknown>) { super('quota_exceeded', message, details); }
}
export class NoCapacityError extends KuraError {
  constructor(message: string, details?: Record<string, unknown>) { super('no_capacity', message, details); }
}

/** A node did not answer, refused, or failed in a way that is not the request's fault. */
export class NodeUnavailableError extends KuraError {
  constructor(readonly nodeName: string, readonly call: string, cause: string,
    /** 'tls' when the connection failed verification: the certificates, not the address, are wrong. */
    readonly failure: 'tls' | 'network' | 'other' = 'other') {
    super('node_unavailable', `node ${nodeName} is unavailable (${call}: ${cause})`, { node: nodeName, call });
  }
}

/**
 * Too much at once: a caller over its request limits, or work that found no free
 * connection to its node in time. Not the node's fault, and answered with Retry-After.
 */
export class RateLimitedError extends KuraError {
  constructor(message: string, readonly retryAfterSeconds: number, details?: Record<string, unknown>) {
    super('rate_limited', message, { ...details, retryAfterSeconds });
  }
}

/** A host port the panel chose is held on the node by something the panel does not manage. */
export class HostPortTakenError extends KuraError {
  constructor(readonly nodeName: string, readonly port: number, reason: string) {
    super('conflict', `node ${nodeName}: host port ${port} is taken outside the panel (${reason})`, { node: nodeName, port });
  }
}

/** The node lost an image or network the container refers to (wiped or changed out of band). */
export class NodeResourceMissingError extends KuraError {
  constructor(readonly nodeName: string, readonly call: string, reason: string) {
    super('conflict', `node ${nodeName}: ${call} failed: ${reason}`, { node: nodeName, call });
  }
}

/** Docker answered, but with an error that is about the request (bad spec, conflict, ...). */
export class NodeCallError extends KuraError {
  constructor(readonly nodeName: string, readonly call: string, readonly httpStatus: number, reason: string) {
    super(httpStatus === 404 ? 'not_found' : httpStatus === 409 ? 'conflict' : 'internal',
      `node ${nodeName}: ${call} failed (${httpStatus}): ${reason}`, { node: nodeName, call, status: httpStatus });
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
