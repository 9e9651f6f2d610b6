import type { Db } from '../connection.js';
import { unique } from '../errors.js';
import type { Domain, DomainCertificate, DomainStatus } from '../../domain/types.js';
import { nowIso } from '../../lib/ids.js';

interface DomainRow {
  id: string; environment_id: string; customer_id: string; name: string; ascii_name: string; status: DomainStatus;
  verification_value: string; reason: string | null; check_attempts: number; next_check_at: string | null; checked_at: string | null;
  cert_source: 'acme' | 'uploaded' | null; cert_status: DomainCertificate['status']; cert_pem: string | null; cert_key_sealed: string | null;
  cert_not_after: string | null; cert_error: string | null; cert_attempts: number; cert_next_at: string | null;
  created_at: string; updated_at: string;
}

const toDomain = (r: DomainRow): Domain => ({
  id: r.id, environmentId: r.environment_id, customerId: r.customer_id, name: r.name, asciiName: r.ascii_name, status: r.status,
  verificationValue: r.verification_value, reason: r.reason, checkAttempts: r.check_attempts, nextCheckAt: r.next_check_at,
  checkedAt: r.checked_at,
  certificate: { source: r.cert_source, status: r.cert_status, pem: r.cert_pem, keySealed: r.cert_key_sealed, notAfter: r.cert_not_after,
    error: r.cert_error, attempts: r.cert_attempts, nextAt: r.cert_next_at },
  createdAt: r.created_at, updatedAt: r.updated_at,
});

