import type { Db } from '../connection.js';
import type { Drift, Environment, EnvironmentHealth, EnvironmentState, Limits, PortBinding } from '../../domain/types.js';
import { nowIso } from '../../lib/ids.js';
import { NoCapacityError } from '../../lib/errors.js';
import { hostnameLabel } from '../../domain/edge.js';

interface EnvRow {
  id: string; name: string; customer_id: string; node_id: string; template_id: string; template_version: string | null; plan_id: string;
  state: EnvironmentState; desired_state: 'running' | 'stopped'; cpus: number; memory_mb: number; swap_mb: number;
  disk_mb: number; pids: number; nofile: number; health: EnvironmentHealth | null; image_id: string | null; container_id: string | null; drift: string | null;
  hostname_label: string | null; created_at: string; updated_at: string;
}
interface PortRow { environment_id: string; name: string; protocol: 'tcp' | 'udp'; container_port: number; host_port: number }

export interface EnvironmentFilter {
  customerId?: string | undefined;
  nodeId?: string | undefined;
  state?: EnvironmentState | undefined;
  /** Part of the name (the admin console's search). */
  nameContains?: string | undefined;
}

export const PORT_RANGE = { first: 20000, last: 32767 };

export function environmentsRepo(db: Db) {
  const q = {
    insert: db.prepare(`INSERT INTO environments (id, name, customer_id, node_id, template_id, plan_id, state, desired_state,
      cpus, memory_mb, swap_mb, disk_mb, pids, nofile, hostname_label, created_at, updated_at)
      VALUES (@id, @name, @customerId, @nodeId, @templateId, @planId, 'provisioning', 'running', @cpus, @memoryMb, @swapMb,
      @diskMb, @pids, @nofile, @hostnameLabel, @now, @now)`),
    labelIssued: db.prepare('SELECT 1 FROM issued_hostnames WHERE label = ?'),
    issueLabel: db.prepare('INSERT INTO issued_hostnames (label, environment_id, issued_at) VALUES (?, ?, ?)'),
    insertPort: db.prepare(`INSERT INTO environment_ports (environment_id, node_id, name, protocol, container_port, host_port)
      VALUES (?, ?, ?, ?, ?, ?)`),
    usedPorts: db.prepare('SELECT host_port FROM environment_ports WHERE node_id = ? AND protocol = ? ORDER BY host_port'),
    get: db.prepare('SELECT * FROM environments WHERE id = ?'),
    byName: db.prepare('SELECT id FROM environments WHERE customer_id = ? AND name = ?'),
    ports: db.prepare('SELECT * FROM environment_ports WHERE environment_id = ? ORDER BY name'),
    portsOf: db.prepare(`SELECT p.* FROM environment_ports p WHERE p.environment_id IN (SELECT value FROM json_each(?)) ORDER BY p.name`),
    page: db.prepare(`SELECT * FROM environments WHERE id > @after AND (@customerId IS NULL OR customer_id = @customerId)
      AND (@nodeId IS NULL OR node_id = @nodeId) AND (@state IS NULL OR state = @state)
      AND (@name IS NULL OR name LIKE @name ESCAPE '\\') ORDER BY id LIMIT @limit`),
    byNode: db.prepare('SELECT * FROM environments WHERE node_id = ? ORDER BY id'),
    byCustomer: db.prepare('SELECT * FROM environments WHERE customer_id = ? ORDER BY id'),
    setState: db.prepare('UPDATE environments SET state = ?, updated_at = ? WHERE id = ?'),
    setDesired: db.prepare('UPDATE environments SET desired_state = ?, updated_at = ? WHERE id = ?'),
    setContainer: db.prepare('UPDATE environments SET container_id = ?, image_id = ?, updated_at = ? WHERE id = ?'),
    // The new container carries the plan the environment is on: a plan change's hold ends with the switch.
    moveNode: db.prepare(`UPDATE environments SET node_id = ?, container_id = ?, image_id = ?, held_cpus = NULL, held_memory_mb = NULL,
      held_disk_mb = NULL, updated_at = ? WHERE id = ?`),
    movePortNode: db.prepare('UPDATE environment_ports SET node_id = ?, host_port = ? WHERE environment_id = ? AND name = ?'),
    setPlan: db.prepare(`UPDATE environments SET plan_id = @planId, cpus = @cpus, memory_mb = @memoryMb, swap_mb = @swapMb,
      disk_mb = @diskMb, pids = @pids, nofile = @nofile, held_cpus = @heldCpus, held_memory_mb = @heldMemoryMb, held_disk_mb = @heldDiskMb, updated_at = @now WHERE id = @id`),
    releaseHold: db.prepare('UPDATE environments SET held_cpus = NULL, held_memory_mb = NULL, held_disk_mb = NULL, updated_at = ? WHERE id = ?'),
    setHealth: db.prepare('UPDATE environments SET health = ?, updated_at = ? WHERE id = ?'),
    remove: db.prepare('DELETE FROM environments WHERE id = ?'),
    movePort: db.prepare('UPDATE environment_ports SET host_port = ? WHERE environment_id = ? AND name = ?'),
    count: db.prepare('SELECT COUNT(*) AS n FROM environments WHERE node_id = ?'),
    setDrift: db.prepare('UPDATE environments SET drift = ?, updated_at = ? WHERE id = ?'),
    setTemplateVersion: db.prepare('UPDATE environments SET template_version = ? WHERE id = ?'),
    countWithTemplate: db.prepare('SELECT COUNT(*) FROM environments WHERE template_id = ?').pluck(),
    markUnknown: db.prepare(`UPDATE environments SET state = 'unknown', updated_at = ? WHERE node_id = ?
      AND state IN ('running', 'stopped', 'error')`),
  };

  const toEnv = (r: EnvRow, ports: PortBinding[]): Environment => ({
    id: r.id, name: r.name, customerId: r.customer_id, nodeId: r.node_id, templateId: r.template_id, templateVersion: r.template_version, planId: r.plan_id,
    state: r.state, desiredState: r.desired_state,
    limits: { cpus: r.cpus, memoryMb: r.memory_mb, swapMb: r.swap_mb, diskMb: r.disk_mb, pids: r.pids, nofile: r.nofile },
    health: r.health, hostnameLabel: r.hostname_label,
    imageId: r.image_id, containerId: r.container_id, ports, drift: r.drift ? JSON.parse(r.drift) as Drift : null,
    createdAt: r.created_at, updatedAt: r.updated_at,
  });
  const toPort = (p: PortRow): PortBinding => ({ name: p.name, protocol: p.protocol, containerPort: p.container_port, hostPort: p.host_port });

  function withPorts(rows: EnvRow[]): Environment[] {
    if (rows.length === 0) return [];
    const byEnv = new Map<string, PortBinding[]>();
    for (const p of q.portsOf.all(JSON.stringify(rows.map((r) => r.id))) as PortRow[]) {
      const list = byEnv.get(p.environment_id) ?? [];
      list.push(toPort(p));
      byEnv.set(p.environment_id, list);
    }
    return rows.map((r) => toEnv(r, byEnv.get(r.id) ?? []));
  }

  // Bumped by every write, so readers can cache what they render until something changes.
  let version = 0;
  const changed = () => void version++;

  return {
    /** A number that changes whenever any environment (or its ports) changes. */
    version: () => version,
    /** Call inside the reservation transaction: records the environment and allocates its host ports. */
    insert(e: { id: string; name: string; customerId: string; nodeId: string; templateId: string; planId: string; limits: Limits },
      ports: { name: string; protocol: 'tcp' | 'udp'; containerPort: number }[]): void {
      changed();
      // The default hostname's label: issued once, never to anyone else (see migration 0012).
      let attempt = 0;
      while (q.labelIssued.get(hostnameLabel(e.name, e.id, attempt))) attempt++;
      const label = hostnameLabel(e.name, e.id, attempt);
      const now = nowIso();
      q.issueLabel.run(label, e.id, now);
      q.insert.run({ id: e.id, name: e.name, customerId: e.customerId, nodeId: e.nodeId, templateId: e.templateId,
        planId: e.planId, ...e.limits, hostnameLabel: label, now });
      for (const p of ports) {
        q.insertPort.run(e.id, e.nodeId, p.name, p.protocol, p.containerPort, freePort(e.nodeId, p.protocol));
      }
    },
    get(id: string): Environment | undefined {
      const r = q.get.get(id) as EnvRow | undefined;
      return r && toEnv(r, (q.ports.all(id) as PortRow[]).map(toPort));
    },
    nameTaken(customerId: string, name: string): boolean {
      return q.byName.get(customerId, name) !== undefined;
    },
    page(after: string, limit: number, f: EnvironmentFilter): Environment[] {
      const name = f.nameContains ? `%${f.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
      return withPorts(q.page.all({ after, limit, customerId: f.customerId ?? null, nodeId: f.nodeId ?? null, state: f.state ?? null, name }) as EnvRow[]);
    },
    byNode(nodeId: string): Environment[] {
      return withPorts(q.byNode.all(nodeId) as EnvRow[]);
    },
    byCustomer(customerId: string): Environment[] {
      return withPorts(q.byCustomer.all(customerId) as EnvRow[]);
    },
    countOnNode(nodeId: string): number {
      return (q.count.get(nodeId) as { n: number }).n;
    },
    setState(id: string, state: EnvironmentState): void {
      changed();
      q.setState.run(state, nowIso(), id);
    },
    setDrift(id: string, drift: Drift | null): void {
      changed();
      q.setDrift.run(drift === null ? null : JSON.stringify(drift), nowIso(), id);
    },
    /** Environments on an unreachable node: their state is not known, so none is claimed. */
    markUnknownOnNode(nodeId: string): number {
      changed();
      return q.markUnknown.run(nowIso(), nodeId).changes;
    },
    setDesired(id: string, desired: 'running' | 'stopped'): void {
      changed();
      q.setDesired.run(desired, nowIso(), id);
    },
    countWithTemplate(templateId: string): number {
      return q.countWithTemplate.get(templateId) as number;
    },
    /** The version of the template its container was just made from. */
    setTemplateVersion(id: string, version: string): void {
      changed();
      q.setTemplateVersion.run(version, id);
    },
    setContainer(id: string, containerId: string | null, imageId: string | null): void {
      changed();
      q.setContainer.run(containerId, imageId, nowIso(), id);
    },
    setHealth(id: string, health: EnvironmentHealth | null): void {
      changed();
      q.setHealth.run(health, nowIso(), id);
    },
    /**
     * Puts the environment on a plan. `hold` (a plan change in flight) keeps the old plan's CPU,
     * memory and disk counted too, until releaseHold, so the change can always be undone.
     */
    setPlan(id: string, planId: string, limits: Limits, hold: Limits | null = null): void {
      changed();
      q.setPlan.run({ id, planId, ...limits, heldCpus: hold?.cpus ?? null, heldMemoryMb: hold?.memoryMb ?? null,
        heldDiskMb: hold?.diskMb ?? null, now: nowIso() });
    },
    releaseHold(id: string): void {
      changed();
      q.releaseHold.run(nowIso(), id);
    },
    remove(id: string): void {
      changed();
      q.remove.run(id);
    },
    /** Gives a port a new host port above `after`, when something outside the panel holds the old one. */
    /**
     * Free host ports on another node for an environment's ports, as a move needs
     * them before it moves; `reserved` ("tcp:20001") are held by other moves in flight.
     */
    portsOn(nodeId: string, ports: readonly PortBinding[], reserved: ReadonlySet<string> = new Set()): PortBinding[] {
      const next = new Map<string, number>();
      return ports.map((p) => {
        let hostPort = freePort(nodeId, p.protocol, next.get(p.protocol));
        // Ports held by other moves into the same node are skipped too.
        while (reserved.has(`${p.protocol}:${hostPort}`)) hostPort = freePort(nodeId, p.protocol, hostPort + 1);
        next.set(p.protocol, hostPort + 1);
        return { ...p, hostPort };
      });
    },
    /**
     * Puts an environment on its new container, on another node or its own, with its ports, in
     * one transaction; a plan change's hold ends with it.
     */
    moveToNode(id: string, nodeId: string, containerId: string, imageId: string, ports: readonly PortBinding[]): void {
      db.transaction(() => {
        changed();
        q.moveNode.run(nodeId, containerId, imageId, nowIso(), id);
        for (const p of ports) q.movePortNode.run(nodeId, p.hostPort, id, p.name);
      })();
    },
    movePort(id: string, name: string, nodeId: string, protocol: string, after: number): number {
      changed();
      const port = freePort(nodeId, protocol, after + 1);
      q.movePort.run(port, id, name);
      return port;
    },
  };

  function freePort(nodeId: string, protocol: string, from = PORT_RANGE.first): number {
    let candidate = from;
    for (const { host_port } of q.usedPorts.all(nodeId, protocol) as { host_port: number }[]) {
      if (host_port > candidate) break;
      if (host_port < candidate) continue;
      if (host_port === candidate) candidate++;
    }
    if (candidate > PORT_RANGE.last) throw new NoCapacityError(`no free ${protocol} host port left on node ${nodeId} (${PORT_RANGE.first}-${PORT_RANGE.last} are taken)`);
    return candidate;
  }
}
export type EnvironmentsRepo = ReturnType<typeof environmentsRepo>;
