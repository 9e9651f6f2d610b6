import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../lib/errors.js';
import type { Db } from '../db/connection.js';
import { copyDatabase, integrityOf } from '../db/copy.js';
import type { Context } from '../core/context.js';

/**
 * The panel's own data, copied while it runs: the database through SQLite's online backup
 * API (a consistent copy; writers are not stopped), checked with integrity_check, together
 * with the secrets that open what the database keeps sealed (secret.key) and the SFTP host
 * key customers' clients know. Each copy is a folder with a manifest of sizes and SHA-256s;
 * it appears under its final name only when whole.
 */

const DB = 'kura.db';
/** Copied when present, beside the database. */
const SECRETS = ['secret.key', 'sftp-host-key', 'backup-key'];
const MANIFEST = 'manifest.json';

export interface PanelBackupManifest {
  kind: 'kura-panel-backup';
  version: 1;
  createdAt: string;
  panelId: string | null;
  files: Record<string, { bytes: number; sha256: string }>;
}

export interface PanelBackup {
  dir: string;
  manifest: PanelBackupManifest;
}

export class PanelBackupError extends Error {}

/** What the dashboard shows of the panel's own backups: the last copy and, when the last try failed, why. */
export interface PanelBackupStatus {
  lastAt: string | null;
  error: string | null;
  failedAt: string | null;
}

export function panelBackupStatus(ctx: Context): PanelBackupStatus {
  return {
    lastAt: ctx.repos.settings.get('panel_backup_at') ?? null,
    error: ctx.repos.settings.get('panel_backup_error') ?? null,
    failedAt: ctx.repos.settings.get('panel_backup_failed_at') ?? null,
  };
}


/** What a copy is taken from: the open database (a running panel's, or the command's) and the data folder. */
export interface PanelData {
  db: Db;
  dataDir: string;
  panelId: string | null;
}

/** The running panel's data. */
export function panelData(ctx: Context): PanelData {
  return { db: ctx.repos.db, dataDir: ctx.config.dataDir, panelId: ctx.repos.settings.get('panel_id') ?? null };
}

/** Takes one copy into `into`, then keeps the newest `keep` there. */
export async function backupPanel(data: PanelData, into: string, keep: number): Promise<PanelBackup> {
  fs.mkdirSync(into, { recursive: true, mode: 0o700 });
  const createdAt = new Date().toISOString();
  const name = createdAt.replace(/[:.]/g, '-');
  const partial = path.join(into, `.${name}.partial`);
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { mode: 0o700 });
  try {
    await copyDatabase(data.db, path.join(partial, DB));
    checkIntegrity(path.join(partial, DB));
    for (const file of SECRETS) {
      const from = path.join(data.dataDir, file);
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(partial, file));
    }
    const manifest: PanelBackupManifest = {
      kind: 'kura-panel-backup', version: 1, createdAt, panelId: data.panelId,
      files: Object.fromEntries(fs.readdirSync(partial).sort().map((f) => [f, describe(path.join(partial, f))])),
    };
    fs.writeFileSync(path.join(partial, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    for (const f of fs.readdirSync(partial)) fs.chmodSync(path.join(partial, f), 0o600);
    const dir = path.join(into, name);
    fs.renameSync(partial, dir);
    prune(into, keep);
    return { dir, manifest };
  } catch (err) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw err;
  }
}

/** The finished copies in a folder, newest first. */
export function panelBackups(into: string): string[] {
  if (!fs.existsSync(into)) return [];
  return fs.readdirSync(into).filter((n) => !n.startsWith('.') && fs.existsSync(path.join(into, n, MANIFEST))).sort().reverse()
    .map((n) => path.join(into, n));
}

/**
 * Checks a copy whole (manifest, sizes, SHA-256s, integrity_check) and puts it in `dataDir`
 * for a panel to start from. A data folder that already holds a database is refused unless
 * `force`; nothing is written until every check has passed.
 */
export function restorePanel(from: string, dataDir: string, opts: { force?: boolean } = {}): PanelBackupManifest {
  const manifest = verifyPanelBackup(from);
  const target = path.join(dataDir, DB);
  if (fs.existsSync(target) && !opts.force) {
    throw new PanelBackupError(`${dataDir} already holds a panel database (${DB}); restore into an empty folder, or pass --force to replace it`);
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  for (const file of Object.keys(manifest.files)) {
    const dest = path.join(dataDir, file);
    fs.copyFileSync(path.join(from, file), `${dest}.restoring`);
    fs.chmodSync(`${dest}.restoring`, 0o600);
  }
  // The old database's write-ahead log would be replayed onto the copy: it goes first.
  for (const suffix of ['-wal', '-shm']) fs.rmSync(`${target}${suffix}`, { force: true });
  for (const file of Object.keys(manifest.files)) fs.renameSync(path.join(dataDir, `${file}.restoring`), path.join(dataDir, file));
  return manifest;
}

/** The copy's manifest, once every file matches it and the database passes integrity_check. */
export function verifyPanelBackup(from: string): PanelBackupManifest {
  const file = path.join(from, MANIFEST);
  if (!fs.existsSync(file)) throw new PanelBackupError(`${from} is not a panel backup: it has no ${MANIFEST}`);
  let manifest: PanelBackupManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as PanelBackupManifest;
  } catch (err) {
    throw new PanelBackupError(`${file} cannot be read: ${errorMessage(err)}`);
  }
  if (manifest.kind !== 'kura-panel-backup' || manifest.version !== 1 || typeof manifest.files !== 'object' || !manifest.files[DB]) {
    throw new PanelBackupError(`${file} is not a manifest of a panel backup this version reads`);
  }
  for (const [name, want] of Object.entries(manifest.files)) {
    if (name.includes('/') || name.startsWith('.')) throw new PanelBackupError(`${file} names a file outside the backup: ${name}`);
    const at = path.join(from, name);
    if (!fs.existsSync(at)) throw new PanelBackupError(`${name} is missing from ${from}`);
    const got = describe(at);
    if (got.bytes !== want.bytes || got.sha256 !== want.sha256) {
      throw new PanelBackupError(`${name} in ${from} is not the file the backup made (size or SHA-256 differs): the copy is damaged`);
    }
  }
  checkIntegrity(path.join(from, DB));
  return manifest;
}

function checkIntegrity(file: string): void {
  const result = integrityOf(file);
  if (result !== 'ok') throw new PanelBackupError(`${file} fails SQLite's integrity_check: ${result}`);
}

function describe(file: string): { bytes: number; sha256: string } {
  const bytes = fs.readFileSync(file);
  return { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Keeps the newest `keep` copies; a partial one older than an hour is a crash's leftover. */
function prune(into: string, keep: number): void {
  for (const old of panelBackups(into).slice(keep)) fs.rmSync(old, { recursive: true, force: true });
  for (const n of fs.readdirSync(into)) {
    const at = path.join(into, n);
    if (n.endsWith('.partial') && Date.now() - fs.statSync(at).mtimeMs > 3600_000) fs.rmSync(at, { recursive: true, force: true });
  }
}
