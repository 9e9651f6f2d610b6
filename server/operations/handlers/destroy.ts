import type { Context } from '../../core/context.js';
import { publishEnvironment, setEnvironmentState } from '../../services/environment-state.js';
import { removeEnvironmentContainers } from '../../services/node-resources.js';
import type { OperationHandler } from '../runner.js';
import { expireEnvironmentBackups } from '../../services/backups.js';

/** Removes the container with its data, then the record; the reservation is freed last. */
export function destroyHandler(ctx: Context): OperationHandler<'destroy'> {
  return {
    async run(op, step) {
      const env = ctx.repos.environments.get(op.resource.id);
      if (!env) return 'environment already removed';
      const client = ctx.nodes.get(env.nodeId);
      step.progress(20, 'removing the container and its data');
      await removeEnvironmentContainers(ctx, env);
      publishEnvironment(ctx, env.id, true);
      ctx.repos.environments.remove(env.id);
      // Its backups stay for the grace period, restorable into a new environment by an admin.
      expireEnvironmentBackups(ctx, env.id);
      step.progress(90, 'cleaning up');
      if (ctx.repos.environments.byCustomer(env.customerId).every((e) => e.nodeId !== env.nodeId)) {
        await client.removeCustomerNetworkIfUnused(env.customerId).catch((err: Error) =>
          ctx.log.error({ node: env.nodeId, err: err.message }, 'customer network left on the node'));
        ctx.known.delete(`net:${env.nodeId}:${env.customerId}`);
      }
      return 'environment deleted';
    },
    onFailure(op) {
      if (ctx.repos.environments.get(op.resource.id)) setEnvironmentState(ctx, op.resource.id, 'error');
    },
  };
}
