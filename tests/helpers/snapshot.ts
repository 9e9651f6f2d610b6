import type { Db } from '../../server/db/connection.js';

/** Every row of every table, to show that a refused request changed nothing. */
export function databaseSnapshot(db: Db): Record<string, unknown[]> {
  const tables = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all() as Array<{ name: string; sql: string }>;
  // Tables WITHOUT ROWID (usage samples) are ordered by their leading key columns instead.
  return Object.fromEntries(tables.map(({ name, sql }) =>
    [name, db.prepare(`SELECT * FROM "${name}" ORDER BY ${/WITHOUT ROWID/i.test(sql) ? '1, 2' : 'rowid'}`).all()]));
}
