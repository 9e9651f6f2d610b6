import type { Db } from '../connection.js';
import { unique } from '../errors.js';
import type { Customer, CustomerLimits } from '../../domain/types.js';
import { nowIso } from '../../lib/ids.js';

interface CustomerRow {
  id: string; name: string; email: string; password_hash: string | null; status: 'active' | 'suspended';
  limit_environments: number | null; limit_cpus: number | null; limit_memory_mb: number | null; limit_disk_mb: number | null;
  language: 'ja' | 'en' | null; self_service: number; created_at: string; updated_at: string;
}

const toCustomer = (r: CustomerRow): Customer => ({
  id: r.id, name: r.name, email: r.email, status: r.status,
  limits: { environments: r.limit_environments, cpus: r.limit_cpus, memoryMb: r.limit_memory_mb, diskMb: r.limit_disk_mb },
  selfService: r.self_service === 1,
  createdAt: r.created_at, updatedAt: r.updated_at,
});

export interface CustomerUsage {
  environments: number;
  cpus: number;
  memoryMb: number;
  diskMb: number;
}

export function customersRepo(db: Db) {
  const q = {
    insert: db.prepare(`INSERT INTO customers (id, name, email, password_hash, limit_environments, limit_cpus,
      limit_memory_mb, limit_disk_mb, self_service, created_at, updated_at)
      VALUES (@id, @name, @email, @passwordHash, @environments, @cpus, @memoryMb, @diskMb, @selfService, @now, @now)`),
    update: db.prepare(`UPDATE customers SET name = @name, email = @email, limit_environments = @environments,
      limit_cpus = @cpus, limit_memory_mb = @memoryMb, limit_disk_mb = @diskMb, updated_at = @now WHERE id = @id`),
    password: db.prepare('UPDATE customers SET password_hash = ?, updated_at = ? WHERE id = ?'),
    status: db.prepare('UPDATE customers SET status = ?, updated_at = ? WHERE id = ?'),
    language: db.prepare('UPDATE customers SET language = ? WHERE id = ?'),
    selfService: db.prepare('UPDATE customers SET self_service = ?, updated_at = ? WHERE id = ?'),
    get: db.prepare('SELECT * FROM customers WHERE id = ?'),
    byEmail: db.prepare('SELECT * FROM customers WHERE email = ?'),
    page: db.prepare('SELECT * FROM customers WHERE id > ? ORDER BY id LIMIT ?'),
    search: db.prepare(`SELECT * FROM customers WHERE id > @after AND (name LIKE @q ESCAPE '\\' OR email LIKE @q ESCAPE '\\')
      ORDER BY id LIMIT @limit`),
    // A plan change in flight counts the larger of its old and new plan (see HELD_SUMS in nodes.ts).
    usage: db.prepare(`SELECT COUNT(*) AS environments, COALESCE(SUM(MAX(cpus, COALESCE(held_cpus, cpus))), 0) AS cpus,
      COALESCE(SUM(MAX(memory_mb, COALESCE(held_memory_mb, memory_mb))), 0) AS memoryMb,
      COALESCE(SUM(MAX(disk_mb, COALESCE(held_disk_mb, disk_mb))), 0) AS diskMb FROM environments WHERE customer_id = ?`),
  };
  return {
    insert(c: { id: string; name: string; email: string; passwordHash: string | null; limits: CustomerLimits; selfService?: boolean }): Customer {
      unique(() => q.insert.run({ id: c.id, name: c.name, email: c.email, passwordHash: c.passwordHash, ...c.limits,
        selfService: c.selfService === false ? 0 : 1, now: nowIso() }),
        { 'customers.email': () => `a customer with email ${c.email} exists` });
      return this.get(c.id)!;
    },
    update(c: { id: string; name: string; email: string; limits: CustomerLimits }): void {
      unique(() => q.update.run({ id: c.id, name: c.name, email: c.email, ...c.limits, now: nowIso() }),
        { 'customers.email': () => `a customer with email ${c.email} exists` });
    },
    setPassword(id: string, hash: string): void {
      q.password.run(hash, nowIso(), id);
    },
    setSelfService(id: string, allowed: boolean): void {
      q.selfService.run(allowed ? 1 : 0, nowIso(), id);
    },
    setLanguage(id: string, lang: 'ja' | 'en'): void {
      q.language.run(lang, id);
    },
    /** The web panel's view of the account: its password hash and language. */
    login(id: string): { passwordHash: string | null; language: 'ja' | 'en' | null } | undefined {
      const r = q.get.get(id) as CustomerRow | undefined;
      return r && { passwordHash: r.password_hash, language: r.language };
    },
    setStatus(id: string, status: Customer['status']): void {
      q.status.run(status, nowIso(), id);
    },
    get(id: string): Customer | undefined {
      const r = q.get.get(id) as CustomerRow | undefined;
      return r && toCustomer(r);
    },
    byEmail(email: string): (Customer & { passwordHash: string | null }) | undefined {
      const r = q.byEmail.get(email) as CustomerRow | undefined;
      return r && { ...toCustomer(r), passwordHash: r.password_hash };
    },
    page(after: string, limit: number): Customer[] {
      return (q.page.all(after, limit) as CustomerRow[]).map(toCustomer);
    },
    /** Customers whose name or email contains `text` (case-insensitive for ASCII), in creation order. */
    search(text: string, after: string, limit: number): Customer[] {
      const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      return (q.search.all({ q: pattern, after, limit }) as CustomerRow[]).map(toCustomer);
    },
    usage(id: string): CustomerUsage {
      return q.usage.get(id) as CustomerUsage;
    },
  };
}
export type CustomersRepo = ReturnType<typeof customersRepo>;
