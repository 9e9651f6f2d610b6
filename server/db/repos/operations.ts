import type { Db } from '../connection.js';
import { nowIso } from '../../lib/ids.js';
import { customerSafeMessage } from '../../lib/errors.js';
import {
  InvalidOperationRecord, isOperationKind, OPERATION_KINDS, readPart,
  type CheckpointOf, type Operation, type OperationKind, type OperationStatus, type ParamsOf, type ResourceType, type ResultOf,
} from '../../domain/operations.js';

/** An operation of one kind as the runner and the services see it: its stored parts read through the kind's schemas. */
export interface OperationOf<K extends OperationKind> extends StoredOperation {
  kind: K;
  customerId: string | null;
  /** The batch operation this one was started for. */
  parentId: string | null;
  params: ParamsOf<K>;
  checkpoint: Partial<CheckpointOf<K>>;
  result: ResultOf<K> | null;
  attempts: number;
}

/** What the API shows of an operation, with the customer it belongs to (null: admins only). */
export interface OperationView extends StoredOperation {
  customerId: string | null;
}

/** The public view, plus what a customer is told of its error instead of the full message. */
export interface StoredOperation extends Operation {
  errorForCustomer?: string | null;
}

/** Any operation: a union over the kinds, so `kind` tells the compiler what `params` holds. */
export type OperationRecord = { [K in OperationKind]: OperationOf<K> }[OperationKind];

export interface NewOperation<K extends OperationKind> {
  id: string;
  kind: K;
  resourceId: string;
  customerId: string | null;
  params: ParamsOf<K>;
  parentId?: string | undefined;
  message?: string;
}

interface OpRow {
  id: string; kind: string; status: OperationStatus; progress: number; message: string; resource_type: string;
  resource_id: string; customer_id: string | null; params: string; checkpoint: string; result: string | null;
  parent_id: string | null; error_code: string | null; error_message: string | null; error_customer_message: string | null;
  attempts: number; created_at: string; updated_at: string;
}

