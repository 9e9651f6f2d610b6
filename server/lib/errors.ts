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
  /**
   * What a customer is told instead of `message`, when the message names a node, a host path
   * or repeats Docker's words (set by the node errors below). Admins always see `message`.
   */
  customerMessage: string | undefined;

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
    this.customerMessage = CUSTOMER_MESSAGES.node_unavailable;
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
    this.customerMessage = `host port ${port} of this environment is held on its node by something outside the panel; an administrator can free it`;
  }
}

/** The node lost an image or network the container refers to (wiped or changed out of band). */
export class NodeResourceMissingError extends KuraError {
  constructor(readonly nodeName: string, readonly call: string, reason: string) {
    super('conflict', `node ${nodeName}: ${call} failed: ${reason}`, { node: nodeName, call });
    this.customerMessage = 'the node is missing an image or network this environment needs; try again, or ask an administrator';
  }
}

/** Docker answered, but with an error that is about the request (bad spec, conflict, ...). */
export class NodeCallError extends KuraError {
  constructor(readonly nodeName: string, readonly call: string, readonly httpStatus: number, reason: string) {
    super(httpStatus === 404 ? 'not_found' : httpStatus === 409 ? 'conflict' : 'internal',
      `node ${nodeName}: ${call} failed (${httpStatus}): ${reason}`, { node: nodeName, call, status: httpStatus });
    this.customerMessage = `the node could not carry out this request (${call}); an administrator can see the details`;
  }
}

/** Customers' words for errors whose detail is the operator's business. */
export const CUSTOMER_MESSAGES = {
  internal: 'internal error; an administrator can see the details',
  node_unavailable: 'the node that hosts this environment is unavailable right now; try again later',
} as const;

/** Absolute host paths under the usual roots: where they show in a message it came from a node or the host. */
const HOST_PATH = /(^|[\s'"(=:])\/(?:var|srv|home|etc|opt|tmp|run|mnt|media|data|usr|root|proc|sys|dev|lib)\//;

/**
 * The message a customer may read for an error: no node names, host paths or Docker's raw
 * text. The error's own customer message wins; internal and node errors get fixed words;
 * any other message that names a known node or a host path falls back to the fixed words too.
 */
export function customerSafeMessage(code: string, message: string, o: { customerMessage?: string | null | undefined; nodeNames?: readonly string[] } = {}): string {
  if (o.customerMessage) return o.customerMessage;
  if (code === 'internal' || code === 'node_unavailable') return CUSTOMER_MESSAGES[code];
  const namesNode = (o.nodeNames ?? []).some((n) => n.length > 0 && new RegExp(`(^|[^\\w-])${escapeRegExp(n)}($|[^\\w-])`).test(message));
  if (namesNode || HOST_PATH.test(message)) return `the request could not be carried out (${code}); an administrator can see the details`;
  return message;
}

/** Any error as a customer may read it: what is not the panel's own error counts as `internal`. */
export function customerErrorText(err: unknown, nodeNames: readonly string[]): string {
  const e = err instanceof KuraError ? err : new KuraError('internal', errorMessage(err));
  return customerSafeMessage(e.code, e.message, { customerMessage: e.customerMessage, nodeNames });
}

/** Error details a customer may read: what names nodes or repeats a node's call is left out. */
export function customerSafeDetails(details: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!details) return undefined;
  const kept = Object.fromEntries(Object.entries(details).filter(([k]) => !NODE_DETAILS.has(k)));
  return Object.keys(kept).length > 0 ? kept : undefined;
}
const NODE_DETAILS = new Set(['node', 'nodeId', 'call', 'status', 'excluded']);

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
