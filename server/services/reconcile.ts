import { LABEL } from '../docker/container-spec.js';
import { errorMessage } from '../lib/errors.js';
import type { Context } from './context.js';
import { setEnvironmentState } from './environment-state.js';

export interface ReconcileReport {
  node: string;
  removed: string[];
  adopted: string[];
  error?: string;
}

/**
 * Makes a node's containers agree with the panel's records: a container of this panel
 * that no environment claims is removed, one an environment lost track of is adopted,
 * and each environment's state is read from its container. Containers without this
 * panel's label are never touched. Environments with an operation in flight are left
 * to that operation.
 */
export async function reconcileNode(ctx: Context, nodeId: string): Promise<ReconcileReport> {
  const node = ctx.repos.nodes.get(nodeId);
  const report: ReconcileReport = { node: node?.name ?? nodeId, removed: [], adopted: [] };
  if (!node) return report;
  const client = ctx.nodes.get(nodeId);
  try {
    const containers = await client.listByLabel(LABEL.panel, ctx.panelId);
    const seen = new Set<string>();
    for (const c of containers) {
      const envId = c.Labels[LABEL.environment] ?? '';
      if (ctx.repos.operations.openFor(envId).length > 0) {
        seen.add(envId);
        continue;
      }
      const env = ctx.repos.environments.get(envId);
      if (!env || env.nodeId !== nodeId || (env.containerId !== null && env.containerId !== c.Id)) {
        await client.remove(c.Id);
        report.removed.push(c.Id.slice(0, 12));
        continue;
      }
      seen.add(envId);
      if (env.containerId === null) {
        ctx.repos.environments.setContainer(env.id, c.Id, env.imageId);
        report.adopted.push(env.id);
      }
      const actual = c.State === 'running' ? 'running' : 'stopped';
      if (env.state !== actual && env.state !== 'deleting') setEnvironmentState(ctx, env.id, actual);
    }
    for (const env of ctx.repos.environments.byNode(nodeId)) {
      if (!seen.has(env.id) && env.containerId !== null && ctx.repos.operations.openFor(env.id).length === 0 && env.state !== 'error') {
        setEnvironmentState(ctx, env.id, 'error');
      }
    }
  } catch (err) {
    report.error = errorMessage(err);
  }
  return report;
}

export async function reconcileAll(ctx: Context): Promise<ReconcileReport[]> {
  const reports = await Promise.all(ctx.repos.nodes.all().filter((n) => n.state !== 'disabled').map((n) => reconcileNode(ctx, n.id)));
  for (const r of reports) {
    if (r.error) ctx.log.error({ node: r.node, err: r.error }, 'reconcile could not reach node');
    else if (r.removed.length + r.adopted.length > 0) ctx.log.info(r, 'reconciled node');
  }
  return reports;
}
