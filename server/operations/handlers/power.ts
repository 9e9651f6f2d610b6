import { errorMessage, KuraError } from '../../lib/errors.js';
import type { Context } from '../../core/context.js';
import { setEnvironmentState } from '../../services/environment-state.js';
import type { OperationHandler } from '../runner.js';

/** start, stop and restart of an environment's container; each is idempotent. */
export function powerHandler(ctx: Context): OperationHandler<'power'> {
  return {
    async run(op, step) {
      const { action } = op.params;
      const env = ctx.repos.environments.get(op.resource.id);
      if (!env) throw new KuraError('not_found', 'environment no longer exists');
      if (!env.containerId) throw new KuraError('conflict', 'environment has no container yet; wait for provisioning');
      const client = ctx.nodes.get(env.nodeId);
      step.progress(10, `${action === 'stop' ? 'stopping' : action === 'start' ? 'starting' : 'restarting'}`);
      if (action === 'stop') {
        await client.stop(env.containerId);
        setEnvironmentState(ctx, env.id, 'stopped');
        return 'environment stopped';
      }
      if (action === 'start') await client.start(env.containerId);
      else await client.restart(env.containerId);
      setEnvironmentState(ctx, env.id, 'running');
      return action === 'start' ? 'environment started' : 'environment restarted';
    },
    onFailure(op) {
      // Whatever happened, the container's real state is unknown until a node read says otherwise.
      // Not awaited (onFailure is synchronous), so its own failure (the database too) is caught here.
      refreshState(ctx, op.resource.id).catch((err: unknown) =>
        ctx.log.error({ environment: op.resource.id, err: errorMessage(err) }, 'could not read the state after a failed action'));
    },
  };
}

/** Reads the container's actual state after a failed action, so the panel does not show a guess. */
export async function refreshState(ctx: Context, environmentId: string): Promise<void> {
  const env = ctx.repos.environments.get(environmentId);
  if (!env?.containerId) return;
  try {
    const c = await ctx.nodes.get(env.nodeId).inspect(env.containerId);
    setEnvironmentState(ctx, env.id, c === null ? 'error' : c.running ? 'running' : 'stopped');
  } catch {
    setEnvironmentState(ctx, env.id, 'unknown');
  }
}
