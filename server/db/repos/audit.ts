import type { Db } from '../connection.js';

export interface AuditEntry {
  id: string;
  at: string;
  actorKind: 'admin' | 'customer' | 'anonymous';
  actorId: string | null;
  actorLabel: string;
  customerId: string | null;
  via: 'api' | 'web' | 'sftp';
  ip: string;
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  status: number;
  detail: string | null;
}

export interface AuditFilter {
  customerId?: string;
  q?: string;
  before?: string;
  limit: number;
}

/** The audit log: appended to on every successful mutation, never edited. */
export function auditRepo(db: Db) {
  const insert = db.prepare(`INSERT INTO audit_log (id, at, actor_kind, actor_id, actor_label, customer_id, via, ip, action,
    resource_type, resource_id, status, detail) VALUES (@id, @at, @actorKind, @actorId, @actorLabel, @customerId, @via, @ip,
    @action, @resourceType, @resourceId, @status, @detail)`);
  const columns = `id, at, actor_kind AS actorKind, actor_id AS actorId, actor_label AS actorLabel, customer_id AS customerId,
    via, ip, action, resource_type AS resourceType, resource_id AS resourceId, status, detail`;
  const prepared = new Map<string, ReturnType<Db['prepare']>>();
  const statement = (sql: string) => {
    let st = prepared.get(sql);
    if (!st) prepared.set(sql, st = db.prepare(sql));
    return st;
  };
  return {
    append(e: AuditEntry): void {
      insert.run(e);
    },
    /** Newest first; `q` matches the action, the actor or the resource id. */
    list(f: AuditFilter): AuditEntry[] {
      const where: string[] = [];
      const args: Record<string, unknown> = { limit: f.limit };
      if (f.customerId) { where.push('customer_id = @customerId'); args.customerId = f.customerId; }
      if (f.before) { where.push('id < @before'); args.before = f.before; }
      if (f.q) {
        where.push("(action LIKE @q ESCAPE '\\' OR actor_label LIKE @q ESCAPE '\\' OR resource_id LIKE @q ESCAPE '\\')");
        args.q = `%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      }
      const sql = `SELECT ${columns} FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`;
      return statement(sql).all(args) as AuditEntry[];
    },
  };
}
