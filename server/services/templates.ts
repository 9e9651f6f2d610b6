import fs from 'node:fs';
import path from 'node:path';
import type { OperationOf } from '../db/repos/operations.js';
import { BadRequestError, ConflictError, NotFoundError } from '../lib/errors.js';
import { assertNodeOnline, assertSettled } from './environments.js';
import type { Context } from '../core/context.js';
import { startOperation } from './operations.js';

/** Loads a template into every active node's cache, as one operation. */
export function preloadTemplate(ctx: Context, templateId: string): OperationOf<'preload'> {
  if (!ctx.templates.get(templateId)) throw new NotFoundError('template', templateId);
  return startOperation(ctx, { kind: 'preload', resourceId: templateId, customerId: null, params: {} });
}

/** A captured template's id and version, as templates' folders and files name them. */
const TEMPLATE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const VERSION = /^[0-9A-Za-z.+-]{1,40}$/;

export interface CaptureInput {
  id: string;
  name: string;
  version: string;
}

/** Where captured templates live: the panel's data folder, one folder per id and version. */
export function capturedDir(ctx: Context, id?: string, version?: string): string {
  const root = path.join(ctx.config.dataDir, 'templates');
  return id === undefined ? root : version === undefined ? path.join(root, id) : path.join(root, id, version);
}

/**
 * Starts capturing an environment as a template: a new id, or a new version of a template
 * captured before (never a repository template's id, never a version that exists). The
 * environment must have a container on an online node; it keeps running (Docker pauses it
 * for the commit only).
 */
export function captureTemplate(ctx: Context, environmentId: string, input: CaptureInput): OperationOf<'capture'> {
  if (!TEMPLATE_ID.test(input.id)) throw new BadRequestError('id must be 1-63 of a-z, 0-9 and -, starting with a letter or digit', { field: 'id' });
  if (!VERSION.test(input.version)) throw new BadRequestError('version must be 1-40 of letters, digits, ".", "+" and "-"', { field: 'version' });
  const existing = ctx.templates.get(input.id);
  if (existing && existing.source.type !== 'captured') throw new ConflictError(`${input.id} is a template of the repository; choose another id`, { field: 'id' });
  if (fs.existsSync(capturedDir(ctx, input.id, input.version))) throw new ConflictError(`template ${input.id} already has version ${input.version}`, { field: 'version' });
  const env = ctx.repos.environments.get(environmentId);
  if (!env) throw new NotFoundError('environment', environmentId);
  assertSettled(env);
  assertNodeOnline(ctx, env);
  if (!env.containerId) throw new ConflictError('the environment has no container yet; wait for its operation');
  return startOperation(ctx, { kind: 'capture', resourceId: input.id, customerId: null,
    params: { environmentId, name: input.name, version: input.version } }, () => {
    if (ctx.repos.operations.openFor(input.id).some((o) => o.kind === 'capture')) throw new ConflictError(`template ${input.id} is already being captured`);
  });
}

/** Deletes a captured template (all its versions); refused while any environment was made from it. */
export function deleteCapturedTemplate(ctx: Context, id: string): void {
  const t = ctx.templates.get(id);
  if (!t) throw new NotFoundError('template', id);
  if (t.source.type !== 'captured') throw new ConflictError(`${id} is a template of the repository; only captured templates can be deleted`);
  const using = ctx.repos.environments.countWithTemplate(id);
  if (using > 0) throw new ConflictError(`template ${id} is used by ${using} environment${using === 1 ? '' : 's'}; it can be deleted once none is`);
  ctx.templates.remove?.(id);
  fs.rmSync(capturedDir(ctx, id), { recursive: true, force: true });
}
