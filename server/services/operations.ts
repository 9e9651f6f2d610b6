import type { OperationRecord } from '../db/repos/operations.js';
import { newId } from '../lib/ids.js';
import type { Context } from '../core/context.js';

/** Records an operation and hands it to the runner; the row exists before any work starts. */
export function startOperation(ctx: Context, o: {
  kind: string; resourceType: string; resourceId: string; customerId: string | null; params?: Record<string, unknown>;
}, record?: () => void): OperationRecord {
  const id = newId('op');
  ctx.repos.db.transaction(() => {
    record?.();
    ctx.repos.operations.insert({ id, ...o });
  }).immediate();
  const op = ctx.repos.operations.get(id)!;
  ctx.runner.publish(op);
  ctx.runner.submit(op);
  return op;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** Resolves when the operation ends or the timeout passes, with its latest state. */
export function waitForOperation(ctx: Context, id: string, timeoutMs: number): Promise<OperationRecord | undefined> {
  const current = ctx.repos.operations.get(id);
  if (!current || TERMINAL.has(current.status) || timeoutMs <= 0) return Promise.resolve(current);
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      unsubscribe();
      resolve(ctx.repos.operations.get(id));
    };
    const timer = setTimeout(finish, timeoutMs);
    const unsubscribe = ctx.updates.subscribe((e) => {
      if (e.type === 'operation' && e.data.id === id && TERMINAL.has(String(e.data.status))) finish();
    });
  });
}
