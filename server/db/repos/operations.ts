import type { Db } from '../connection.js';
import { nowIso } from '../../lib/ids.js';

export type OperationStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export type Operation = {
  id: string;
  kind: string;
  status: OperationStatus;
  progress: number;
  message: string;
  resource: { type: string; id: string };
  error: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
};

export interface OperationRecord extends Operation {
  customerId: string | null;
  params: Record<string, unknown>;
  attempts: number;
}

interface OpRow {
  id: string; kind: string; status: OperationStatus; progress: number; message: string; resource_type: string;
  resource_id: string; customer_id: string | null; params: string; error_code: string | null; error_message: string | null;
  attempts: number; created_at: string; updated_at: string;
}

const toOp = (r: OpRow): OperationRecord => ({
  id: r.id, kind: r.kind, status: r.status, progress: r.progress, message: r.message,
  resource: { type: r.resource_type, id: r.resource_id },
  error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
  createdAt: r.created_at, updatedAt: r.updated_at,
  customerId: r.customer_id, params: JSON.parse(r.params) as Record<string, unknown>, attempts: r.attempts,
});

/** The public view of an operation, as the contract shapes it. */
export function publicOperation(op: OperationRecord): Operation {
  return {
    id: op.id, kind: op.kind, status: op.status, progress: op.progress, message: op.message, resource: op.resource,
    error: op.error, createdAt: op.createdAt, updatedAt: op.updatedAt,
  };
}

export function operationsRepo(db: Db) {
  const q = {
    insert: db.prepare(`INSERT INTO operations (id, kind, status, progress, message, resource_type, resource_id, customer_id,
      params, created_at, updated_at) VALUES (@id, @kind, 'queued', 0, @message, @resourceType, @resourceId, @customerId,
      @params, @now, @now)`),
    get: db.prepare('SELECT * FROM operations WHERE id = ?'),
    open: db.prepare("SELECT * FROM operations WHERE status IN ('queued', 'running') ORDER BY id"),
    openFor: db.prepare("SELECT * FROM operations WHERE resource_id = ? AND status IN ('queued', 'running') ORDER BY id"),
    page: db.prepare(`SELECT * FROM operations WHERE id > @after AND (@resourceId IS NULL OR resource_id = @resourceId)
      AND (@customerId IS NULL OR customer_id = @customerId) ORDER BY id LIMIT @limit`),
    recent: db.prepare(`SELECT * FROM operations WHERE (@status IS NULL OR status = @status) ORDER BY id DESC LIMIT @limit`),
    children: db.prepare("SELECT * FROM operations WHERE json_extract(params, '$.parentId') = ? ORDER BY id"),
    latestOf: db.prepare('SELECT * FROM operations WHERE kind = ? AND resource_id = ? ORDER BY id DESC LIMIT 1'),
    recentFor: db.prepare('SELECT * FROM operations WHERE resource_id = ? ORDER BY id DESC LIMIT ?'),
    mergeParams: db.prepare('UPDATE operations SET params = json_patch(params, ?), updated_at = ? WHERE id = ?'),
    start: db.prepare("UPDATE operations SET status = 'running', attempts = attempts + 1, updated_at = ? WHERE id = ?"),
    progress: db.prepare('UPDATE operations SET progress = MAX(progress, ?), message = ?, updated_at = ? WHERE id = ?'),
    finish: db.prepare(`UPDATE operations SET status = @status, progress = CASE WHEN @status = 'succeeded' THEN 100 ELSE progress END,
      message = @message, error_code = @code, error_message = @error, updated_at = @now WHERE id = @id`),
  };
  return {
    insert(o: { id: string; kind: string; resourceType: string; resourceId: string; customerId: string | null;
      params?: Record<string, unknown>; message?: string }): OperationRecord {
      q.insert.run({ id: o.id, kind: o.kind, message: o.message ?? 'queued', resourceType: o.resourceType,
        resourceId: o.resourceId, customerId: o.customerId, params: JSON.stringify(o.params ?? {}), now: nowIso() });
      return this.get(o.id)!;
    },
    get(id: string): OperationRecord | undefined {
      const r = q.get.get(id) as OpRow | undefined;
      return r && toOp(r);
    },
    open(): OperationRecord[] {
      return (q.open.all() as OpRow[]).map(toOp);
    },
    openFor(resourceId: string): OperationRecord[] {
      return (q.openFor.all(resourceId) as OpRow[]).map(toOp);
    },
    page(after: string, limit: number, f: { resourceId?: string | undefined; customerId?: string | undefined }): OperationRecord[] {
      return (q.page.all({ after, limit, resourceId: f.resourceId ?? null, customerId: f.customerId ?? null }) as OpRow[]).map(toOp);
    },
    /** The newest operations first, optionally only those in one status. */
    recent(limit: number, status?: OperationStatus): OperationRecord[] {
      return (q.recent.all({ limit, status: status ?? null }) as OpRow[]).map(toOp);
    },
    /** One resource's newest operations, newest first. */
    recentFor(resourceId: string, limit: number): OperationRecord[] {
      return (q.recentFor.all(resourceId, limit) as OpRow[]).map(toOp);
    },
    /** The operations started on behalf of a batch operation (their params.parentId), oldest first. */
    children(parentId: string): OperationRecord[] {
      return (q.children.all(parentId) as OpRow[]).map(toOp);
    },
    /** The newest operation of one kind on one resource, in any status. */
    latestOf(kind: string, resourceId: string): OperationRecord | undefined {
      const r = q.latestOf.get(kind, resourceId) as OpRow | undefined;
      return r && toOp(r);
    },
    /** Adds to an operation's params (a JSON merge patch): what a batch planned or found, kept across re-runs. */
    mergeParams(id: string, patch: Record<string, unknown>): void {
      q.mergeParams.run(JSON.stringify(patch), nowIso(), id);
    },
    markRunning(id: string): void {
      q.start.run(nowIso(), id);
    },
    progress(id: string, progress: number, message: string): void {
      q.progress.run(Math.max(0, Math.min(100, Math.round(progress))), message, nowIso(), id);
    },
    finish(id: string, status: 'succeeded' | 'failed' | 'cancelled', message: string, error?: { code: string; message: string }): void {
      q.finish.run({ id, status, message, code: error?.code ?? null, error: error?.message ?? null, now: nowIso() });
    },
  };
}
export type OperationsRepo = ReturnType<typeof operationsRepo>;
