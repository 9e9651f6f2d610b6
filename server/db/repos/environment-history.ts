import type { Db } from '../connection.js';
import { nowIso } from '../../lib/ids.js';

export type HistoryKind = 'started' | 'stopped' | 'died' | 'oom' | 'removed' | 'drift' | 'restored' | 'unknown';

export interface HistoryEntry {
  id: number;
  at: string;
  kind: HistoryKind;
  exitCode: number | null;
  message: string;
}

/** An environment's lifecycle history, from the node's Docker events and the panel's checks. */
export function historyRepo(db: Db) {
  const q = {
    insert: db.prepare('INSERT INTO environment_events (environment_id, at, kind, exit_code, message) VALUES (?, ?, ?, ?, ?)'),
    page: db.prepare(`SELECT id, at, kind, exit_code, message FROM environment_events WHERE environment_id = ? AND id < ?
      ORDER BY id DESC LIMIT ?`),
  };
  return {
    add(environmentId: string, kind: HistoryKind, o: { exitCode?: number | null; message?: string; at?: string } = {}): void {
      q.insert.run(environmentId, o.at ?? nowIso(), kind, o.exitCode ?? null, o.message ?? '');
    },
    /** Newest first; `before` is the id of the last event of the previous page. */
    page(environmentId: string, before: number, limit: number): HistoryEntry[] {
      return (q.page.all(environmentId, before, limit) as { id: number; at: string; kind: HistoryKind; exit_code: number | null; message: string }[])
        .map((r) => ({ id: r.id, at: r.at, kind: r.kind, exitCode: r.exit_code, message: r.message }));
    },
  };
}
export type HistoryRepo = ReturnType<typeof historyRepo>;
