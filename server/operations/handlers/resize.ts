import { containerName, nextContainerName } from '../../docker/container-spec.js';
import type { ParamsOf } from '../../domain/operations.js';
import type { Environment } from '../../domain/types.js';
import { ConflictError, errorMessage } from '../../lib/errors.js';
import { onBehalfOf } from '../../lib/tenancy.js';
import type { Context } from '../../core/context.js';
import { publishEnvironment, setEnvironmentState } from '../../services/environment-state.js';
import type { OperationHandler, Outcome, StepContext } from '../runner.js';
import { drainEdges, portsOnTarget, relocate, rollBack } from './relocate.js';

type Rebuild = NonNullable<ParamsOf<'resize'>['rebuild']>;

const MIB = 1048576;

/**
 * Puts an environment on a new plan. The reservation was already moved to the new plan with
 * the old plan's room still held. CPU, memory and processes change live. A new disk size
 * cannot be given to a container, so the environment is rebuilt: a new container with the
 * new size gets its data the way a move copies it, on its node or on the one the change
 * chose, and takes over after a short stop. Success lets the held room go; a failure before
 * the switch puts the old container back and goes back to the old plan, which always fits
 * because nobody else could take its room meanwhile.
 */
export function resizeHandler(ctx: Context): OperationHandler<'resize'> {
  return {
    async run(op, step) {
      const env = ctx.repos.environments.get(op.resource.id);
      if (!env) return { message: 'environment no longer exists', result: { nodeId: null, copiedBytes: 0, downtimeMs: null } };
      const rebuild = op.params.rebuild;
      if (!rebuild) {
        if (env.containerId) {
          step.progress(30, 'applying the new limits');
          await ctx.nodes.get(env.nodeId).update(env.containerId, env.limits);
        }
        ctx.repos.environments.releaseHold(env.id);
        publishEnvironment(ctx, env.id);
        return { message: `limits updated to plan ${env.planId}`, result: { nodeId: env.nodeId, copiedBytes: 0, downtimeMs: 0 } };
      }
      if (env.nodeId !== rebuild.sourceNodeId || env.containerId !== rebuild.sourceContainerId) {
        // The switch was recorded before the panel stopped: only the old container is left to remove.
        await finish(ctx, env, rebuild);
        return { message: `disk changed to ${env.limits.diskMb} MiB`, result: { nodeId: env.nodeId, copiedBytes: 0, downtimeMs: null } };
      }
      const name = await newContainerName(ctx, env, rebuild);
      try {
        // Like a move, the copy is the panel's own work and uses the panel's share of the node's calls.
        return await onBehalfOf({ tenant: 'panel', patient: true }, () => rebuildOn(ctx, env, rebuild, name, op.params.previous.limits.diskMb, step, op.id));
      } catch (err) {
        const now = ctx.repos.environments.get(env.id);
        if (now?.containerId === rebuild.sourceContainerId) {
          await rollBack(ctx, { env, sourceContainerId: rebuild.sourceContainerId, targetNodeId: rebuild.targetNodeId, containerName: name });
        }
        throw err;
      }
    },
    onFailure(op) {
      const { previous } = op.params;
      const env = ctx.repos.environments.get(op.resource.id);
      if (!env) return;
      // A rebuild that switched keeps its new plan; anything else goes back to the old one.
      const rebuild = op.params.rebuild;
      if (!rebuild || env.containerId === rebuild.sourceContainerId) {
        ctx.repos.environments.setPlan(op.resource.id, previous.planId, { ...env.limits, ...previous.limits });
      }
      if (env.state === 'migrating') setEnvironmentState(ctx, env.id, env.desiredState === 'running' ? 'running' : 'stopped');
      publishEnvironment(ctx, op.resource.id);
    },
  };
}