export function domainsRepo(db: Db) {
  const q = {
    insert: db.prepare(`INSERT INTO domains (id, environment_id, customer_id, name, ascii_name, status, verification_value,
      next_check_at, created_at, updated_at) VALUES (@id, @environmentId, @customerId, @name, @asciiName, 'pending', @verificationValue,
      @now, @now, @now)`),
    get: db.prepare('SELECT * FROM domains WHERE id = ?'),
    byEnvironment: db.prepare('SELECT * FROM domains WHERE environment_id = ? ORDER BY id'),
    byName: db.prepare('SELECT * FROM domains WHERE ascii_name = ? ORDER BY id'),
    active: db.prepare("SELECT * FROM domains WHERE status = 'active' ORDER BY ascii_name"),
    countCustomer: db.prepare('SELECT COUNT(*) FROM domains WHERE customer_id = ?').pluck(),
    countEnvironment: db.prepare('SELECT COUNT(*) FROM domains WHERE environment_id = ?').pluck(),
    due: db.prepare("SELECT * FROM domains WHERE status = 'pending' AND next_check_at <= ? ORDER BY next_check_at LIMIT ?"),
    checked: db.prepare(`UPDATE domains SET status = @status, reason = @reason, check_attempts = @attempts, next_check_at = @next,
      checked_at = @now, updated_at = @now WHERE id = @id`),
    failOthers: db.prepare(`UPDATE domains SET status = 'failed', reason = ?, next_check_at = NULL, updated_at = ?
      WHERE ascii_name = ? AND customer_id != ? AND status = 'pending'`),
    remove: db.prepare('DELETE FROM domains WHERE id = ?'),
    setCertificate: db.prepare(`UPDATE domains SET cert_source = @source, cert_status = @status, cert_pem = @pem, cert_key_sealed = @keySealed,
      cert_not_after = @notAfter, cert_error = @error, cert_attempts = @attempts, cert_next_at = @nextAt, updated_at = @now WHERE id = @id`),
    certificatesDue: db.prepare(`SELECT * FROM domains WHERE status = 'active' AND (cert_source IS NULL OR cert_source = 'acme')
      AND cert_next_at IS NOT NULL AND cert_next_at <= ? ORDER BY cert_next_at LIMIT ?`),
    addChallenge: db.prepare('INSERT OR REPLACE INTO acme_challenges (token, ascii_name, key_authorization, created_at) VALUES (?, ?, ?, ?)'),
    removeChallenge: db.prepare('DELETE FROM acme_challenges WHERE token = ?'),
    clearChallenges: db.prepare('DELETE FROM acme_challenges'),
    certificateTrouble: db.prepare(`SELECT * FROM domains WHERE status = 'active' AND (cert_status = 'failed'
      OR (cert_status = 'issued' AND cert_not_after < ?)) ORDER BY cert_not_after LIMIT ?`),
    challenges: db.prepare('SELECT token, ascii_name AS asciiName, key_authorization AS keyAuthorization FROM acme_challenges ORDER BY token'),
  };
  return {
    insert(d: Pick<Domain, 'id' | 'environmentId' | 'customerId' | 'name' | 'asciiName' | 'verificationValue'>): Domain {
      unique(() => q.insert.run({ ...d, now: nowIso() }),
        { 'domains.environment_id': () => `${d.name} is already on this environment` });
      return this.get(d.id)!;
    },
    get(id: string): Domain | undefined {
      const r = q.get.get(id) as DomainRow | undefined;
      return r && toDomain(r);
    },
    byEnvironment(environmentId: string): Domain[] {
      return (q.byEnvironment.all(environmentId) as DomainRow[]).map(toDomain);
    },
    byName(asciiName: string): Domain[] {
      return (q.byName.all(asciiName) as DomainRow[]).map(toDomain);
    },
    active(): Domain[] {
      return (q.active.all() as DomainRow[]).map(toDomain);
    },
    countForCustomer(customerId: string): number {
      return q.countCustomer.get(customerId) as number;
    },
    countForEnvironment(environmentId: string): number {
      return q.countEnvironment.get(environmentId) as number;
    },
    /** Pending domains whose next check is due, soonest first. */
    due(now: string, limit: number): Domain[] {
      return (q.due.all(now, limit) as DomainRow[]).map(toDomain);
    },
    /** Records a check's outcome: still pending (with when to look again), or failed. */
    checked(id: string, o: { status: 'pending' | 'failed'; reason: string | null; attempts: number; nextCheckAt: string | null }): void {
      q.checked.run({ id, status: o.status, reason: o.reason, attempts: o.attempts, next: o.nextCheckAt, now: nowIso() });
    },
    /**
     * The owner proved control: the domain becomes active, and every other customer's pending
     * claim on the name fails, in one transaction. False when someone else holds it already.
     */
    activate(id: string, attempts: number): boolean {
      return db.transaction(() => {
        const d = this.get(id);
        if (!d || d.status !== 'pending') return false;
        if (this.byName(d.asciiName).some((o) => o.status === 'active' && o.id !== id)) return false;
        const now = nowIso();
        q.checked.run({ id, status: 'active', reason: null, attempts, next: null, now });
        q.failOthers.run('another customer proved control of this name first', now, d.asciiName, d.customerId);
        return true;
      }).immediate();
    },
    remove(id: string): void {
      q.remove.run(id);
    },
    /** Records the certificate's state; fields not given keep their value. */
    setCertificate(id: string, patch: Partial<DomainCertificate>): void {
      const d = this.get(id);
      if (!d) return;
      q.setCertificate.run({ id, ...d.certificate, ...patch, now: nowIso() });
    },
    /** Active names whose ACME certificate is due: never tried, retried after a failure, or near its end. */
    certificatesDue(now: string, limit: number): Domain[] {
      return (q.certificatesDue.all(now, limit) as DomainRow[]).map(toDomain);
    },
    addChallenge(token: string, asciiName: string, keyAuthorization: string): void {
      q.addChallenge.run(token, asciiName, keyAuthorization, nowIso());
    },
    removeChallenge(token: string): void {
      q.removeChallenge.run(token);
    },
    /** Active names whose certificate failed, or ends before `before`: what an operator should look at. */
    certificateTrouble(before: string, limit: number): Domain[] {
      return (q.certificateTrouble.all(before, limit) as DomainRow[]).map(toDomain);
    },
    /** Forgets every challenge: after a restart no order that asked for them is still waiting. */
    clearChallenges(): void {
      q.clearChallenges.run();
    },
    challenges(): { token: string; asciiName: string; keyAuthorization: string }[] {
      return q.challenges.all() as { token: string; asciiName: string; keyAuthorization: string }[];
    },
  };
}
