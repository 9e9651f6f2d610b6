import { LABEL } from '../docker/container-spec.js';
import { describeDifferences, limitDifferences } from '../domain/drift.js';
import type { Drift } from '../domain/types.js';
import { errorMessage } from '../lib/errors.js';
import { nowIso } from '../lib/ids.js';
import type { Context } from '../core/context.js';
import { publishEnvironment, setEnvironmentState } from '../services/environment-state.js';

export interface ReconcileReport {
  node: string;
  removed: string[];
  adopted: string[];
  drifted: string[];
  error?: string;
}

/**
 * Makes a node's containers agree with the panel's records. A container of this panel
 * that no environment claims is removed; one an environment lost track of is adopted;
 * each environment's state is read from its container and its limits are compared
 * with its plan (a shallow pass reads states from the listing alone and skips the
 * per-container inspection). Containers without this panel's label are never touched, and
 * environments with an operation in flight are left to that operation.
 */
export async function reconcileNode(ctx: Context, nodeId: string, opts: { deep?: boolean } = {}): Promise<ReconcileReport> {
  const deep = opts.deep ?? true;
  const node = ctx.repos.nodes.get(nodeId);
  const report: ReconcileReport = { node: node?.name ?? nodeId, removed: [], adopted: [], drifted: [] };
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
      if (deep) {
        if (await reconcileEnvironment(ctx, env.id)) report.drifted.push(env.id);
      } else {
        // A shallow pass trusts the listing for state; limits are checked by deep passes and on 'update' events.
        const state = c.State === 'running' ? 'running' : 'stopped';
        if (env.state !== state && env.state !== 'deleting' && env.state !== 'provisioning' && env.state !== 'migrating') {
          setEnvironmentState(ctx, env.id, state);
        }
      }
    }
    for (const env of ctx.repos.environments.byNode(nodeId)) {
      if (seen.has(env.id) || env.containerId === null || ctx.repos.operations.openFor(env.id).length > 0) continue;
      if (env.drift?.differences.some((d) => d.field === 'container')) continue;
      ctx.repos.history.add(env.id, 'removed', { message: 'the container is missing from the node' });
      ctx.repos.environments.setDrift(env.id, { detectedAt: nowIso(), differences: [{ field: 'container', expected: 'present', actual: 'missing' }] });
      setEnvironmentState(ctx, env.id, 'error');
      report.drifted.push(env.id);
    }
  } catch (err) {
    report.error = errorMessage(err);
  }
  return report;
}

/**
 * Reads one environment's container and compares it with what the panel wants: live
 * limits that were changed out of band are put back (and the drift kept in history);
 * a container stopped out of band is flagged. Returns whether anything had drifted.
 */
export async function reconcileEnvironment(ctx: Context, id: string): Promise<boolean> {
  const env = ctx.repos.environments.get(id);
  if (!env?.containerId || ctx.repos.operations.openFor(id).length > 0) return false;
  if (env.state === 'deleting' || env.state === 'provisioning' || env.state === 'migrating') return false;
  const client = ctx.nodes.get(env.nodeId);
  const actual = await client.inspect(env.containerId);
  if (!actual) return false; // a missing container is found by the node-wide pass
  const differences: Drift['differences'] = limitDifferences(env.limits, actual.hostConfig);
  if (differences.length > 0) {
    ctx.repos.history.add(env.id, 'drift', { message: `limits changed outside the panel: ${describeDifferences(differences)}` });
    try {
      await client.update(env.containerId, env.limits);
      ctx.repos.history.add(env.id, 'restored', { message: 'limits restored to the plan' });
    } catch (err) {
      ctx.repos.environments.setDrift(env.id, { detectedAt: nowIso(), differences });
      ctx.log.error({ environment: env.id, err: errorMessage(err) }, 'could not restore drifted limits');
    }
  }
  if (actual.health !== env.health) ctx.repos.environments.setHealth(env.id, actual.health);
  const state = actual.running ? 'running' : 'stopped';
  const stoppedOutOfBand = !actual.running && env.desiredState === 'running';
  const drift: Drift | null = stoppedOutOfBand
    ? { detectedAt: env.drift?.detectedAt ?? nowIso(), differences: [{ field: 'state', expected: 'running', actual: 'stopped' }] }
    : null;
  const driftChanged = JSON.stringify(drift?.differences ?? null) !== JSON.stringify(env.drift?.differences ?? null);
  if (driftChanged && differences.length === 0) ctx.repos.environments.setDrift(env.id, drift);
  if (env.state !== state) setEnvironmentState(ctx, env.id, state);
  else if (driftChanged || differences.length > 0 || actual.health !== env.health) publishEnvironment(ctx, env.id);
  return differences.length > 0 || stoppedOutOfBand;
}

export async function reconcileAll(ctx: Context): Promise<ReconcileReport[]> {
  const reports = await Promise.all(ctx.repos.nodes.all().filter((n) => n.state !== 'disabled').map((n) => reconcileNode(ctx, n.id)));
  for (const r of reports) {
    if (r.error) ctx.log.error({ node: r.node, err: r.error }, 'reconcile could not reach node');
    else if (r.removed.length + r.adopted.length + r.drifted.length > 0) ctx.log.info(r, 'reconciled node');
  }
  return reports;
}
