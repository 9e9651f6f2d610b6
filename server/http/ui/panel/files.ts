import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { apiPath, baseName, crumbs, parentOf } from '../../../domain/file-paths.js';
import { environmentFor } from '../../../services/environments.js';
import { EDIT_MAX_BYTES, NotTextError, downloadFile, fileAction, listFiles, readTextFile, uploadFile } from '../../../services/files.js';
import { sftpHostKey } from '../../../services/sftp-host-key.js';
import { environmentView } from '../../../read-models/views.js';
import { BadRequestError, KuraError, customerErrorText } from '../../../lib/errors.js';
import type { Ui } from '../ui.js';
import { page } from '../render.js';
import { field, webPrincipal } from '../web-request.js';
import { bodyStream, rawBodyScope, sendDownload } from '../../file-transfer.js';

type FilesRoute = { Params: { id: string }; Querystring: { path?: string; archive?: string } };

/** The file manager: browse, upload (files.js), download, new folder, rename, delete, edit small text files. */
export const filePages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, i18n } = ui;
  const t = (request: FastifyRequest, key: string, vars?: Record<string, string | number>) => i18n.t(request.web.lang, key, vars);
  const filesUrl = (id: string, path: string) => `/panel/environments/${id}/files${path ? `?path=${encodeURIComponent(path)}` : ''}`;

  const render = async (request: FastifyRequest<FilesRoute>, reply: FastifyReply, extra: { error?: string; status?: number } = {}) => {
    const who = webPrincipal(request);
    const env = environmentFor(ctx, who, request.params.id);
    const view = environmentView(ctx, env);
    const checked = apiPath(request.query.path);
    const path = 'refused' in checked ? '' : checked.path;
    let items: Awaited<ReturnType<typeof listFiles>> = [];
    let error = extra.error ?? ('refused' in checked ? checked.refused : undefined);
    let status = extra.status;
    try {
      items = await listFiles(ctx, who, env.id, path);
    } catch (err) {
      if (!(err instanceof KuraError) || err.status >= 500 && err.code !== 'node_unavailable') throw err;
      error ??= who.kind === 'admin' ? err.message : customerErrorText(err, ctx.repos.nodes.names());
      status ??= err.status;
    }
    const rows = items.map((e) => {
      const full = path ? `${path}/${e.name}` : e.name;
      return { ...e, path: full, open: e.type === 'dir' ? filesUrl(env.id, full) : null,
        download: `/panel/environments/${env.id}/files/download?path=${encodeURIComponent(full)}${e.type === 'dir' ? '&archive=1' : ''}`,
        edit: e.type === 'file' && e.size <= EDIT_MAX_BYTES ? `/panel/environments/${env.id}/files/edit?path=${encodeURIComponent(full)}` : null,
        confirmDelete: t(request, e.type === 'dir' ? 'panel.files.confirmDeleteDir' : 'panel.files.confirmDelete', { name: full }) };
    });
    return page(request, reply, 'panel/files', t(request, 'panel.files.title', { name: env.name }), {
      env: view, path, rows, error, crumbs: crumbs(path).map((c) => ({ ...c, url: filesUrl(env.id, c.path) })),
      parentUrl: path ? filesUrl(env.id, parentOf(path)) : null, archiveUrl: `/panel/environments/${env.id}/files/download?path=${encodeURIComponent(path)}&archive=1`,
      hostKey: view.sftp ? sftpHostKey(ctx).fingerprint : null,
    }, { nav: 'panel/environments', ...(status ? { status } : {}) });
  };

  app.get<FilesRoute>('/environments/:id/files', async (request, reply) => render(request, reply));

  app.get<FilesRoute>('/environments/:id/files/download', async (request, reply) => {
    return sendDownload(reply, await downloadFile(ctx, webPrincipal(request), request.params.id, request.query.path, { archive: request.query.archive === '1' }));
  });

  // Uploads from files.js: the raw body streams into the environment, never parsed or held whole.
  await rawBodyScope(app, (raw) => {
    raw.put<FilesRoute>('/environments/:id/files/content', async (request, reply) => {
      await uploadFile(ctx, webPrincipal(request), request.params.id, request.query.path, bodyStream(request));
      request.auditNote = { action: 'file.write', resourceType: 'environment', resourceId: request.params.id, detail: `path=${request.query.path ?? ''}` };
      return reply.code(204).send();
    });
  });

  /** Runs a form's file action; a refusal is shown on the folder's page, with nothing changed. */
  const act = async (request: FastifyRequest<FilesRoute>, reply: FastifyReply, input: { action: string; path: string; to?: string }, back: string) => {
    try {
      const done = await fileAction(ctx, webPrincipal(request), request.params.id, input);
      request.auditNote = { action: `file.${done.action}`, resourceType: 'environment', resourceId: request.params.id,
        detail: 'to' in done ? `path=${done.path} to=${done.to}` : `path=${done.path}` };
      return reply.redirect(filesUrl(request.params.id, back), 303);
    } catch (err) {
      if (!(err instanceof KuraError) || err.status >= 500 || err.code === 'not_found' && input.action === 'delete') throw err;
      request.query.path = back;
      return render(request, reply, { error: err.message, status: err.status });
    }
  };

  app.post<FilesRoute>('/environments/:id/files/mkdir', async (request, reply) => {
    const folder = field(request.body, 'path');
    const name = field(request.body, 'name');
    if (!name || name.includes('/')) throw new BadRequestError(t(request, 'panel.files.badName'), { field: 'name' });
    return act(request, reply, { action: 'mkdir', path: folder ? `${folder}/${name}` : name }, folder);
  });

  app.post<FilesRoute>('/environments/:id/files/rename', async (request, reply) => {
    const from = field(request.body, 'path');
    const name = field(request.body, 'name');
    if (!name || name.includes('/')) throw new BadRequestError(t(request, 'panel.files.badName'), { field: 'name' });
    const folder = parentOf(from);
    return act(request, reply, { action: 'rename', path: from, to: folder ? `${folder}/${name}` : name }, folder);
  });

  app.post<FilesRoute>('/environments/:id/files/delete', async (request, reply) => {
    const target = field(request.body, 'path');
    return act(request, reply, { action: 'delete', path: target }, parentOf(target));
  });

  // The editor: UTF-8 text up to EDIT_MAX_BYTES; anything else is refused with the reason.
  // The editor: UTF-8 text up to EDIT_MAX_BYTES; anything else is refused on the folder's page, with the reason.
  app.get<FilesRoute>('/environments/:id/files/edit', async (request, reply) => {
    const who = webPrincipal(request);
    const env = environmentFor(ctx, who, request.params.id);
    let file: { path: string; text: string };
    try {
      file = await readTextFile(ctx, who, env.id, request.query.path);
    } catch (err) {
      if (!(err instanceof NotTextError)) throw err;
      request.query.path = parentOf(err.path);
      return render(request, reply, { error: t(request, 'panel.files.notText', { name: err.path }), status: 400 });
    }
    return page(request, reply, 'panel/file-edit', t(request, 'panel.files.editTitle', { name: baseName(file.path) }), {
      env: environmentView(ctx, env), path: file.path, text: file.text, backUrl: filesUrl(env.id, parentOf(file.path)),
      saveUrl: `/panel/environments/${env.id}/files/content?path=${encodeURIComponent(file.path)}`,
    }, { nav: 'panel/environments' });
  });

  app.post<FilesRoute>('/environments/:id/files/edit', async (request, reply) => {
    const file = field(request.body, 'path');
    const text = typeof (request.body as Record<string, unknown> | undefined)?.content === 'string'
      ? ((request.body as Record<string, string>).content ?? '') : '';
    await uploadFile(ctx, webPrincipal(request), request.params.id, file, Readable.from([Buffer.from(text.replace(/\r\n/g, '\n'), 'utf8')]));
    request.auditNote = { action: 'file.write', resourceType: 'environment', resourceId: request.params.id, detail: `path=${file} editor` };
    const checked = apiPath(file);
    return reply.redirect(filesUrl(request.params.id, 'path' in checked ? parentOf(checked.path) : ''), 303);
  });
};
