/**
 * Environment backups: what a backup is, what a plan says about them, and which backups
 * retention lets go. Pure: the service and the loops decide when; this decides what.
 */

export type BackupStatus = 'running' | 'succeeded' | 'failed';
export type BackupKind = 'manual' | 'scheduled';

export interface Backup {
  id: string;
  environmentId: string;
  customerId: string;
  /** The environment's name, template and plan when it was taken: enough to make a new one from it after the environment is gone. */
  environmentName: string;
  templateId: string;
  planId: string;
  nodeId: string;
  status: BackupStatus;
  kind: BackupKind;
  keep: boolean;
  note: string;
  /** restic's snapshot id, once the snapshot is in the repository. */
  snapshotId: string | null;
  sizeBytes: number;
  addedBytes: number;
  /** How long the environment was frozen while its state was captured. */
  frozenMs: number | null;
  error: string | null;
  /** Set when the environment was deleted: the backup goes after this (the grace period). */
  expiresAt: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface BackupPolicy {
  schedule: 'daily' | 'none';
  keepLast: number;
  keepDaily: number;
  keepWeekly: number;
  /** The most a customer's backups may take in the repository, in MiB; null is no cap. */
  storageMb: number | null;
}

export const DEFAULT_BACKUP_POLICY: BackupPolicy = { schedule: 'none', keepLast: 7, keepDaily: 7, keepWeekly: 4, storageMb: null };

/** How often a `daily` schedule takes a backup, and when a missing one is called missed. */
export const DAY_MS = 24 * 60 * 60 * 1000;
export const MISSED_AFTER_MS = DAY_MS + 2 * 60 * 60 * 1000;

/**
 * The backups retention removes, among one environment's. Only succeeded backups count and
 * only they may go; `keep` ones are outside retention (never removed, and they hold no slot).
 * Of the rest it keeps the newest `keepLast`, the newest of each of the last `keepDaily` days
 * and of the last `keepWeekly` ISO weeks (UTC) that have one, and always the newest of all,
 * whatever the counts say. Days and weeks are those of the backups, not of the calendar, as
 * restic's own --keep-daily counts them.
 */
export function retentionRemoves(backups: readonly Backup[], policy: BackupPolicy): Backup[] {
  const candidates = backups.filter((b) => b.status === 'succeeded' && !b.keep)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  const kept = new Set<string>();
  if (candidates[0]) kept.add(candidates[0].id);
  candidates.slice(0, policy.keepLast).forEach((b) => kept.add(b.id));
  keepNewestPer(candidates, (b) => b.createdAt.slice(0, 10), policy.keepDaily, kept);
  keepNewestPer(candidates, (b) => isoWeek(b.createdAt), policy.keepWeekly, kept);
  return candidates.filter((b) => !kept.has(b.id));
}

function keepNewestPer(newestFirst: readonly Backup[], bucket: (b: Backup) => string, count: number, kept: Set<string>): void {
  const seen = new Set<string>();
  for (const b of newestFirst) {
    if (seen.size >= count) return;
    const key = bucket(b);
    if (seen.has(key)) continue;
    seen.add(key);
    kept.add(b.id);
  }
}

/** "2026-W48" for an ISO-8601 timestamp, by UTC. */
export function isoWeek(iso: string): string {
  const d = new Date(iso);
  const day = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / DAY_MS + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** Whether a daily schedule owes the environment a backup now, given its last scheduled one. */
export function scheduledBackupDue(policy: BackupPolicy, lastScheduledAt: string | null, now: number): boolean {
  if (policy.schedule !== 'daily') return false;
  return lastScheduledAt === null || now - Date.parse(lastScheduledAt) >= DAY_MS;
}

/** A path inside a backup as the file browser and the restore of one path take it: absolute, plain, without `.` or `..` parts. */
export function backupPathRefusal(path: string): string | null {
  if (!path.startsWith('/')) return 'the path must start with /';
  if (path.length > 4096) return 'the path is too long';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'the path holds a control character';
  const parts = path.split('/').slice(1);
  if (path !== '/' && parts.some((p) => p === '' || p === '.' || p === '..')) return 'the path must not hold empty, . or .. parts';
  return null;
}

const MIB = 1048576;
export const toMb = (bytes: number): number => Math.round((bytes / MIB) * 100) / 100;
