import type { Db } from '../connection.js';
import type { EnvironmentState } from '../../domain/types.js';

export interface NodeStateCount {
  nodeId: string;
  state: EnvironmentState;
  count: number;
}

export interface EnvironmentAlert {
  environmentId: string;
  name: string;
  nodeId: string;
  at: string;
  detail: string;
}

export interface FailedOperation {
  id: string;
  kind: string;
  resourceId: string;
  at: string;
  message: string;
}

/** The aggregate reads behind the admin dashboard: a handful of grouped queries, whatever the fleet's size. */
export function fleetOverviewRepo(db: Db) {
  const q = {
    counts: db.prepare('SELECT node_id AS nodeId, state, COUNT(*) AS count FROM environments GROUP BY node_id, state'),
    drift: db.prepare(`SELECT id AS environmentId, name, node_id AS nodeId, json_extract(drift, '$.detectedAt') AS at, drift AS detail
      FROM environments WHERE drift IS NOT NULL ORDER BY at DESC LIMIT ?`),
    driftCount: db.prepare('SELECT COUNT(*) FROM environments WHERE drift IS NOT NULL').pluck(),
    ooms: db.prepare(`SELECT ev.environment_id AS environmentId, e.name, e.node_id AS nodeId, ev.at, ev.message AS detail
      FROM environment_events ev JOIN environments e ON e.id = ev.environment_id
      WHERE ev.kind = 'oom' AND ev.at > ? ORDER BY ev.id DESC LIMIT ?`),
    failed: db.prepare(`SELECT id, kind, resource_id AS resourceId, updated_at AS at, COALESCE(error_message, message) AS message
      FROM operations WHERE status = 'failed' AND updated_at > ? ORDER BY updated_at DESC LIMIT ?`),
  };
  return {
    stateCounts(): NodeStateCount[] {
      return q.counts.all() as NodeStateCount[];
    },
    drifted(limit: number): { total: number; items: EnvironmentAlert[] } {
      return { total: q.driftCount.get() as number, items: q.drift.all(limit) as EnvironmentAlert[] };
    },
    oomsSince(since: string, limit: number): EnvironmentAlert[] {
      return q.ooms.all(since, limit) as EnvironmentAlert[];
    },
    failedSince(since: string, limit: number): FailedOperation[] {
      return q.failed.all(since, limit) as FailedOperation[];
    },
  };
}
