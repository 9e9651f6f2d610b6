import type { Db } from '../connection.js';
import { unique } from '../errors.js';
import type { Allocation, NodeRecord, NodeState, NodeStatus } from '../../domain/types.js';
import { nowIso } from '../../lib/ids.js';

interface NodeRow {
  id: string; name: string; endpoint: string; public_host: string;
  tls_ca: string | null; tls_cert: string | null; tls_key_enc: string | null;
  state: NodeState; status: NodeStatus; cpus: number; memory_mb: number; disk_mb: number | null;
  cpu_overcommit: number; memory_overcommit: number; max_environments: number; disk_quota: number; allow_unenforced_disk: number;
  docker_version: string; storage_driver: string; last_seen_at: string | null; created_at: string; updated_at: string;
}

export interface NodeTls {
  ca: string | null;
  cert: string | null;
  keySealed: string | null;
}

export interface NodePatch {
  state?: NodeState | undefined;
  maxEnvironments?: number | undefined;
  publicHost?: string | undefined;
  cpuOvercommit?: number | undefined;
  memoryOvercommit?: number | undefined;
}

export interface NewNode extends Omit<NodeRecord, 'createdAt' | 'updatedAt' | 'lastSeenAt' | 'status' | 'state' | 'memoryOvercommit'> {
  tls: NodeTls;
}

