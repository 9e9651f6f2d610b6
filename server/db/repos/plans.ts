import type { Db } from '../connection.js';
import { unique } from '../errors.js';
import type { Plan } from '../../domain/types.js';
import { nowIso } from '../../lib/ids.js';
import { DEFAULT_BACKUP_POLICY, type BackupPolicy } from '../../domain/backups.js';

interface PlanRow {
  id: string; name: string; cpus: number; memory_mb: number; swap_mb: number; disk_mb: number; pids: number; nofile: number; selectable: number; backups: string;
  created_at: string; updated_at: string;
}

const toPlan = (r: PlanRow): Plan => ({
  id: r.id, name: r.name, cpus: r.cpus, memoryMb: r.memory_mb, swapMb: r.swap_mb, diskMb: r.disk_mb, pids: r.pids, nofile: r.nofile, selectable: r.selectable === 1,
  backups: { ...DEFAULT_BACKUP_POLICY, ...(JSON.parse(r.backups) as Partial<BackupPolicy>) },
  createdAt: r.created_at, updatedAt: r.updated_at,
});

export function plansRepo(db: Db) {
  const q = {
    insert: db.prepare(`INSERT INTO plans (id, name, cpus, memory_mb, swap_mb, disk_mb, pids, nofile, selectable, backups, created_at, updated_at)
      VALUES (@id, @name, @cpus, @memoryMb, @swapMb, @diskMb, @pids, @nofile, @selectable, @backups, @now, @now)`),
    update: db.prepare(`UPDATE plans SET name = @name, cpus = @cpus, memory_mb = @memoryMb, swap_mb = @swapMb,
      disk_mb = @diskMb, pids = @pids, nofile = @nofile, selectable = @selectable, backups = @backups, updated_at = @now WHERE id = @id`),
    get: db.prepare('SELECT * FROM plans WHERE id = ?'),
    byName: db.prepare('SELECT * FROM plans WHERE name = ?'),
    page: db.prepare('SELECT * FROM plans WHERE id > ? ORDER BY id LIMIT ?'),
    inUse: db.prepare('SELECT COUNT(*) AS n FROM environments WHERE plan_id = ?'),
    remove: db.prepare('DELETE FROM plans WHERE id = ?'),
  };
  return {
    insert(p: Omit<Plan, 'createdAt' | 'updatedAt'>): Plan {
      unique(() => q.insert.run({ ...p, selectable: p.selectable ? 1 : 0, backups: JSON.stringify(p.backups), now: nowIso() }), { 'plans.name': () => `a plan named ${p.name} exists` });
      return this.get(p.id)!;
    },
    update(p: Omit<Plan, 'createdAt' | 'updatedAt'>): void {
      unique(() => q.update.run({ ...p, selectable: p.selectable ? 1 : 0, backups: JSON.stringify(p.backups), now: nowIso() }), { 'plans.name': () => `a plan named ${p.name} exists` });
    },
    get(id: string): Plan | undefined {
      const r = q.get.get(id) as PlanRow | undefined;
      return r && toPlan(r);
    },
    byName(name: string): Plan | undefined {
      const r = q.byName.get(name) as PlanRow | undefined;
      return r && toPlan(r);
    },
    page(after: string, limit: number): Plan[] {
      return (q.page.all(after, limit) as PlanRow[]).map(toPlan);
    },
    environmentsUsing(id: string): number {
      return (q.inUse.get(id) as { n: number }).n;
    },
    remove(id: string): void {
      q.remove.run(id);
    },
  };
}
export type PlansRepo = ReturnType<typeof plansRepo>;
