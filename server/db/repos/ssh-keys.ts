import type { Db } from '../connection.js';
import { unique } from '../errors.js';
import { nowIso } from '../../lib/ids.js';

export interface SshKey {
  id: string;
  customerId: string;
  name: string;
  publicKey: string;
  fingerprint: string;
  createdAt: string;
}

interface Row { id: string; customer_id: string; name: string; public_key: string; fingerprint: string; created_at: string }
const toKey = (r: Row): SshKey => ({ id: r.id, customerId: r.customer_id, name: r.name, publicKey: r.public_key, fingerprint: r.fingerprint, createdAt: r.created_at });

export function sshKeysRepo(db: Db) {
  const q = {
    insert: db.prepare('INSERT INTO ssh_keys (id, customer_id, name, public_key, fingerprint, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    get: db.prepare('SELECT * FROM ssh_keys WHERE id = ?'),
    byCustomer: db.prepare('SELECT * FROM ssh_keys WHERE customer_id = ? ORDER BY created_at, id'),
    count: db.prepare('SELECT COUNT(*) FROM ssh_keys WHERE customer_id = ?').pluck(),
    remove: db.prepare('DELETE FROM ssh_keys WHERE id = ?'),
  };
  return {
    insert(k: Omit<SshKey, 'createdAt'>): SshKey {
      unique(() => q.insert.run(k.id, k.customerId, k.name, k.publicKey, k.fingerprint, nowIso()),
        { 'ssh_keys.customer_id': () => `this key (${k.fingerprint}) is already registered` });
      return this.get(k.id)!;
    },
    get(id: string): SshKey | undefined {
      const r = q.get.get(id) as Row | undefined;
      return r && toKey(r);
    },
    byCustomer(customerId: string): SshKey[] {
      return (q.byCustomer.all(customerId) as Row[]).map(toKey);
    },
    count(customerId: string): number {
      return q.count.get(customerId) as number;
    },
    remove(id: string): void {
      q.remove.run(id);
    },
  };
}