function toNode(r: NodeRow): NodeRecord {
  return {
    id: r.id, name: r.name, endpoint: r.endpoint, publicHost: r.public_host, state: r.state, status: r.status,
    capacity: { cpus: r.cpus, memoryMb: r.memory_mb, diskMb: r.disk_mb }, cpuOvercommit: r.cpu_overcommit, memoryOvercommit: r.memory_overcommit,
    maxEnvironments: r.max_environments, diskQuota: r.disk_quota === 1, allowUnenforcedDisk: r.allow_unenforced_disk === 1,
    dockerVersion: r.docker_version, storageDriver: r.storage_driver, lastSeenAt: r.last_seen_at,
    createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

/**
 * What environments hold, summed: a plan change in flight holds the larger of its old and new
 * CPU, memory and disk (held_*), so going back to the old plan always fits.
 */
export const HELD_SUMS = `COALESCE(SUM(MAX(cpus, COALESCE(held_cpus, cpus))), 0) AS cpus,
  COALESCE(SUM(MAX(memory_mb, COALESCE(held_memory_mb, memory_mb))), 0) AS memory_mb,
  COALESCE(SUM(MAX(disk_mb, COALESCE(held_disk_mb, disk_mb))), 0) AS disk_mb`;

export function nodesRepo(db: Db) {
  const q = {
    insert: db.prepare(`INSERT INTO nodes (id, name, endpoint, public_host, tls_ca, tls_cert, tls_key_enc, cpus, memory_mb,
      disk_mb, cpu_overcommit, max_environments, disk_quota, allow_unenforced_disk, docker_version, storage_driver,
      last_seen_at, created_at, updated_at)
      VALUES (@id, @name, @endpoint, @publicHost, @ca, @cert, @keySealed, @cpus, @memoryMb, @diskMb, @cpuOvercommit,
      @maxEnvironments, @diskQuota, @allowUnenforcedDisk, @dockerVersion, @storageDriver, @now, @now, @now)`),
    get: db.prepare('SELECT * FROM nodes WHERE id = ?'),
    byName: db.prepare('SELECT * FROM nodes WHERE name = ?'),
    all: db.prepare('SELECT * FROM nodes ORDER BY id'),
    names: db.prepare('SELECT name FROM nodes').pluck(),
    page: db.prepare('SELECT * FROM nodes WHERE id > ? ORDER BY id LIMIT ?'),
    allocations: db.prepare(`SELECT node_id, ${HELD_SUMS}, COUNT(*) AS environments FROM environments GROUP BY node_id`),
    allocation: db.prepare(`SELECT ${HELD_SUMS}, COUNT(*) AS environments FROM environments WHERE node_id = ?`),
    patch: db.prepare(`UPDATE nodes SET state = COALESCE(@state, state), max_environments = COALESCE(@maxEnvironments, max_environments),
      public_host = COALESCE(@publicHost, public_host), cpu_overcommit = COALESCE(@cpuOvercommit, cpu_overcommit),
      memory_overcommit = COALESCE(@memoryOvercommit, memory_overcommit), updated_at = @now WHERE id = @id`),
    seen: db.prepare('UPDATE nodes SET status = ?, last_seen_at = COALESCE(?, last_seen_at), updated_at = ? WHERE id = ?'),
    remove: db.prepare('DELETE FROM nodes WHERE id = ?'),
    tls: db.prepare('SELECT endpoint, name, tls_ca, tls_cert, tls_key_enc FROM nodes WHERE id = ?'),
    markImage: db.prepare('INSERT OR IGNORE INTO node_images (node_id, image_id, loaded_at) VALUES (?, ?, ?)'),
  };
  type AllocRow = { node_id: string; cpus: number; memory_mb: number; disk_mb: number; environments: number };
  const toAlloc = (r: Omit<AllocRow, 'node_id'> | undefined): Allocation => ({
    cpus: Math.round((r?.cpus ?? 0) * 1000) / 1000, memoryMb: r?.memory_mb ?? 0, diskMb: r?.disk_mb ?? 0, environments: r?.environments ?? 0,
  });

  let version = 0;
  return {
    /** Changes whenever a node's record changes (status, state, public host, ...). */
    version: () => version,
    insert(n: NewNode): NodeRecord {
      version++;
      unique(() => q.insert.run({
        id: n.id, name: n.name, endpoint: n.endpoint, publicHost: n.publicHost, ca: n.tls.ca, cert: n.tls.cert,
        keySealed: n.tls.keySealed, cpus: n.capacity.cpus, memoryMb: n.capacity.memoryMb, diskMb: n.capacity.diskMb,
        cpuOvercommit: n.cpuOvercommit, maxEnvironments: n.maxEnvironments, diskQuota: n.diskQuota ? 1 : 0,
        allowUnenforcedDisk: n.allowUnenforcedDisk ? 1 : 0, dockerVersion: n.dockerVersion, storageDriver: n.storageDriver,
        now: nowIso(),
      }), { 'nodes.name': () => `a node named ${n.name} exists` });
      return this.get(n.id)!;
    },
    get(id: string): NodeRecord | undefined {
      const r = q.get.get(id) as NodeRow | undefined;
      return r && toNode(r);
    },
    byName(name: string): NodeRecord | undefined {
      const r = q.byName.get(name) as NodeRow | undefined;
      return r && toNode(r);
    },
    /** Every node's name (to keep them out of what customers read). */
    names(): string[] {
      return q.names.all() as string[];
    },
    all(): NodeRecord[] {
      return (q.all.all() as NodeRow[]).map(toNode);
    },
    page(after: string, limit: number): NodeRecord[] {
      return (q.page.all(after, limit) as NodeRow[]).map(toNode);
    },
    allocations(): Map<string, Allocation> {
      return new Map((q.allocations.all() as AllocRow[]).map((r) => [r.node_id, toAlloc(r)]));
    },
    allocation(nodeId: string): Allocation {
      return toAlloc(q.allocation.get(nodeId) as AllocRow | undefined);
    },
    patch(id: string, p: NodePatch): void {
      version++;
      q.patch.run({ id, state: p.state ?? null, maxEnvironments: p.maxEnvironments ?? null, publicHost: p.publicHost ?? null,
        cpuOvercommit: p.cpuOvercommit ?? null, memoryOvercommit: p.memoryOvercommit ?? null, now: nowIso() });
    },
    markSeen(id: string, status: NodeStatus): void {
      const now = nowIso();
      if (this.get(id)?.status !== status) version++;
      q.seen.run(status, status === 'online' ? now : null, now, id);
    },
    remove(id: string): void {
      version++;
      q.remove.run(id);
    },
    connection(id: string): { name: string; endpoint: string; ca: string | null; cert: string | null; keySealed: string | null } | undefined {
      const r = q.tls.get(id) as { name: string; endpoint: string; tls_ca: string | null; tls_cert: string | null; tls_key_enc: string | null } | undefined;
      return r && { name: r.name, endpoint: r.endpoint, ca: r.tls_ca, cert: r.tls_cert, keySealed: r.tls_key_enc };
    },
    markImageLoaded(nodeId: string, imageId: string): void {
      q.markImage.run(nodeId, imageId, nowIso());
    },
  };
}
export type NodesRepo = ReturnType<typeof nodesRepo>;
