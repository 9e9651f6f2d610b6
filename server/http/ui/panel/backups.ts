import { shownTime } from '../../../lib/ids.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { backupPathRefusal } from '../../../domain/backups.js';
import { environmentFor } from '../../../services/environments.js';
import { backupFor, backupStorage, backupView, browseBackup, createBackup, deleteBackup, downloadBackup, listBackups, policyOf, restoreBackup } from '../../../services/backups.js';
import { publicOperation } from '../../../db/repos/operations.js';
import { environmentView } from '../../../read-models/views.js';
import { BadRequestError } from '../../../lib/errors.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';
import { field, webPrincipal } from '../web-request.js';
import { sendDownload } from '../../file-transfer.js';

type IdRoute = { Params: { id: string } };


/**
 * Backups from the customer panel: take one (with a note, kept outside retention or not),
 * see them with their progress and what they take, restore one in place after a page that
 * says what will be replaced, into a new environment, or one file or folder from the
 * backup's file browser, download one, delete one.
 */
export const backupPages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;
  const t = (request: FastifyRequest, key: string, vars?: Record<string, string | number>) => i18n.t(request.web.lang, key, vars);
  const backupsUrl = (envId: string) => `/panel/environments/${envId}/backups`;

  app.get<IdRoute>('/environments/:id/backups', async (request, reply) => {
    const who = webPrincipal(request);
    const env = environmentFor(ctx, who, request.params.id);
    const backups = listBackups(ctx, who, env.id, 100, undefined).items;
    const rows = backups.map((b) => {
      const op = b.status === 'running' ? ctx.repos.operations.latestOf('backup', b.id) : undefined;
      return { ...backupView(b), operation: op ? publicOperation(op, who.kind) : null,
        confirmDelete: t(request, 'panel.backups.confirmDelete', { date: shownTime(b.createdAt) }) };
    });
    const restores = ctx.repos.operations.openFor(env.id).filter((o) => o.kind === 'backup-restore')
      .map((o) => publicOperation(o, who.kind));
    const policy = policyOf(ctx, env);
    return page(request, reply, 'panel/backups', t(request, 'panel.backups.title', { name: env.name }), {
      env: environmentView(ctx, env), rows, restores, policy, storage: backupStorage(ctx, env.customerId, env),
    }, { nav: 'panel/environments' });
  });

  app.post<IdRoute>('/environments/:id/backups', async (request, reply) => {
    const note = field(request.body, 'note').slice(0, 200);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(note)) throw new BadRequestError(t(request, 'panel.backups.badNote'), { field: 'note' });
    const { backup } = createBackup(ctx, webPrincipal(request), request.params.id, { note, keep: field(request.body, 'keep') === '1' });
    request.auditNote = { action: 'backup.create', resourceType: 'environment', resourceId: request.params.id, detail: `backup=${backup.id}` };
    return reply.redirect(backupsUrl(request.params.id), 303);
  });

  // What a restore replaces, said before it is done; the same page makes a new environment from the backup.
  app.get<IdRoute>('/backups/:id/restore', async (request, reply) => {
    const who = webPrincipal(request);
    const backup = backupFor(ctx, who, request.params.id);
    const env = environmentFor(ctx, who, backup.environmentId);
    return page(request, reply, 'panel/backup-restore', t(request, 'panel.backups.restoreTitle', { name: env.name }), {
      env: environmentView(ctx, env), backup: backupView(backup), suggestedName: `${env.name}-restored`.slice(0, 63),
    }, { nav: 'panel/environments' });
  });

  app.post<IdRoute>('/backups/:id/restore', async (request, reply) => {
    const who = webPrincipal(request);
    const target = field(request.body, 'target');
    const path = field(request.body, 'path');
    if (target === 'new') {
      const r = restoreBackup(ctx, who, request.params.id, { target: 'new', name: field(request.body, 'name') });
      request.auditNote = { action: 'backup.restore', resourceType: 'environment', resourceId: r.environment!.id, detail: `backup=${request.params.id} target=new` };
      return reply.redirect(`/panel/environments/${r.environment!.id}?op=${r.operation.id}`, 303);
    }
    if (target !== 'same') throw new BadRequestError('target must be same or new', { field: 'target' });
    const backup = backupFor(ctx, who, request.params.id);
    const r = restoreBackup(ctx, who, backup.id, { target: 'same', ...(path ? { path } : {}) });
    request.auditNote = { action: 'backup.restore', resourceType: 'environment', resourceId: backup.environmentId,
      detail: `backup=${backup.id} target=same${path ? ` path=${path}` : ''}` };
    return reply.redirect(`/panel/environments/${backup.environmentId}?op=${r.operation.id}`, 303);
  });

  app.post<IdRoute>('/backups/:id/delete', async (request, reply) => {
    const who = webPrincipal(request);
    const backup = backupFor(ctx, who, request.params.id);
    await deleteBackup(ctx, who, backup.id);
    request.auditNote = { action: 'backup.delete', resourceType: 'environment', resourceId: backup.environmentId, detail: `backup=${backup.id}` };
    return reply.redirect(backupsUrl(backup.environmentId), 303);
  });

  app.get<IdRoute>('/backups/:id/download', async (request, reply) => {
    const d = await downloadBackup(ctx, webPrincipal(request), request.params.id);
    return sendDownload(reply, { kind: 'archive', name: d.name, size: null, stream: d.stream });
  });

  // The backup's file browser: each file or folder can be put back as it was, while the environment runs.
  app.get<IdRoute & { Querystring: { path?: string } }>('/backups/:id/files', async (request, reply) => {
    const who = webPrincipal(request);
    const backup = backupFor(ctx, who, request.params.id);
    const env = environmentFor(ctx, who, backup.environmentId);
    const path = request.query.path || '/';
    const refusal = backupPathRefusal(path);
    if (refusal) throw new BadRequestError(refusal, { field: 'path' });
    const items = await browseBackup(ctx, who, backup.id, path);
    const filesUrl = (p: string) => `/panel/backups/${backup.id}/files?path=${encodeURIComponent(p)}`;
    const parts = path.split('/').filter(Boolean);
    const crumbs = [{ name: '/', url: filesUrl('/') }, ...parts.map((name, i) => ({ name, url: filesUrl(`/${parts.slice(0, i + 1).join('/')}`) }))];
    return page(request, reply, 'panel/backup-files', t(request, 'panel.backups.filesTitle', { name: env.name }), {
      env: environmentView(ctx, env), backup: backupView(backup), path, crumbs,
      parentUrl: path === '/' ? null : filesUrl(path.slice(0, path.lastIndexOf('/')) || '/'),
      rows: items.map((e) => ({ ...e, open: e.type === 'dir' ? filesUrl(e.path) : null, restorable: e.type === 'file' || e.type === 'dir',
        confirmRestore: t(request, 'panel.backups.confirmRestorePath', { path: e.path, name: env.name, date: shownTime(backup.createdAt) }) })),
    }, { nav: 'panel/environments' });
  });
};
