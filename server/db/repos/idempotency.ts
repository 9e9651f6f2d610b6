import type { Db } from '../connection.js';
import { nowIso } from '../../lib/ids.js';

export interface StoredResponse {
  requestHash: string;
  statusCode: number | null;
  body: string | null;
  headers: Record<string, string>;
}

/** Remembered POST responses per token owner, kept for 48 hours (the contract asks for 24). */
export function idempotencyRepo(db: Db) {
  const q = {
    claim: db.prepare('INSERT OR IGNORE INTO idempotency_keys (owner, key, request_hash, created_at) VALUES (?, ?, ?, ?)'),
    get: db.prepare('SELECT request_hash, status_code, response_body, headers FROM idempotency_keys WHERE owner = ? AND key = ?'),
    complete: db.prepare('UPDATE idempotency_keys SET status_code = ?, response_body = ?, headers = ? WHERE owner = ? AND key = ?'),
    abandoned: db.prepare('DELETE FROM idempotency_keys WHERE owner = ? AND key = ? AND status_code IS NULL AND created_at < ?'),
    release: db.prepare('DELETE FROM idempotency_keys WHERE owner = ? AND key = ? AND status_code IS NULL'),
    purge: db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?'),
  };
  return {
    /** True when this call now owns the key; otherwise the earlier record is returned by `get`. */
    claim(owner: string, key: string, requestHash: string): boolean {
      // A claim whose request never finished (the panel stopped mid-request) is given up after two minutes.
      q.abandoned.run(owner, key, new Date(Date.now() - 120_000).toISOString());
      return q.claim.run(owner, key, requestHash, nowIso()).changes === 1;
    },
    get(owner: string, key: string): StoredResponse | undefined {
      const r = q.get.get(owner, key) as { request_hash: string; status_code: number | null; response_body: string | null; headers: string | null } | undefined;
      return r && { requestHash: r.request_hash, statusCode: r.status_code, body: r.response_body,
        headers: r.headers ? JSON.parse(r.headers) as Record<string, string> : {} };
    },
    complete(owner: string, key: string, statusCode: number, body: string, headers: Record<string, string>): void {
      q.complete.run(statusCode, body, JSON.stringify(headers), owner, key);
    },
    release(owner: string, key: string): void {
      q.release.run(owner, key);
    },
    purgeOlderThan(hours: number): void {
      q.purge.run(new Date(Date.now() - hours * 3600_000).toISOString());
    },
  };
}
export type IdempotencyRepo = ReturnType<typeof idempotencyRepo>;
