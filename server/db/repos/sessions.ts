import type { Db } from '../connection.js';

export type SessionKind = 'admin' | 'customer';

export interface SessionRecord {
  idHash: string;
  kind: SessionKind;
  subjectId: string;
  csrfToken: string;
  ip: string;
  userAgent: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

interface SessionRow {
  id_hash: string; kind: SessionKind; subject_id: string; csrf_token: string; ip: string; user_agent: string;
  created_at: string; last_seen_at: string; expires_at: string;
}

const toSession = (r: SessionRow): SessionRecord => ({
  idHash: r.id_hash, kind: r.kind, subjectId: r.subject_id, csrfToken: r.csrf_token, ip: r.ip, userAgent: r.user_agent,
  createdAt: r.created_at, lastSeenAt: r.last_seen_at, expiresAt: r.expires_at,
});

/** Browser sessions, keyed by the hash of the cookie value. */
export function sessionsRepo(db: Db) {
  const q = {
    insert: db.prepare(`INSERT INTO sessions (id_hash, kind, subject_id, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at)
      VALUES (@idHash, @kind, @subjectId, @csrfToken, @ip, @userAgent, @createdAt, @lastSeenAt, @expiresAt)`),
    get: db.prepare('SELECT * FROM sessions WHERE id_hash = ?'),
    touch: db.prepare('UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?'),
    delete: db.prepare('DELETE FROM sessions WHERE id_hash = ?'),
    deleteSubject: db.prepare('DELETE FROM sessions WHERE kind = ? AND subject_id = ? AND id_hash != ?'),
    purge: db.prepare('DELETE FROM sessions WHERE expires_at < ?'),
    trim: db.prepare(`DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions WHERE kind = @kind AND subject_id = @subjectId
      ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET @keep)`),
  };
  return {
    /** Records a session; the account's oldest sessions beyond `keep` end in the same transaction. */
    insert(s: SessionRecord, keep = Number.MAX_SAFE_INTEGER): number {
      return db.transaction(() => {
        q.insert.run(s);
        return q.trim.run({ kind: s.kind, subjectId: s.subjectId, keep }).changes;
      })();
    },
    get(idHash: string): SessionRecord | undefined {
      const r = q.get.get(idHash) as SessionRow | undefined;
      return r && toSession(r);
    },
    touch(idHash: string, lastSeenAt: string, expiresAt: string): void {
      q.touch.run(lastSeenAt, expiresAt, idHash);
    },
    delete(idHash: string): boolean {
      return q.delete.run(idHash).changes > 0;
    },
    /** Ends every other session of one account, as a password change should. */
    deleteOthers(kind: SessionKind, subjectId: string, keepIdHash: string): number {
      return q.deleteSubject.run(kind, subjectId, keepIdHash).changes;
    },
    purgeExpired(now: string): number {
      return q.purge.run(now).changes;
    },
  };
}
