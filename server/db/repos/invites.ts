import type { Db } from '../connection.js';

/** One-time links with which a customer sets their own password; only the token's hash is kept. */
export function invitesRepo(db: Db) {
  const q = {
    insert: db.prepare('INSERT INTO invites (token_hash, customer_id, created_at, expires_at) VALUES (?, ?, ?, ?)'),
    dropOpen: db.prepare('DELETE FROM invites WHERE customer_id = ? AND used_at IS NULL'),
    open: db.prepare('SELECT customer_id AS customerId FROM invites WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?'),
    use: db.prepare('UPDATE invites SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?'),
  };
  return {
    /** A new invite replaces the customer's earlier unused ones. */
    create(tokenHash: string, customerId: string, now: string, expiresAt: string): void {
      db.transaction(() => {
        q.dropOpen.run(customerId);
        q.insert.run(tokenHash, customerId, now, expiresAt);
      })();
    },
    openFor(tokenHash: string, now: string): string | undefined {
      return (q.open.get(tokenHash, now) as { customerId: string } | undefined)?.customerId;
    },
    /** Marks it used; false when it was used or expired meanwhile. */
    use(tokenHash: string, now: string): boolean {
      return q.use.run(now, tokenHash, now).changes === 1;
    },
  };
}
