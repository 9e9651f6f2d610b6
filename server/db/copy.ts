import Database from 'better-sqlite3';
import type { Db } from './connection.js';

/**
 * Copies an open database to `file` with SQLite's online backup API: a consistent copy
 * taken page by page while writers go on. The copy is made a plain (rollback-journal)
 * database, so reading it later leaves no -wal or -shm beside it.
 */
export async function copyDatabase(db: Db, file: string): Promise<void> {
  await db.backup(file);
  const copy = new Database(file, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
}

/** SQLite's integrity_check of a database file: 'ok', or what it found. */
export function integrityOf(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return String(db.pragma('integrity_check', { simple: true }));
  } finally {
    db.close();
  }
}
