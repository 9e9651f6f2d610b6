import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createToken, revokeToken } from '../../../services/customers.js';
import { changePassword, setLanguage } from '../../../services/sessions.js';
import { addSshKey, deleteSshKey } from '../../../services/ssh-keys.js';
import { BadRequestError, KuraError } from '../../../lib/errors.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';
import { field, requireCustomerPage, signedIn } from '../web-request.js';

/** Self-service: API tokens and SSH keys (customers), password and language (everyone). */
export const accountPages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;

  const render = (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) => {
    const active = signedIn(request);
    const tokens = active.principal.kind === 'customer'
      ? ctx.repos.tokens.byCustomer(active.principal.customerId).map((t) => ({ id: t.id, name: t.name, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt }))
      : null;
    const sshKeys = active.principal.kind === 'customer' ? ctx.repos.sshKeys.byCustomer(active.principal.customerId) : null;
    return page(request, reply, 'panel/account', i18n.t(request.web.lang, 'panel.account.title'),
      { tokens, sshKeys, ...extra }, { status, nav: 'panel/account' });
  };

  app.get('/account', async (request, reply) => render(request, reply));

  app.post('/account/tokens', async (request, reply) => {
    const active = requireCustomerPage(request);
    const name = field(request.body, 'name');
    if (!name || name.length > 100) {
      return render(request, reply, { error: i18n.t(request.web.lang, 'panel.account.tokenNameInvalid') }, 400);
    }
    const token = createToken(ctx, active.principal, active.principal.customerId, name);
    request.auditNote = { action: 'token.create', resourceType: 'token', resourceId: token.id, detail: `name=${name}` };
    return render(request, reply, { newToken: token, notice: i18n.t(request.web.lang, 'panel.account.tokenCreated') }, 201);
  });

  app.post<{ Params: { id: string } }>('/account/tokens/:id/revoke', async (request, reply) => {
    const active = requireCustomerPage(request);
    revokeToken(ctx, active.principal, request.params.id);
    request.auditNote = { action: 'token.revoke', resourceType: 'token', resourceId: request.params.id };
    return reply.redirect('/panel/account', 303);
  });

  app.post('/account/ssh-keys', async (request, reply) => {
    const active = requireCustomerPage(request);
    const name = field(request.body, 'name').trim() || 'key';
    try {
      const key = addSshKey(ctx, active.principal, active.principal.customerId, name.slice(0, 100), field(request.body, 'publicKey'));
      request.auditNote = { action: 'ssh-key.add', resourceType: 'ssh-key', resourceId: key.id, detail: `name=${key.name} fingerprint=${key.fingerprint}` };
      return reply.redirect('/panel/account', 303);
    } catch (err) {
      if (!(err instanceof KuraError) || err.status >= 500) throw err;
      return render(request, reply, { keyError: err.message }, err.status);
    }
  });

  app.post<{ Params: { id: string } }>('/account/ssh-keys/:id/delete', async (request, reply) => {
    const active = requireCustomerPage(request);
    const key = deleteSshKey(ctx, active.principal, request.params.id);
    request.auditNote = { action: 'ssh-key.delete', resourceType: 'ssh-key', resourceId: key.id, detail: `fingerprint=${key.fingerprint}` };
    return reply.redirect('/panel/account', 303);
  });

  app.post('/account/password', async (request, reply) => {
    const active = signedIn(request);
    const body = (request.body ?? {}) as Record<string, unknown>;
    const str = (k: string) => (typeof body[k] === 'string' ? body[k] as string : '');
    try {
      await changePassword(ctx, active, str('current'), str('password'), str('confirm'));
    } catch (err) {
      if (!(err instanceof KuraError) || err.code !== 'bad_request') throw err;
      return render(request, reply, { error: i18n.t(request.web.lang, `auth.password.${String(err.details?.field ?? 'password')}`) }, 400);
    }
    request.auditNote = { action: 'account.password', resourceType: active.account.kind, resourceId: active.account.id };
    return render(request, reply, { notice: i18n.t(request.web.lang, 'panel.account.passwordChanged') });
  });

  app.post('/account/language', async (request, reply) => {
    const active = signedIn(request);
    const lang = field(request.body, 'lang');
    if (lang !== 'ja' && lang !== 'en') throw new BadRequestError('language must be ja or en', { field: 'lang' });
    setLanguage(ctx, active.account, lang);
    request.auditNote = { action: 'account.language', resourceType: active.account.kind, resourceId: active.account.id, detail: `lang=${lang}` };
    return reply.redirect('/panel/account', 303);
  });
};
