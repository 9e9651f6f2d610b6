import type { FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'kura_session';
export const CSRF_COOKIE = 'kura_csrf';
export const LANG_COOKIE = 'kura_lang';

/** Session and CSRF cookies: HttpOnly, SameSite=Lax, and Secure whenever the panel is reached over HTTPS. */
export function cookieOptions(request: FastifyRequest, maxAgeSec?: number) {
  return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: request.protocol === 'https',
    ...(maxAgeSec !== undefined ? { maxAge: maxAgeSec } : {}) };
}