async function rebuildOn(ctx: Context, env: Environment, rebuild: Rebuild, name: string, oldDiskMb: number,
  step: StepContext<'resize'>, opId: string): Promise<Outcome<'resize'>> {
  const target = ctx.repos.nodes.get(rebuild.targetNodeId);
  if (!target) throw new ConflictError('the node chosen for the rebuild was removed');
  const sameNode = rebuild.targetNodeId === rebuild.sourceNodeId;
  const sourceName = ctx.repos.nodes.get(rebuild.sourceNodeId)?.name ?? rebuild.sourceNodeId;
  let ports = env.ports;
  step.checkpoint({ draining: false });
  if (!sameNode) {
    step.progress(2, `${sourceName} lacks room for the new disk beside the old one: the environment moves to ${target.name}`);
    ports = await portsOnTarget(ctx, env, target.id, opId);
    step.checkpoint({ ports });
    publishEnvironment(ctx, env.id);
  }
  const done = await relocate(ctx, { env, sourceContainerId: rebuild.sourceContainerId, targetNodeId: target.id, containerName: name,
    limits: env.limits, ports, verb: 'rebuilt with its new disk', beforeStop: () => drainEdges(ctx, env.id, step) }, step);

  // The switch: from here on the new container is the environment, on the new plan.
  ctx.repos.environments.moveToNode(env.id, target.id, done.containerId, done.image, ports);
  setEnvironmentState(ctx, env.id, done.downtimeMs !== null ? 'running' : 'stopped');
  const where = sameNode ? `on ${target.name}` : `moved from ${sourceName} to ${target.name}, which had room`;
  ctx.repos.history.add(env.id, 'started', { message: `rebuilt with a ${env.limits.diskMb} MiB disk (was ${oldDiskMb} MiB), ${where}` });
  step.progress(95, 'removing the old container');
  await finish(ctx, { ...env, nodeId: target.id, containerId: done.containerId }, rebuild);
  const copied = (done.copiedBytes / MIB).toFixed(1);
  const down = done.downtimeMs !== null ? `unavailable for ${done.downtimeMs} ms` : 'kept stopped';
  return {
    message: `disk changed from ${oldDiskMb} to ${env.limits.diskMb} MiB, ${where}: ${copied} MiB copied, ${down}`,
    result: { nodeId: target.id, copiedBytes: done.copiedBytes, downtimeMs: done.downtimeMs },
  };
}

/**
 * After the switch: the old container goes, and a new container made beside it on the same
 * node takes the environment's own name. Failures are logged, not raised: the change is
 * done, and reconcile removes a container left behind once its node answers.
 */
async function finish(ctx: Context, env: Environment, rebuild: Rebuild): Promise<void> {
  try {
    await ctx.nodes.get(rebuild.sourceNodeId).remove(rebuild.sourceContainerId);
    if (env.containerId && env.nodeId === rebuild.sourceNodeId) {
      const client = ctx.nodes.get(env.nodeId);
      const current = await client.inspect(env.containerId);
      if (current && current.name !== containerName(env.id)) await client.rename(env.containerId, containerName(env.id));
    }
  } catch (err) {
    ctx.log.error({ environment: env.id, err: errorMessage(err) }, 'the old container could not be removed after the disk change');
  }
  if (ctx.repos.environments.get(env.id)?.state === 'migrating') {
    setEnvironmentState(ctx, env.id, env.desiredState === 'running' ? 'running' : 'stopped');
  }
  publishEnvironment(ctx, env.id);
}

/**
 * The new container's name. On another node it is the environment's own; beside the old
 * container it is the other of the two names, since the old one may itself carry the second
 * name after an earlier change whose rename did not happen.
 */
async function newContainerName(ctx: Context, env: Environment, rebuild: Rebuild): Promise<string> {
  if (rebuild.targetNodeId !== rebuild.sourceNodeId) return containerName(env.id);
  const source = await ctx.nodes.get(rebuild.sourceNodeId).inspect(rebuild.sourceContainerId);
  if (!source) throw new ConflictError('the environment\'s container is missing from its node; its plan was not changed');
  return source.name === containerName(env.id) ? nextContainerName(env.id) : containerName(env.id);
}
