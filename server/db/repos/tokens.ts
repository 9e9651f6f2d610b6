import type { Db } from '../connection.js';
import { nowIso } from '../../lib/ids.js';

export interface TokenRecord {
  id: string;
  customerId: string | null;
  scope: 'admin' | 'customer';
  name: string;
  source: 'api' | 'env';
  createdAt: string;
  lastUsedAt: string | null;
}

interface TokenRow {
  id: string; customer_id: string | null; scope: 'admin' | 'customer'; name: string; source: 'api' | 'env';
  created_at: string; last_used_at: string | null;
}
const toToken = (r: TokenRow): TokenRecord => ({
  id: r.id, customerId: r.customer_id, scope: r.scope, name: r.name, source: r.source, createdAt: r.created_at, lastUsedAt: r.last_used_at,
});

export function tokensRepo(db: Db) {
  const q = {
    insert: db.prepare(`INSERT INTO tokens (id, customer_id, scope, name, token_hash, source, created_at)
      VALUES (@id, @customerId, @scope, @name, @hash, @source, @now)`),
    byHash: db.prepare(`SELECT t.id, t.customer_id, t.scope, t.name, t.source, t.created_at, t.last_used_at FROM tokens t WHERE token_hash = ?`),
    get: db.prepare('SELECT id, customer_id, scope, name, source, created_at, last_used_at FROM tokens WHERE id = ?'),
    byCustomer: db.prepare('SELECT id, customer_id, scope, name, source, created_at, last_used_at FROM tokens WHERE customer_id = ? ORDER BY id'),
    used: db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ?'),
    remove: db.prepare('DELETE FROM tokens WHERE id = ?'),
    removeEnv: db.prepare("DELETE FROM tokens WHERE source = 'env' AND token_hash <> ?"),
    removeAllEnv: db.prepare("DELETE FROM tokens WHERE source = 'env'"),
  };
  return {
    insert(t: { id: string; customerId: string | null; scope: 'admin' | 'customer'; name: string; hash: string; source?: 'api' | 'env' }): TokenRecord {
      q.insert.run({ ...t, source: t.source ?? 'api', now: nowIso() });
      return this.get(t.id)!;
    },
    byHash(hash: string): TokenRecord | undefined {
      const r = q.byHash.get(hash) as TokenRow | undefined;
      return r && toToken(r);
    },
    get(id: string): TokenRecord | undefined {
      const r = q.get.get(id) as TokenRow | undefined;
      return r && toToken(r);
    },
    byCustomer(customerId: string): TokenRecord[] {
      return (q.byCustomer.all(customerId) as TokenRow[]).map(toToken);
    },
    touch(id: string): void {
      q.used.run(nowIso(), id);
    },
    remove(id: string): void {
      q.remove.run(id);
    },
    /** The admin token from KURA_ADMIN_TOKEN: exactly one, replaced when the setting changes. */
    syncEnvAdmin(hash: string | null, id: string): void {
      db.transaction(() => {
        if (hash === null) {
          q.removeAllEnv.run();
          return;
        }
        q.removeEnv.run(hash);
        if (!q.byHash.get(hash)) this.insert({ id, customerId: null, scope: 'admin', name: 'KURA_ADMIN_TOKEN', hash, source: 'env' });
      })();
    },
  };
}
export type TokensRepo = ReturnType<typeof tokensRepo>;
