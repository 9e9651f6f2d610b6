import type { Db } from '../connection.js';
import { nowIso } from '../../lib/ids.js';

export type HistoryKind = 'started' | 'stopped' | 'died' | 'oom' | 'removed' | 'drift' | 'restored' | 'unknown';

export interface HistoryEntry {
  id: number;
  /** When it first happened. */
  at: string;
  kind: HistoryKind;
  exitCode: number | null;
  message: string;
  /** How many times it happened in a row (1: once). */
  count: number;
  /** When it last happened (equal to `at` when once). */
  lastAt: string;
}

/** Kinds a loop repeats (an OOM loop, a crash loop under the restart policy): repeats are counted, not stored. */
const COUNTED: ReadonlySet<HistoryKind> = new Set(['oom', 'died', 'started']);
/** A repeat this close to the last time the same event happened adds to it. */
export const REPEAT_WINDOW_MS = 10 * 60_000;
/** The newest rows kept per environment; older ones go as new ones come. */
export const HISTORY_CAP = 500;

interface Row { id: number; at: string; kind: HistoryKind; exit_code: number | null; message: string; count: number; last_at: string | null }

/** An environment's lifecycle history, from the node's Docker events and the panel's checks. */
export function historyRepo(db: Db) {
  const q = {
    insert: db.prepare('INSERT INTO environment_events (environment_id, at, kind, exit_code, message) VALUES (?, ?, ?, ?, ?)'),
    lastOfKind: db.prepare(`SELECT id, at, kind, exit_code, message, count, last_at FROM environment_events
      WHERE environment_id = ? AND kind = ? ORDER BY id DESC LIMIT 1`),
    repeat: db.prepare('UPDATE environment_events SET count = count + 1, last_at = ? WHERE id = ?'),
    trim: db.prepare(`DELETE FROM environment_events WHERE environment_id = @env AND id <= (SELECT id FROM environment_events
      WHERE environment_id = @env ORDER BY id DESC LIMIT 1 OFFSET @keep)`),
    page: db.prepare(`SELECT id, at, kind, exit_code, message, count, last_at FROM environment_events WHERE environment_id = ? AND id < ?
      ORDER BY id DESC LIMIT ?`),
  };
  const add = db.transaction((environmentId: string, kind: HistoryKind, at: string, exitCode: number | null, message: string) => {
    if (COUNTED.has(kind)) {
      const last = q.lastOfKind.get(environmentId, kind) as Row | undefined;
      const lastAt = last ? last.last_at ?? last.at : '';
      if (last && last.exit_code === exitCode && last.message === message && Math.abs(Date.parse(at) - Date.parse(lastAt)) < REPEAT_WINDOW_MS) {
        q.repeat.run(at > lastAt ? at : lastAt, last.id);
        return;
      }
    }
    q.insert.run(environmentId, at, kind, exitCode, message);
    q.trim.run({ env: environmentId, keep: HISTORY_CAP });
  });
  return {
    add(environmentId: string, kind: HistoryKind, o: { exitCode?: number | null; message?: string; at?: string } = {}): void {
      add(environmentId, kind, o.at ?? nowIso(), o.exitCode ?? null, o.message ?? '');
    },
    /** Newest first; `before` is the id of the last event of the previous page. */
    page(environmentId: string, before: number, limit: number): HistoryEntry[] {
      return (q.page.all(environmentId, before, limit) as Row[])
        .map((r) => ({ id: r.id, at: r.at, kind: r.kind, exitCode: r.exit_code, message: r.message, count: r.count, lastAt: r.last_at ?? r.at }));
    },
  };
}
export type HistoryRepo = ReturnType<typeof historyRepo>;
