import type { FastifyReply, FastifyRequest } from 'fastify';
import { LANGS } from './i18n.js';

/**
 * Pages run no inline script and load nothing from elsewhere. The console page may
 * relax style-src, because xterm.js writes its theme into a <style> element.
 */
export function csp(opts: { inlineStyles?: boolean } = {}): string {
  return [
    "default-src 'self'", "script-src 'self'", `style-src 'self'${opts.inlineStyles ? " 'unsafe-inline'" : ''}`,
    "img-src 'self' data:", "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'none'",
    "form-action 'self'", "frame-ancestors 'none'",
  ].join('; ');
}

export interface PageOptions {
  status?: number;
  inlineStyles?: boolean;
  /** The navigation entry to highlight. */
  nav?: string;
}

/** Renders a page inside the layout with what every page needs: language, account, CSRF token. */
export function page(request: FastifyRequest, reply: FastifyReply, view: string, title: string, data: Record<string, unknown> = {},
  opts: PageOptions = {}): FastifyReply {
  const { active, lang, csrf } = request.web;
  const account = active?.account ?? null;
  return reply.code(opts.status ?? 200)
    .header('content-security-policy', csp(opts))
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .view(`pages/${view}.hbs`, {
      ...data, lang, title, csrf, nav: opts.nav ?? view,
      account, isAdmin: account?.kind === 'admin', isCustomer: account?.kind === 'customer',
      here: request.url, otherLangs: LANGS.filter((l) => l !== lang),
    });
}
