import type { FastifyRequest } from 'fastify';
import type { Lang, Principal } from '../../domain/types.js';
import { KuraError, NotFoundError } from '../../lib/errors.js';
import type { ActiveSession } from '../../services/sessions.js';

/** What every page request knows about its visitor. */
export interface WebState {
  active: ActiveSession | null;
  lang: Lang;
  /** The token forms carry: the session's, or the anonymous double-submit cookie's. */
  csrf: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    web: WebState;
  }
}

/** Raised when a page needs a login; the error handler sends the browser to /login. */
export class LoginRequired extends KuraError {
  constructor() { super('unauthorized', 'please log in'); }
}

export function signedIn(request: FastifyRequest): ActiveSession {
  const active = request.web.active;
  if (!active) throw new LoginRequired();
  return active;
}

export function webPrincipal(request: FastifyRequest): Principal {
  return signedIn(request).principal;
}

/** Admin pages answer a customer exactly as a page that does not exist. */
export function requireAdminPage(request: FastifyRequest): ActiveSession {
  const active = signedIn(request);
  if (active.account.kind !== 'admin') throw new NotFoundError('page');
  return active;
}

export function requireCustomerPage(request: FastifyRequest): ActiveSession & { principal: Principal & { kind: 'customer' } } {
  const active = signedIn(request);
  if (active.principal.kind !== 'customer') throw new NotFoundError('page');
  return active as ActiveSession & { principal: Principal & { kind: 'customer' } };
}

/** A form field as a trimmed string ('' when absent or not a string). */
export function field(body: unknown, name: string): string {
  if (!body || typeof body !== 'object') return '';
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v.trim() : '';
}

/** A same-site path to go back to after a form; anything else becomes the fallback. */
export function safeNext(next: string, fallback: string): string {
  return /^\/(?![/\\])[\x21-\x7e]*$/.test(next) ? next : fallback;
}
