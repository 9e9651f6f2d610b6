import type { OperationOf } from '../db/repos/operations.js';
import { NotFoundError } from '../lib/errors.js';
import type { Context } from '../core/context.js';
import { startOperation } from './operations.js';

/** Loads a template into every active node's cache, as one operation. */
export function preloadTemplate(ctx: Context, templateId: string): OperationOf<'preload'> {
  if (!ctx.templates.get(templateId)) throw new NotFoundError('template', templateId);
  return startOperation(ctx, { kind: 'preload', resourceId: templateId, customerId: null, params: {} });
}
