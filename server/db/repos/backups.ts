import type { Db } from '../connection.js';
import type { Backup, BackupKind } from '../../domain/backups.js';
import { nowIso } from '../../lib/ids.js';

interface Row {
  id: string; environment_id: string; customer_id: string; environment_name: string; template_id: string; plan_id: string; node_id: string;
  status: Backup['status']; kind: BackupKind; keep: number; note: string; snapshot_id: string | null; size_bytes: number; added_bytes: number;
  frozen_ms: number | null; error: string | null; expires_at: string | null; created_at: string; finished_at: string | null;
}

const toBackup = (r: Row): Backup => ({
  id: r.id, environmentId: r.environment_id, customerId: r.customer_id, environmentName: r.environment_name, templateId: r.template_id,
  planId: r.plan_id, nodeId: r.node_id, status: r.status, kind: r.kind, keep: r.keep === 1, note: r.note, snapshotId: r.snapshot_id,
  sizeBytes: r.size_bytes, addedBytes: r.added_bytes, frozenMs: r.frozen_ms, error: r.error, expiresAt: r.expires_at,
  createdAt: r.created_at, finishedAt: r.finished_at,
});

export type NewBackup = Pick<Backup, 'id' | 'environmentId' | 'customerId' | 'environmentName' | 'templateId' | 'planId' | 'nodeId' | 'kind' | 'keep' | 'note'>;

export function backupsRepo(db: Db) {
  const q = {
    insert: db.prepare(`INSERT INTO backups (id, environment_id, customer_id, environment_name, template_id, plan_id, node_id, status, kind, keep, note, created_at)
      VALUES (@id, @environmentId, @customerId, @environmentName, @templateId, @planId, @nodeId, 'running', @kind, @keep, @note, @now)`),
    get: db.prepare('SELECT * FROM backups WHERE id = ?'),
    byEnvironment: db.prepare('SELECT * FROM backups WHERE environment_id = ? ORDER BY created_at DESC, id DESC'),
    byCustomer: db.prepare('SELECT * FROM backups WHERE customer_id = ? ORDER BY created_at DESC, id DESC'),
    page: db.prepare(`SELECT * FROM backups WHERE environment_id = ? AND (created_at < @at OR (created_at = @at AND id < @id))
      ORDER BY created_at DESC, id DESC LIMIT @limit`),
    running: db.prepare("SELECT * FROM backups WHERE status = 'running' ORDER BY created_at"),
    succeed: db.prepare(`UPDATE backups SET status = 'succeeded', snapshot_id = @snapshotId, size_bytes = @sizeBytes, added_bytes = @addedBytes,
      frozen_ms = @frozenMs, finished_at = @now WHERE id = @id AND status = 'running'`),
    fail: db.prepare("UPDATE backups SET status = 'failed', error = @error, frozen_ms = COALESCE(@frozenMs, frozen_ms), finished_at = @now WHERE id = @id AND status = 'running'"),
    setSnapshot: db.prepare('UPDATE backups SET snapshot_id = ? WHERE id = ?'),
    expire: db.prepare('UPDATE backups SET expires_at = ? WHERE environment_id = ? AND expires_at IS NULL'),
    expired: db.prepare('SELECT * FROM backups WHERE expires_at IS NOT NULL AND expires_at <= ?'),
    remove: db.prepare('DELETE FROM backups WHERE id = ?'),
    lastScheduled: db.prepare("SELECT MAX(created_at) FROM backups WHERE environment_id = ? AND kind = 'scheduled'").pluck(),
    customers: db.prepare('SELECT DISTINCT customer_id FROM backups').pluck(),
    lastGood: db.prepare("SELECT environment_id, MAX(created_at) AS at FROM backups WHERE status = 'succeeded' AND expires_at IS NULL GROUP BY environment_id"),
    latestPerEnvironment: db.prepare(`SELECT b.* FROM backups b WHERE b.expires_at IS NULL AND b.created_at = (
      SELECT MAX(created_at) FROM backups WHERE environment_id = b.environment_id AND status != 'running')`),
  };
  return {
    insert(b: NewBackup): Backup {
      q.insert.run({ ...b, keep: b.keep ? 1 : 0, now: nowIso() });
      return this.get(b.id)!;
    },
    get(id: string): Backup | undefined {
      const r = q.get.get(id) as Row | undefined;
      return r && toBackup(r);
    },
    byEnvironment(environmentId: string): Backup[] {
      return (q.byEnvironment.all(environmentId) as Row[]).map(toBackup);
    },
    byCustomer(customerId: string): Backup[] {
      return (q.byCustomer.all(customerId) as Row[]).map(toBackup);
    },
    /** Newest first; the cursor is the last item's `createdAt|id`. */
    page(environmentId: string, after: { at: string; id: string } | null, limit: number): Backup[] {
      const at = after?.at ?? '9999';
      return (q.page.all(environmentId, { at, id: after?.id ?? '', limit }) as Row[]).map(toBackup);
    },
    running(): Backup[] {
      return (q.running.all() as Row[]).map(toBackup);
    },
    succeed(id: string, r: { snapshotId: string; sizeBytes: number; addedBytes: number; frozenMs: number | null }): void {
      q.succeed.run({ id, ...r, now: nowIso() });
    },
    fail(id: string, error: string, frozenMs: number | null = null): void {
      q.fail.run({ id, error, frozenMs, now: nowIso() });
    },
    setSnapshot(id: string, snapshotId: string): void {
      q.setSnapshot.run(snapshotId, id);
    },
    /** The environment is gone: its backups stay until `at`. */
    expireEnvironment(environmentId: string, at: string): void {
      q.expire.run(at, environmentId);
    },
    expired(now: string): Backup[] {
      return (q.expired.all(now) as Row[]).map(toBackup);
    },
    remove(id: string): void {
      q.remove.run(id);
    },
    lastScheduledAt(environmentId: string): string | null {
      return (q.lastScheduled.get(environmentId) as string | null) ?? null;
    },
    customerIds(): string[] {
      return q.customers.all() as string[];
    },
    /** When each live environment's newest good backup was taken: what the dashboard's missed alerts read, in one query. */
    lastGoodAt(): Map<string, string> {
      return new Map((q.lastGood.all() as { environment_id: string; at: string }[]).map((r) => [r.environment_id, r.at]));
    },
    /** Each live environment's newest finished backup: what the dashboard's failure alerts read. */
    latestFinished(): Backup[] {
      return (q.latestPerEnvironment.all() as Row[]).map(toBackup);
    },
  };
}
export type BackupsRepo = ReturnType<typeof backupsRepo>;
