import { containerName } from '../../docker/container-spec.js';
import type { Environment } from '../../domain/types.js';
import { ConflictError, errorMessage } from '../../lib/errors.js';
import { onBehalfOf } from '../../lib/tenancy.js';
import type { Context } from '../../core/context.js';
import { publishEnvironment, setEnvironmentState } from '../../services/environment-state.js';
import type { ParamsOf, ResultOf } from '../../domain/operations.js';
import { removeEnvironmentContainers } from '../../services/node-resources.js';
import type { OperationHandler, Outcome, StepContext } from '../runner.js';
import { drainEdges, portsOnTarget, relocate, rollBack } from './relocate.js';

type MoveParams = ParamsOf<'migrate'>;

const MIB = 1048576;

/**
 * Moves an environment to another node while it runs (see relocate): only once the target
 * serves does the record switch and the source go. A failure before the switch removes the
 * target and starts the source again; a re-run after a panel restart starts over from the
 * source, or finishes a switch already made.
 */
export function moveHandler(ctx: Context): OperationHandler<'migrate'> {
  return {
    async run(op, step) {
      const p = op.params;
      const env = ctx.repos.environments.get(op.resource.id);
      if (!env) return { message: 'environment no longer exists', result: { targetNodeId: p.targetNodeId, copiedBytes: 0, downtimeMs: null } };
      if (env.nodeId === p.targetNodeId) {
        // The switch was recorded before the panel stopped: only the source is left to remove.
        await removeSource(ctx, env, p.sourceNodeId);
        setEnvironmentState(ctx, env.id, 'running');
        return { message: 'environment moved', result: { targetNodeId: p.targetNodeId, copiedBytes: 0, downtimeMs: null } };
      }
      if (!env.containerId) throw new ConflictError('the environment has no container to move');
      const sourceContainerId = env.containerId;
      try {
        // A move is the panel's own maintenance, not the customer's doing: its many file stats
        // (the final sync's among them, while the environment is down) use the panel's share
        // of the nodes' calls, not the customer's.
        return await onBehalfOf({ tenant: 'panel', patient: true }, () => move(ctx, env, sourceContainerId, p, step, op.id));
      } catch (err) {
        // Only a move that has not switched goes back; after the switch the target is the environment.
        if (ctx.repos.environments.get(env.id)?.nodeId === env.nodeId) {
          await rollBack(ctx, { env, sourceContainerId, targetNodeId: p.targetNodeId, containerName: containerName(env.id) });
          setEnvironmentState(ctx, env.id, env.desiredState === 'running' ? 'running' : 'stopped');
        }
        throw err;
      }
    },
    onFailure(op) {
      const env = ctx.repos.environments.get(op.resource.id);
      if (env?.state === 'migrating') setEnvironmentState(ctx, env.id, 'running');
    },
  };
}

async function move(ctx: Context, env: Environment, sourceContainerId: string, p: MoveParams, step: StepContext<'migrate'>,
  opId: string): Promise<Outcome<'migrate'>> {
  const target = ctx.repos.nodes.get(p.targetNodeId);
  if (!target) throw new ConflictError('the target node was removed');
  const ports = await portsOnTarget(ctx, env, target.id, opId);
  // A new attempt serves from the source until its own final stop.
  step.checkpoint({ ports, draining: false });
  // The edges learn where the environment is going, to hold requests across the switch.
  publishEnvironment(ctx, env.id);
  const moved = await relocate(ctx, { env, sourceContainerId, targetNodeId: target.id, containerName: containerName(env.id),
    limits: env.limits, ports, verb: 'moved', beforeStop: () => drainEdges(ctx, env.id, step) }, step);

  // The switch: from here on the environment lives on the target.
  ctx.repos.environments.moveToNode(env.id, target.id, moved.containerId, moved.image, ports);
  setEnvironmentState(ctx, env.id, moved.downtimeMs !== null ? 'running' : 'stopped');
  ctx.repos.history.add(env.id, 'started', { message: `moved from ${ctx.repos.nodes.get(p.sourceNodeId)?.name} to ${target.name}` });
  step.progress(95, 'removing the source container');
  try {
    await removeSource(ctx, env, p.sourceNodeId);
  } catch (err) {
    // The move is done; a source that cannot be reached now is cleaned up by reconcile when it answers.
    ctx.log.error({ environment: env.id, err: errorMessage(err) }, 'the source container could not be removed after the move');
  }
  const total = moved.copiedBytes / MIB;
  const result: ResultOf<'migrate'> = { targetNodeId: target.id, copiedBytes: moved.copiedBytes, downtimeMs: moved.downtimeMs };
  return { message: `moved to ${target.name}: ${total.toFixed(1)} MiB copied, ${moved.downtimeMs !== null ? `unavailable for ${moved.downtimeMs} ms` : 'moved stopped'}`, result };
}

async function removeSource(ctx: Context, env: Environment, sourceNodeId: string): Promise<void> {
  await removeEnvironmentContainers(ctx, { ...env, nodeId: sourceNodeId });
  publishEnvironment(ctx, env.id);
}
