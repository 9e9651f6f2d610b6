import type { OperationOf } from '../db/repos/operations.js';
import { chooseNode } from '../domain/placement.js';
import type { Limits } from '../domain/types.js';
import { BadRequestError, ConflictError, KuraError, NoCapacityError, NotFoundError } from '../lib/errors.js';
import type { Context } from '../core/context.js';
import { placementCandidates } from '../read-models/capacity.js';
import { startOperation } from './operations.js';

/**
 * Starts moving one environment to another node (the caller is an admin). With nodeId the target is
 * pinned (it may be in maintenance, not disabled); otherwise the panel places it like a
 * new environment, never on its current node. The environment keeps running on its
 * source until the target is verified.
 */
export function startMove(ctx: Context, environmentId: string,
  opts: { nodeId?: string | undefined; parentId?: string | undefined } = {}): OperationOf<'migrate'> {
  const env = ctx.repos.environments.get(environmentId);
  if (!env) throw new NotFoundError('environment', environmentId);
  if (env.state === 'provisioning' || env.state === 'deleting' || env.state === 'migrating') {
    throw new ConflictError(`the environment is ${env.state}; wait for its operation`);
  }
  if (ctx.repos.operations.openFor(env.id).length > 0) throw new ConflictError('the environment has an operation in flight; wait for it');
  if (opts.nodeId === env.nodeId) throw new BadRequestError('the environment is already on that node', { field: 'nodeId' });
  if (opts.nodeId !== undefined && !ctx.repos.nodes.get(opts.nodeId)) {
    throw new BadRequestError(`node ${opts.nodeId} does not exist`, { field: 'nodeId' });
  }
  const source = ctx.repos.nodes.get(env.nodeId)!;
  if (source.status === 'offline') {
    throw new KuraError('node_unavailable', `node ${source.name} is offline; an environment can only be moved from a node that answers`, { node: source.name });
  }
  if (!ctx.templates.get(env.templateId)) throw new ConflictError(`template ${env.templateId} is no longer installed on this panel`);

  const target = chooseTarget(ctx, env.nodeId, env.name, env.limits, opts.nodeId);
  return startOperation(ctx, { kind: 'migrate', resourceId: env.id, customerId: env.customerId,
    params: { sourceNodeId: env.nodeId, targetNodeId: target }, parentId: opts.parentId }, () => {
    // Checked again inside the transaction that records the operation: parallel moves cannot overfill the target.
    if (chooseTarget(ctx, env.nodeId, env.name, env.limits, target) !== target) throw new NoCapacityError(`node ${target} cannot take ${env.name}`);
    ctx.repos.environments.setState(env.id, 'migrating');
  });
}

function chooseTarget(ctx: Context, sourceNodeId: string, name: string, limits: Limits, pinned: string | undefined): string {
  const candidates = placementCandidates(ctx, { movesInFlight: true, except: sourceNodeId });
  const result = chooseNode(candidates, limits, pinned);
  if (!result.ok) {
    const why = result.excluded.map((e) => `${ctx.repos.nodes.get(e.nodeId)?.name ?? e.nodeId}: ${e.reason}`).join('; ');
    throw new NoCapacityError(`no other node can take ${name}${why ? ` (${why})` : ''}`);
  }
  return result.placement.nodeId;
}
