import type { EnvironmentState } from '../domain/types.js';
import type { Context } from '../core/context.js';
import { environmentView } from '../read-models/views.js';

/** Records an environment's state and tells listeners (SSE) about it. */
export function setEnvironmentState(ctx: Context, id: string, state: EnvironmentState): void {
  ctx.repos.environments.setState(id, state);
  const env = ctx.repos.environments.get(id);
  if (env) publishEnvironment(ctx, env.id);
}

export function publishEnvironment(ctx: Context, id: string, deleted = false): void {
  const env = ctx.repos.environments.get(id);
  if (!env) return;
  ctx.updates.publish({ type: 'environment', customerId: env.customerId, data: { ...environmentView(ctx, env), ...(deleted ? { deleted: true } : {}) } });
}
