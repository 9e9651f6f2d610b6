import type { Db } from '../../server/db/connection.js';

/**
 * Columns that record that a request came, not what it changed: a refused request made with a
 * valid token still used the token (its last use is written at most once a minute).
 */
const BOOKKEEPING: Record<string, string[]> = { tokens: ['last_used_at'] };

/** Every row of every table, to show that a refused request changed nothing. */
export function databaseSnapshot(db: Db): Record<string, unknown[]> {
  const tables = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all() as Array<{ name: string; sql: string }>;
  // Tables WITHOUT ROWID (usage samples) are ordered by their leading key columns instead.
  return Object.fromEntries(tables.map(({ name, sql }) => {
    const rows = db.prepare(`SELECT * FROM "${name}" ORDER BY ${/WITHOUT ROWID/i.test(sql) ? '1, 2' : 'rowid'}`).all() as Record<string, unknown>[];
    const skip = BOOKKEEPING[name] ?? [];
    return [name, rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !skip.includes(k))))];
  }));
}
