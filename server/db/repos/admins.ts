import type { Db } from '../connection.js';
import type { Lang } from '../../domain/types.js';

export interface AdminRecord {
  id: string;
  email: string;
  passwordHash: string;
  language: Lang | null;
}

/** Operators' web logins. */
export function adminsRepo(db: Db) {
  const q = {
    insert: db.prepare('INSERT INTO admins (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)'),
    get: db.prepare('SELECT id, email, password_hash AS passwordHash, language FROM admins WHERE id = ?'),
    byEmail: db.prepare('SELECT id, email, password_hash AS passwordHash, language FROM admins WHERE email = ?'),
    password: db.prepare('UPDATE admins SET password_hash = ? WHERE id = ?'),
    language: db.prepare('UPDATE admins SET language = ? WHERE id = ?'),
  };
  return {
    insert(id: string, email: string, passwordHash: string, now: string): void {
      q.insert.run(id, email, passwordHash, now);
    },
    get(id: string): AdminRecord | undefined {
      return q.get.get(id) as AdminRecord | undefined;
    },
    byEmail(email: string): AdminRecord | undefined {
      return q.byEmail.get(email) as AdminRecord | undefined;
    },
    setPassword(id: string, hash: string): void {
      q.password.run(hash, id);
    },
    setLanguage(id: string, lang: Lang): void {
      q.language.run(lang, id);
    },
  };
}
