import type { EnvironmentState } from '../domain/types.js';
import type { Context } from '../core/context.js';
import { edgeStatus } from './views.js';

const DAY_MS = 24 * 3600_000;
const ALERT_ROWS = 20;

export interface NodeOverview {
  id: string;
  name: string;
  status: 'online' | 'offline';
  state: 'active' | 'maintenance' | 'disabled';
  lastSeenAt: string | null;
  cpu: { used: number; total: number };
  memory: { used: number; total: number };
  disk: { used: number; total: number | null };
  environments: { total: number; max: number; byState: Partial<Record<EnvironmentState, number>> };
}

/**
 * The fleet at a glance: every node with its allocation against capacity and its
 * environments by state, plus what needs an operator: offline nodes, drift, OOMs,
 * failed operations of the last 24 hours, edges that do not run, and certificates that failed
 * or are about to end. A few grouped queries, no node is called.
 */
export function fleetOverview(ctx: Context, now = Date.now()) {
  const { repos } = ctx;
  const allocations = repos.nodes.allocations();
  const counts = new Map<string, Partial<Record<EnvironmentState, number>>>();
  for (const c of repos.fleetOverview.stateCounts()) {
    const m = counts.get(c.nodeId) ?? {};
    m[c.state] = c.count;
    counts.set(c.nodeId, m);
  }
  const nodes: NodeOverview[] = repos.nodes.all().map((n) => {
    const a = allocations.get(n.id) ?? { cpus: 0, memoryMb: 0, diskMb: 0, environments: 0 };
    return {
      id: n.id, name: n.name, status: n.status, state: n.state, lastSeenAt: n.lastSeenAt,
      cpu: { used: a.cpus, total: n.capacity.cpus },
      memory: { used: a.memoryMb, total: n.capacity.memoryMb },
      disk: { used: a.diskMb, total: n.capacity.diskMb },
      environments: { total: a.environments, max: n.maxEnvironments, byState: counts.get(n.id) ?? {} },
    };
  });
  const since = new Date(now - DAY_MS).toISOString();
  const names = new Map(nodes.map((n) => [n.id, n.name]));
  const withNode = <T extends { nodeId: string }>(rows: T[]) => rows.map((r) => ({ ...r, nodeName: names.get(r.nodeId) ?? r.nodeId }));
  const drift = repos.fleetOverview.drifted(ALERT_ROWS);
  const totals = { nodes: nodes.length, online: 0, environments: 0, running: 0 };
  for (const n of nodes) {
    if (n.status === 'online') totals.online++;
    totals.environments += n.environments.total;
    totals.running += n.environments.byState.running ?? 0;
  }
  return {
    nodes,
    totals,
    alerts: {
      offline: nodes.filter((n) => n.status === 'offline'),
      maintenance: nodes.filter((n) => n.state !== 'active'),
      drift: { total: drift.total, items: withNode(drift.items) },
      ooms: withNode(repos.fleetOverview.oomsSince(since, ALERT_ROWS)),
      failed: repos.fleetOverview.failedSince(since, ALERT_ROWS),
      edges: ctx.config.edge ? nodes.filter((n) => n.state !== 'disabled').map((n) => ({ id: n.id, name: n.name, edge: edgeStatus(ctx, n.id) }))
        .filter((n) => n.edge.status === 'error') : [],
      // Renewal starts a month before the end; two weeks left means it has not worked.
      certificates: repos.domains.certificateTrouble(new Date(now + 14 * DAY_MS).toISOString(), ALERT_ROWS)
        .map((d) => ({ id: d.id, name: d.name, environmentId: d.environmentId, status: d.certificate.status, notAfter: d.certificate.notAfter, error: d.certificate.error })),
    },
  };
}
export type FleetOverview = ReturnType<typeof fleetOverview>;