function publicOf(r: OpRow, kind: OperationKind): StoredOperation {
  return {
    errorForCustomer: r.error_customer_message,
    id: r.id, kind, status: r.status, progress: r.progress, message: r.message,
    resource: { type: r.resource_type as ResourceType, id: r.resource_id },
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
    createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

function kindOf(r: OpRow): OperationKind {
  if (!isOperationKind(r.kind)) throw new InvalidOperationRecord(r.id, `unknown kind ${JSON.stringify(r.kind)}`);
  return r.kind;
}

function json(r: OpRow, part: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidOperationRecord(r.id, `${part} is not JSON`);
  }
}

/** Reads a row whole; a kind, params, checkpoint or result that its schema refuses throws InvalidOperationRecord. */
function toOp(r: OpRow): OperationRecord {
  const kind = kindOf(r);
  return {
    ...publicOf(r, kind), kind,
    customerId: r.customer_id, parentId: r.parent_id, attempts: r.attempts,
    params: readPart(r.id, kind, 'params', json(r, 'params', r.params)),
    checkpoint: readPart(r.id, kind, 'checkpoint', json(r, 'checkpoint', r.checkpoint)),
    result: r.result === null ? null : readPart(r.id, kind, 'result', json(r, 'result', r.result)),
  } as OperationRecord;
}

/**
 * The public view of an operation, as the contract shapes it. A customer reads its error (and
 * the failed operation's message, which repeats it) in words that name no node, host path or
 * Docker message; an admin reads it whole.
 */
export function publicOperation(op: StoredOperation, audience: 'admin' | 'customer' = 'admin'): Operation {
  let { message, error } = op;
  if (audience === 'customer' && error) {
    const safe = op.errorForCustomer ?? customerSafeMessage(error.code, error.message);
    if (message === error.message) message = safe;
    error = { code: error.code, message: safe };
  }
  return {
    id: op.id, kind: op.kind, status: op.status, progress: op.progress, message, resource: op.resource,
    error, createdAt: op.createdAt, updatedAt: op.updatedAt,
  };
}

export function operationsRepo(db: Db) {
  const q = {
    insert: db.prepare(`INSERT INTO operations (id, kind, status, progress, message, resource_type, resource_id, customer_id,
      params, parent_id, created_at, updated_at) VALUES (@id, @kind, 'queued', 0, @message, @resourceType, @resourceId, @customerId,
      @params, @parentId, @now, @now)`),
    get: db.prepare('SELECT * FROM operations WHERE id = ?'),
    open: db.prepare("SELECT * FROM operations WHERE status IN ('queued', 'running') ORDER BY id"),
    openFor: db.prepare("SELECT * FROM operations WHERE resource_id = ? AND status IN ('queued', 'running') ORDER BY id"),
    page: db.prepare(`SELECT * FROM operations WHERE id > @after AND (@resourceId IS NULL OR resource_id = @resourceId)
      AND (@customerId IS NULL OR customer_id = @customerId) ORDER BY id LIMIT @limit`),
    recent: db.prepare(`SELECT * FROM operations WHERE (@status IS NULL OR status = @status) ORDER BY id DESC LIMIT @limit`),
    children: db.prepare('SELECT * FROM operations WHERE parent_id = ? ORDER BY id'),
    latestOf: db.prepare('SELECT * FROM operations WHERE kind = ? AND resource_id = ? ORDER BY id DESC LIMIT 1'),
    recentFor: db.prepare('SELECT * FROM operations WHERE resource_id = ? ORDER BY id DESC LIMIT ?'),
    checkpoint: db.prepare('UPDATE operations SET checkpoint = json_patch(checkpoint, ?), updated_at = ? WHERE id = ?'),
    start: db.prepare("UPDATE operations SET status = 'running', attempts = attempts + 1, updated_at = ? WHERE id = ?"),
    progress: db.prepare('UPDATE operations SET progress = MAX(progress, ?), message = ?, updated_at = ? WHERE id = ?'),
    finish: db.prepare(`UPDATE operations SET status = @status, progress = CASE WHEN @status = 'succeeded' THEN 100 ELSE progress END,
      message = @message, result = @result, error_code = @code, error_message = @error, error_customer_message = @customerError,
      updated_at = @now WHERE id = @id`),
  };
  const all = (rows: unknown[]): OperationRecord[] => (rows as OpRow[]).map(toOp);
  /** Lists only show the public view, so one unreadable row never hides the others. */
  const views = (rows: unknown[]): StoredOperation[] => (rows as OpRow[]).map((r) => publicOf(r, r.kind as OperationKind));
  return {
    /** Records a queued operation; its resource's type comes with its kind. */
    insert<K extends OperationKind>(o: NewOperation<K>): OperationOf<K> {
      q.insert.run({ id: o.id, kind: o.kind, message: o.message ?? 'queued', resourceType: OPERATION_KINDS[o.kind].resource,
        resourceId: o.resourceId, customerId: o.customerId, params: JSON.stringify(o.params), parentId: o.parentId ?? null, now: nowIso() });
      return toOp(q.get.get(o.id) as OpRow) as OperationOf<K>;
    },
    get(id: string): OperationRecord | undefined {
      const r = q.get.get(id) as OpRow | undefined;
      return r && toOp(r);
    },
    /** The public view and its owner only: readable even when the stored parts are not. */
    view(id: string): OperationView | undefined {
      const r = q.get.get(id) as OpRow | undefined;
      return r && { ...publicOf(r, r.kind as OperationKind), customerId: r.customer_id };
    },
    /** Open operations' ids: the runner reads each one whole on its own, so one bad row fails alone. */
    openIds(): string[] {
      return (q.open.all() as OpRow[]).map((r) => r.id);
    },
    open(): OperationRecord[] {
      return all(q.open.all());
    },
    openFor(resourceId: string): OperationRecord[] {
      return all(q.openFor.all(resourceId));
    },
    page(after: string, limit: number, f: { resourceId?: string | undefined; customerId?: string | undefined }): StoredOperation[] {
      return views(q.page.all({ after, limit, resourceId: f.resourceId ?? null, customerId: f.customerId ?? null }));
    },
    /** The newest operations first, optionally only those in one status. */
    recent(limit: number, status?: OperationStatus): StoredOperation[] {
      return views(q.recent.all({ limit, status: status ?? null }));
    },
    /** One resource's newest operations, newest first. */
    recentFor(resourceId: string, limit: number): StoredOperation[] {
      return views(q.recentFor.all(resourceId, limit));
    },
    /** The operations started on behalf of a batch operation, oldest first. */
    children(parentId: string): OperationRecord[] {
      return all(q.children.all(parentId));
    },
    /** The newest operation of one kind on one resource, in any status. */
    latestOf<K extends OperationKind>(kind: K, resourceId: string): OperationOf<K> | undefined {
      const r = q.latestOf.get(kind, resourceId) as OpRow | undefined;
      return r && (toOp(r) as OperationOf<K>);
    },
    /** Adds to an operation's checkpoint (a JSON merge patch): what it chose or found, kept across re-runs. */
    checkpoint<K extends OperationKind>(id: string, patch: Partial<CheckpointOf<K>>): void {
      q.checkpoint.run(JSON.stringify(patch), nowIso(), id);
    },
    markRunning(id: string): void {
      q.start.run(nowIso(), id);
    },
    progress(id: string, progress: number, message: string): void {
      q.progress.run(Math.max(0, Math.min(100, Math.round(progress))), message, nowIso(), id);
    },
    finish(id: string, status: 'succeeded' | 'failed' | 'cancelled', message: string,
      o: { error?: { code: string; message: string; customerMessage?: string } | undefined; result?: unknown } = {}): void {
      q.finish.run({ id, status, message, result: o.result === undefined || o.result === null ? null : JSON.stringify(o.result),
        code: o.error?.code ?? null, error: o.error?.message ?? null, customerError: o.error?.customerMessage ?? null, now: nowIso() });
    },
  };
}
export type OperationsRepo = ReturnType<typeof operationsRepo>;

/** Narrows an operation to one kind, so its params, checkpoint and result are that kind's. */
export function isKind<K extends OperationKind>(op: OperationRecord, kind: K): op is OperationOf<K> & OperationRecord {
  return op.kind === kind;
}
