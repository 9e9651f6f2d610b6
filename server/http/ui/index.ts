import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { Context } from '../../core/context.js';
import { resolveSession } from '../../services/sessions.js';
import { LoginThrottle } from '../../services/login-throttle.js';
import { KuraError } from '../../lib/errors.js';
import { StreamRegistry } from '../streams.js';
import { setRetryAfter, toErrorBody } from '../errors.js';
import { registerAudit } from '../audit-hook.js';
import { addressCaller, sessionCaller, type RequestLimits } from '../rate-limit.js';
import { chooseLanguage, type Translator } from './i18n.js';
import { checkCsrf } from './csrf.js';
import { LoginRequired } from './web-request.js';
import { page } from './render.js';
import type { Ui } from './ui.js';
import { CSRF_COOKIE, LANG_COOKIE, SESSION_COOKIE, cookieOptions } from './cookies.js';
import { authRoutes } from './auth-routes.js';
import { panelRoutes } from './panel/index.js';
import { adminRoutes } from './admin/index.js';


/** The web panel: the customer pages under /panel, the admin console under /admin, and login. */
export const webUi = (ctx: Context, i18n: Translator, limits: RequestLimits) => async (app: FastifyInstance): Promise<void> => {
  const ui: Ui = { ctx, i18n, throttle: new LoginThrottle(), streams: new StreamRegistry() };
  // Before the server waits for open connections to end: streams would hold it open.
  app.addHook('preClose', async () => ui.streams.closeAll());
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 256 * 1024 });

  app.decorateRequest('web', null as never);
  app.addHook('onRequest', async (request, reply) => {
    const active = resolveSession(ctx, request.cookies[SESSION_COOKIE]);
    let csrf = active?.session.csrfToken ?? request.cookies[CSRF_COOKIE];
    if (!active && (!csrf || !/^[A-Za-z0-9_-]{32}$/.test(csrf))) {
      csrf = randomBytes(24).toString('base64url');
      reply.setCookie(CSRF_COOKIE, csrf, cookieOptions(request));
    }
    const lang = chooseLanguage(active?.account.language, request.cookies[LANG_COOKIE], request.headers['accept-language']);
    request.web = { active, lang, csrf: csrf! };
    // After request.web is set, so a refusal is still a page in the visitor's language.
    await limits.admit(request, reply, active ? sessionCaller(active.session.idHash, active.principal) : addressCaller(request));
  });
  app.addHook('preHandler', async (request) => checkCsrf(request));
  registerAudit(app, ctx, 'web', (request) => request.web?.active?.principal ?? null);

  app.setErrorHandler((err: FastifyError, request, reply) => errorPage(ui, err, request, reply));
  await app.register(authRoutes(ui));
  await app.register(async (scoped) => {
    scoped.setNotFoundHandler(notFound(ui));
    await scoped.register(panelRoutes(ui));
  }, { prefix: '/panel' });
  await app.register(async (scoped) => {
    scoped.setNotFoundHandler(notFound(ui));
    await scoped.register(adminRoutes(ui));
  }, { prefix: '/admin' });
};

/** An unknown page under /panel or /admin: the same HTML 404 as a missing record. */
function notFound(ui: Ui) {
  return (request: FastifyRequest, reply: FastifyReply) =>
    errorPage(ui, new KuraError('not_found', `no page ${request.url.split('?')[0]}`) as unknown as FastifyError, request, reply);
}

function errorPage(ui: Ui, err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof LoginRequired) {
    const next = request.method === 'GET' ? `?next=${encodeURIComponent(request.url)}` : '';
    return reply.redirect(`/login${next}`, 303);
  }
  const admin = request.web?.active?.principal.kind === 'admin';
  const { status, body } = toErrorBody(err, { admin, nodeNames: () => ui.ctx.repos.nodes.names() });
  if (status >= 500) request.log.error({ err }, 'page failed');
  setRetryAfter(reply, status, err);
  // Scripts that post with fetch get the API's JSON error shape.
  if (request.headers.accept?.includes('application/json')) return reply.code(status).type('application/json').send(body);
  if (!request.web) return reply.code(status).type('text/plain; charset=utf-8').send(body.error.message);
  const lang = request.web.lang;
  const message = err instanceof KuraError || status < 500 ? body.error.message : ui.i18n.t(lang, 'common.error.internal');
  return page(request, reply, 'error', ui.i18n.t(lang, `common.error.title${status}`) || String(status),
    { status, message, code: body.error.code }, { status });
}
