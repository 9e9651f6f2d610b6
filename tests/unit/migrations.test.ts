import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/connection.js';
import { migrate, readMigrations, MigrationError } from '../../server/db/migrate.js';
import { ROOT } from '../../server/config.js';

const shipped = () => readMigrations(path.join(ROOT, 'migrations'));

describe('migrations', () => {
  it('apply to a fresh database and record their checksums', () => {
    const db = openDatabase(':memory:');
    const { applied } = migrate(db, shipped());
    expect(applied[0]).toBe('0001_init.sql');
    const rows = db.prepare('SELECT name, checksum FROM schema_migrations').all() as { name: string; checksum: string }[];
    expect(rows.map((r) => r.name)).toEqual(applied);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.checksum))).toBe(true);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(['nodes', 'plans', 'customers', 'tokens', 'environments', 'operations', 'idempotency_keys']));
  });

  it('are not applied twice', () => {
    const db = openDatabase(':memory:');
    migrate(db, shipped());
    expect(migrate(db, shipped()).applied).toEqual([]);
  });

  it('stop the start when an applied migration was edited', () => {
    const db = openDatabase(':memory:');
    migrate(db, shipped());
    const edited = shipped().map((m) => (m.version === 1 ? { ...m, checksum: 'f'.repeat(64) } : m));
    expect(() => migrate(db, edited)).toThrow(/0001_init.sql was edited/);
  });

  it('stop the start when the database has a migration this version does not know', () => {
    const db = openDatabase(':memory:');
    migrate(db, shipped());
    db.prepare("INSERT INTO schema_migrations VALUES (999, '0999_future.sql', 'x', 'now')").run();
    expect(() => migrate(db, shipped())).toThrow(MigrationError);
  });

  it('roll back a failing migration entirely', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-mig-'));
    fs.writeFileSync(path.join(dir, '0001_ok.sql'), 'CREATE TABLE a (x INTEGER);');
    fs.writeFileSync(path.join(dir, '0002_bad.sql'), 'CREATE TABLE b (x INTEGER); INSERT INTO nope VALUES (1);');
    const db = openDatabase(':memory:');
    expect(() => migrate(db, readMigrations(dir))).toThrow();
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").get()).toBeUndefined();
    expect((db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(1);
  });

  it('refuse badly named files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-mig-'));
    fs.writeFileSync(path.join(dir, 'init.sql'), 'SELECT 1;');
    expect(() => readMigrations(dir)).toThrow(/NNNN_name.sql/);
  });

  it('use WAL, foreign keys and full sync on a file database', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-db-'));
    const db = openDatabase(path.join(dir, 'k.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
  });
});
