import type { OperationOf, OperationView } from '../db/repos/operations.js';
import { isFinished, type OperationKind, type ParamsOf } from '../domain/operations.js';
import { newId } from '../lib/ids.js';
import type { Context } from '../core/context.js';

export interface StartOperation<K extends OperationKind> {
  kind: K;
  resourceId: string;
  customerId: string | null;
  params: ParamsOf<K>;
  /** The batch operation this one is part of. */
  parentId?: string | undefined;
}

/**
 * Records an operation and hands it to the runner; the row exists before any work starts.
 * `record` runs in the same immediate transaction, before the row is written: it checks and
 * reserves (throwing refuses the whole operation) and changes the resource's state.
 */
export function startOperation<K extends OperationKind>(ctx: Context, o: StartOperation<K>, record?: () => void): OperationOf<K> {
  const op = ctx.repos.db.transaction(() => {
    record?.();
    return ctx.repos.operations.insert<K>({ id: newId('op'), ...o });
  }).immediate();
  ctx.operations.publish(op);
  ctx.operations.submit(op);
  return op;
}

/** Resolves when the operation ends or the timeout passes, with its latest state. */
export function waitForOperation(ctx: Context, id: string, timeoutMs: number): Promise<OperationView | undefined> {
  const current = ctx.repos.operations.view(id);
  if (!current || isFinished(current.status) || timeoutMs <= 0) return Promise.resolve(current);
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      unsubscribe();
      resolve(ctx.repos.operations.view(id));
    };
    const timer = setTimeout(finish, timeoutMs);
    const unsubscribe = ctx.updates.subscribe((e) => {
      if (e.type === 'operation' && e.data.id === id && isFinished(String(e.data.status))) finish();
    });
  });
}
