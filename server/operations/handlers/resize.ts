import type { Context } from '../../core/context.js';
import { publishEnvironment } from '../../services/environment-state.js';
import type { OperationHandler } from '../runner.js';

/**
 * Applies a new plan's CPU, memory and process limits to the running container. The
 * reservation was already moved to the new plan with the old plan's room still held; success
 * lets the held room go, a failure goes back to the old plan, which always fits because
 * nobody else could take its room meanwhile.
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
      ctx.repos.environments.releaseHold(env.id);
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
