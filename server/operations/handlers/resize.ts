import type { Context } from '../../core/context.js';
import { publishEnvironment } from '../../services/environment-state.js';
import type { OperationHandler } from '../runner.js';

/**
 * Applies a new plan's CPU, memory and process limits to the running container. The
 * reservation was already moved to the new plan; a failure moves it back.
 */
export function resizeHandler(ctx: Context): OperationHandler<'resize'> {
  return {
    async run(op, step) {
      const env = ctx.repos.environments.get(op.resource.id);
      if (!env) return 'environment no longer exists';
      if (env.containerId) {
        step.progress(30, 'applying the new limits');
        await ctx.nodes.get(env.nodeId).update(env.containerId, env.limits);
      }
      publishEnvironment(ctx, env.id);
      return `limits updated to plan ${env.planId}`;
    },
    onFailure(op) {
      const { previous } = op.params;
      const env = ctx.repos.environments.get(op.resource.id);
      if (env) {
        ctx.repos.environments.setPlan(op.resource.id, previous.planId, { ...env.limits, ...previous.limits });
        publishEnvironment(ctx, op.resource.id);
      }
    },
  };
}
