import type { FastifyInstance } from 'fastify';
import { acceptInvite, checkLogin, closeSession, inviteCustomer, openSession, resolveSession, setLanguage } from '../../services/sessions.js';
import { KuraError } from '../../lib/errors.js';
import type { Lang } from '../../domain/types.js';
import { CSRF_COOKIE, LANG_COOKIE, SESSION_COOKIE, cookieOptions } from './cookies.js';
import type { Ui } from './ui.js';
import { field, safeNext } from './web-request.js';
import { page } from './render.js';

const YEAR_SEC = 365 * 24 * 3600;

/** Login, logout, the language switch and invitation links. */
export const authRoutes = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n, throttle } = ui;

  app.get('/', async (request, reply) => {
    const account = request.web.active?.account;
    return reply.redirect(!account ? '/login' : account.kind === 'admin' ? '/admin' : '/panel', 303);
  });

  app.get<{ Querystring: { next?: string; invited?: string } }>('/login', async (request, reply) => {
    if (request.web.active) return reply.redirect(homeOf(request.web.active.account.kind), 303);
    const lang = request.web.lang;
    return page(request, reply, 'login', i18n.t(lang, 'auth.login.title'), {
      next: safeNext(request.query.next ?? '', ''), notice: request.query.invited === '1' ? i18n.t(lang, 'auth.invite.done') : undefined,
    });
  });

  app.post('/login', async (request, reply) => {
    const lang = request.web.lang;
    const email = field(request.body, 'email').slice(0, 254);
    const password = typeof (request.body as Record<string, unknown>)?.password === 'string'
      ? (request.body as Record<string, string>).password!.slice(0, 1024) : '';
    const next = field(request.body, 'next');
    const again = (status: number, error: string) => page(request, reply, 'login', i18n.t(lang, 'auth.login.title'),
      { email, next: safeNext(next, ''), error }, { status });
    const wait = throttle.retryAfter(email, request.ip);
    if (wait > 0) {
      return again(429, i18n.t(lang, 'auth.login.throttled', { minutes: Math.ceil(wait / 60_000) }));
    }
    const account = email && password ? await checkLogin(ctx, email, password) : null;
    if (!account) {
      throttle.fail(email, request.ip);
      return again(401, i18n.t(lang, 'auth.login.failed'));
    }
    throttle.succeed(email, request.ip);
    const old = request.web.active;
    if (old) closeSession(ctx, old.session.idHash);
    const { cookie } = openSession(ctx, account, request.ip, request.headers['user-agent'] ?? '');
    reply.setCookie(SESSION_COOKIE, cookie, cookieOptions(request));
    reply.clearCookie(CSRF_COOKIE, { path: '/' });
    request.auditNote = { action: 'session.login', resourceType: account.kind, resourceId: account.id, detail: `email=${account.email}` };
    // The audit entry names the account that just signed in.
    request.web.active = resolveSession(ctx, cookie);
    return reply.redirect(safeNext(next, homeOf(account.kind)), 303);
  });

  app.post('/logout', async (request, reply) => {
    const active = request.web.active;
    if (active) {
      closeSession(ctx, active.session.idHash);
      request.auditNote = { action: 'session.logout', resourceType: active.account.kind, resourceId: active.account.id };
    }
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/login', 303);
  });

  app.post('/language', async (request, reply) => {
    const lang = field(request.body, 'lang');
    if (lang !== 'ja' && lang !== 'en') throw new KuraError('bad_request', 'language must be ja or en', { field: 'lang' });
    const active = request.web.active;
    if (active) setLanguage(ctx, active.account, lang as Lang);
    request.auditNote = { action: 'account.language', detail: `lang=${lang}`, ...(active ? { resourceId: active.account.id } : {}) };
    reply.setCookie(LANG_COOKIE, lang, { ...cookieOptions(request, YEAR_SEC), httpOnly: false });
    return reply.redirect(safeNext(field(request.body, 'next'), '/'), 303);
  });

  app.get<{ Params: { token: string } }>('/invite/:token', async (request, reply) => {
    const lang = request.web.lang;
    const customerId = inviteCustomer(ctx, request.params.token);
    const customer = customerId ? ctx.repos.customers.get(customerId) : undefined;
    if (!customer) throw new KuraError('not_found', i18n.t(lang, 'auth.invite.invalid'));
    return page(request, reply, 'invite', i18n.t(lang, 'auth.invite.title'), { customer, token: request.params.token });
  });

  app.post<{ Params: { token: string } }>('/invite/:token', async (request, reply) => {
    const lang = request.web.lang;
    const body = request.body as Record<string, unknown> | undefined;
    const password = typeof body?.password === 'string' ? body.password : '';
    const confirm = typeof body?.confirm === 'string' ? body.confirm : '';
    try {
      const customerId = await acceptInvite(ctx, request.params.token, password, confirm);
      request.auditNote = { action: 'customer.accept-invite', resourceType: 'customer', resourceId: customerId };
    } catch (err) {
      if (!(err instanceof KuraError) || err.code !== 'bad_request') throw err;
      const customer = ctx.repos.customers.get(inviteCustomer(ctx, request.params.token) ?? '');
      return page(request, reply, 'invite', i18n.t(lang, 'auth.invite.title'),
        { customer, token: request.params.token, error: i18n.t(lang, `auth.password.${err.details?.field ?? 'password'}`) }, { status: 400 });
    }
    return reply.redirect('/login?invited=1', 303);
  });
};

function homeOf(kind: 'admin' | 'customer'): string {
  return kind === 'admin' ? '/admin' : '/panel';
}
